"""The generalist motion policy: per-embodiment adapters around a shared trunk.

GR00T's layout at CPU scale. Each embodiment (a row in the model's embodiment
table, chosen by the `embodiment` input) owns its input normalisation, state
encoder, action decoder, output scale and a low-rank correction of every trunk
layer; the trunk between encoder and decoder is shared by every body::

    features(state, goal, chain[e]) -> normalise[e] -> encoder[e] -> trunk (+ lora[e]) -> decoder[e]
                          -> delta [B, H, MAX_DOF] * delta_std[e]
    actions = clamp(positions + delta, action_lo[e], action_hi[e]) * mask

Every per-body tensor is stacked along a leading embodiment axis ([E, ...]) and
every computation that uses one is written for "groups" of rows sharing a body:
`_core(x [G, M, F], body params [G, ...])`. The features include the end
effector's position, computed inside the model from the joint state by the body's
kinematic chain (a per-body buffer), and the goal's points relative to it: the
error a reach closes, so the policy corrects its own mistakes in closed loop instead
of converging wherever its implicit model of the arm says. Three callers pick the groups:

- `forward` (served, exported to ONNX): each row is its own group, the row's
  body tensors gathered by its `embodiment` index. No Python control flow, one
  batch may mix bodies, and a row's arithmetic never depends on how many bodies
  the table holds or on the other rows: adding a body to the table leaves the
  outputs of every other body bit-for-bit unchanged (tests check the ONNX).
- `normalised_delta_grouped` (training): K bodies x M rows each per batch, one
  batched matmul per layer.
- adaptation: one group, the new body's tensors as separate leaf parameters, so
  nothing else can receive a gradient (see adapt.py).

The LoRA rows start at zero and base training leaves them there; they are the
"fine-tune" capacity of an onboarded body (adapt(..., fine_tune=True)). Padded
joints (mask 0) get action 0, whatever the network says.
"""

from __future__ import annotations

import torch
from torch import nn

from robosoul.v1 import session_pb2
from robosoul_core import policy_io as io
from robosoul_core.policy_io import (
    GOAL_DIM,
    GOAL_JOINTS,
    GOAL_PLACE,
    GOAL_SKILL,
    GOAL_TARGET,
    HORIZON,
    KIN_DIM,
    MAX_DOF,
    SKILL_SLOTS,
    STATE_DIM,
)

OUT_DIM = HORIZON * MAX_DOF
UNBOUNDED = 1e4  # a command bound that never binds (finite: ONNX Min/Max stay ordinary numbers)
# Per-body buffers (not trained): statistics from the demonstrations, and the body's
# kinematic chain for its end-effector features.
STATISTICS = ("feature_mean", "feature_std", "delta_std", "action_lo", "action_hi", "kinematics")
_POSE_SLOT = SKILL_SLOTS[session_pb2.SKILL_MOVE_TO_POSE]
# q, sin q, cos q, qdot, mask | target xyz, radius, direction | place xyz, radius, direction
# | joint targets, (joint targets - q) for MOVE_TO_POSE | skill one-hot
# | end effector xyz, target - end effector, its length, place - end effector (0 without a chain)
FEATURE_DIM = 5 * MAX_DOF + 6 + 6 + 2 * MAX_DOF + (GOAL_SKILL.stop - GOAL_SKILL.start) + 10
assert GOAL_SKILL.stop == GOAL_DIM


def _polar(xyz: torch.Tensor) -> torch.Tensor:
    """xyz, horizontal distance from the base's axis, and the horizontal direction (cos, sin)."""
    radius = torch.sqrt(xyz[:, 0:1] ** 2 + xyz[:, 1:2] ** 2 + 1e-6)
    return torch.cat([xyz, radius, xyz[:, 0:2] / radius], dim=1)


def _cross(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    ax, ay, az = a[:, 0:1], a[:, 1:2], a[:, 2:3]
    bx, by, bz = b[:, 0:1], b[:, 1:2], b[:, 2:3]
    return torch.cat([ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx], dim=1)


def end_effector(q: torch.Tensor, kin: torch.Tensor) -> torch.Tensor:
    """[B, 3] end-effector positions for joint positions q [B, MAX_DOF] and chains kin [B, KIN_DIM].

    Product of exponentials (policy_io.forward_kinematics is the numpy reference): the
    end effector's reference position moved by each joint's screw, tip joint first.
    Unused chain rows have a zero axis and angle, so they leave the point where it is.
    """
    b = q.shape[0]
    axes = kin[:, io.KIN_AXIS].reshape(b, MAX_DOF, 3)
    points = kin[:, io.KIN_POINT].reshape(b, MAX_DOF, 3)
    slide = kin[:, io.KIN_SLIDE]
    theta = (torch.gather(q, 1, kin[:, io.KIN_COLUMN].long()) - kin[:, io.KIN_Q0]) * kin[:, io.KIN_USED]
    p = kin[:, io.KIN_EE]
    for k in reversed(range(MAX_DOF)):
        w, o, t, s = axes[:, k], points[:, k], theta[:, k : k + 1], slide[:, k : k + 1]
        v = p - o
        c, sn = torch.cos(t), torch.sin(t)
        turned = o + v * c + _cross(w, v) * sn + w * (w * v).sum(dim=1, keepdim=True) * (1 - c)
        p = s * (p + w * t) + (1 - s) * turned
    return p


def features(state: torch.Tensor, goal: torch.Tensor, kin: torch.Tensor) -> torch.Tensor:
    """[B, FEATURE_DIM] features from contract inputs and each row's chain kin [B, KIN_DIM] (no learned parameters)."""
    q = state[:, :MAX_DOF]
    qdot = state[:, MAX_DOF : 2 * MAX_DOF]
    mask = state[:, 2 * MAX_DOF : STATE_DIM]
    joints = goal[:, GOAL_JOINTS] * mask
    to_pose = (joints - q * mask) * goal[:, _POSE_SLOT : _POSE_SLOT + 1]
    return torch.cat(
        [
            q,
            torch.sin(q) * mask,
            torch.cos(q) * mask,
            qdot,
            mask,
            _polar(goal[:, GOAL_TARGET]),
            _polar(goal[:, GOAL_PLACE]),
            joints,
            to_pose,
            goal[:, GOAL_SKILL],
            *_task_space(q, goal, kin),
        ],
        dim=1,
    )


def _task_space(q: torch.Tensor, goal: torch.Tensor, kin: torch.Tensor) -> list[torch.Tensor]:
    """Where the end effector is, and where the goal's points are from it (the error a reach closes)."""
    known = kin[:, io.KIN_KNOWN : io.KIN_KNOWN + 1]
    ee = end_effector(q, kin) * known
    to_target = (goal[:, GOAL_TARGET] - ee) * known
    distance = torch.sqrt((to_target**2).sum(dim=1, keepdim=True) + 1e-9) * known
    return [ee, to_target, distance, (goal[:, GOAL_PLACE] - ee) * known]


class ResidualBlock(nn.Module):
    """The trunk's pre-norm MLP block; `_core` applies it with the body's LoRA."""

    def __init__(self, width: int):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.fc1 = nn.Linear(width, 2 * width)
        self.fc2 = nn.Linear(2 * width, width)


class GeneralistPolicy(nn.Module):
    """forward(state [B,24], goal [B,24], embodiment int64 [B,1]) -> actions [B,16,8] (absolute).

    `adapter_hidden` > 0 makes encoder and decoder two-layer MLPs with that hidden
    width (bigger adapters); 0 makes them single linear layers. `lora_rank` is the
    rank of each body's correction of every trunk layer (0: none).
    """

    def __init__(self, embodiments: int = 1, width: int = 256, depth: int = 2, adapter_hidden: int = 0, lora_rank: int = 8):
        super().__init__()
        if embodiments < 1:
            raise ValueError("the policy needs at least one embodiment")
        if width < 1 or depth < 1 or adapter_hidden < 0 or lora_rank < 0:
            raise ValueError("width and depth must be >= 1, adapter_hidden and lora_rank >= 0")
        self.embodiments, self.width, self.depth = embodiments, width, depth
        self.adapter_hidden, self.lora_rank = adapter_hidden, lora_rank
        self.blocks = nn.ModuleList(ResidualBlock(width) for _ in range(depth))
        self.final_norm = nn.LayerNorm(width)
        self.act = nn.SiLU()
        self.body = nn.ParameterDict({k: nn.Parameter(v) for k, v in self._fresh_body_params(embodiments).items()})
        # Per-body statistics, set from the demonstrations (`set_statistics`).
        self.register_buffer("feature_mean", torch.zeros(embodiments, FEATURE_DIM))
        self.register_buffer("feature_std", torch.ones(embodiments, FEATURE_DIM))
        self.register_buffer("delta_std", torch.ones(embodiments, OUT_DIM))
        # Per-body command bounds: the range of every joint target in the demonstrations
        # (the expert never commands outside the joint limits, so neither does the policy).
        self.register_buffer("action_lo", torch.full((embodiments, MAX_DOF), -UNBOUNDED))
        self.register_buffer("action_hi", torch.full((embodiments, MAX_DOF), UNBOUNDED))
        # Per-body kinematic chain (policy_io.pack_kinematics; zeros: no end-effector features).
        self.register_buffer("kinematics", torch.zeros(embodiments, KIN_DIM))

    # -- structure -------------------------------------------------------------------

    def config(self) -> dict:
        return {
            "embodiments": self.embodiments,
            "width": self.width,
            "depth": self.depth,
            "adapter_hidden": self.adapter_hidden,
            "lora_rank": self.lora_rank,
        }

    def _layer_dims(self, prefix: str) -> list[tuple[int, int]]:
        if prefix == "enc":
            ends = (FEATURE_DIM, self.width)
        else:
            ends = (self.width, OUT_DIM)
        if self.adapter_hidden:
            return [(ends[0], self.adapter_hidden), (self.adapter_hidden, ends[1])]
        return [ends]

    def _fresh_body_params(self, count: int) -> dict[str, torch.Tensor]:
        """Initial per-body tensors for `count` bodies (uses torch's global RNG)."""
        out: dict[str, torch.Tensor] = {}
        for prefix in ("enc", "dec"):
            dims = self._layer_dims(prefix)
            for i, (n_in, n_out) in enumerate(dims):
                bound = n_in**-0.5
                w = torch.empty(count, n_in, n_out).uniform_(-bound, bound)
                if prefix == "dec" and i == len(dims) - 1:
                    w.zero_()  # start from "stay where you are"
                out[f"{prefix}{i}_w"] = w
                out[f"{prefix}{i}_b"] = torch.zeros(count, n_out)
        for i in range(self.depth if self.lora_rank else 0):
            out[f"lora{i}_a"] = torch.randn(count, self.width, self.lora_rank) * self.width**-0.5
            out[f"lora{i}_b"] = torch.zeros(count, self.lora_rank, 2 * self.width)
        return out

    def body_tensors(self) -> dict[str, torch.Tensor]:
        """Every per-body tensor ([E, ...]): parameters and statistics."""
        return {
            **dict(self.body.items()),
            "feature_mean": self.feature_mean,
            "feature_std": self.feature_std,
            "delta_std": self.delta_std,
            "action_lo": self.action_lo,
            "action_hi": self.action_hi,
        }

    def adapter_keys(self, fine_tune: bool) -> list[str]:
        """Names of the per-body parameters that adaptation trains."""
        return [k for k in self.body if fine_tune or not k.startswith("lora")]

    @torch.no_grad()
    def set_statistics(
        self,
        embodiment: int,
        feature_mean: torch.Tensor,
        feature_std: torch.Tensor,
        delta_std: torch.Tensor,
        action_lo: torch.Tensor | None = None,
        action_hi: torch.Tensor | None = None,
    ) -> None:
        self.feature_mean[embodiment], self.feature_std[embodiment] = normalisation(feature_mean, feature_std)
        self.delta_std[embodiment] = delta_std.clamp_min(1e-4)
        if action_lo is not None and action_hi is not None:
            self.action_lo[embodiment], self.action_hi[embodiment] = action_lo, action_hi

    @torch.no_grad()
    def set_kinematics(self, embodiment: int, kin: torch.Tensor) -> None:
        if kin.shape != (KIN_DIM,) or not torch.isfinite(kin).all():
            raise ValueError(f"a kinematic chain is a finite [{KIN_DIM}] vector, got {list(kin.shape)}")
        self.kinematics[embodiment] = kin

    @torch.no_grad()
    def extended(self, extra: int = 1) -> GeneralistPolicy:
        """A copy with `extra` more rows in the embodiment table (fresh adapters, unit statistics)."""
        bigger = GeneralistPolicy(self.embodiments + extra, self.width, self.depth, self.adapter_hidden, self.lora_rank)
        fresh = self._fresh_body_params(extra)
        state = self.state_dict()
        for key, value in bigger.state_dict().items():
            if key.startswith("body.") or key in STATISTICS:
                name = key.removeprefix("body.")
                tail = fresh[name] if name in fresh else value[self.embodiments :]
                state[key] = torch.cat([state[key], tail])
        bigger.load_state_dict(state)
        return bigger

    # -- computation -----------------------------------------------------------------

    def _core(self, x: torch.Tensor, p: dict[str, torch.Tensor]) -> torch.Tensor:
        """Normalised action deltas [G, M, OUT_DIM] for features x [G, M, F] and body tensors p [G, ...]."""
        h = (x - p["feature_mean"][:, None]) / p["feature_std"][:, None]
        enc = len(self._layer_dims("enc"))
        for i in range(enc):
            h = self.act(h @ p[f"enc{i}_w"] + p[f"enc{i}_b"][:, None])
        for i, block in enumerate(self.blocks):
            n = block.norm(h)
            u = block.fc1(n)
            if self.lora_rank:
                u = u + (n @ p[f"lora{i}_a"]) @ p[f"lora{i}_b"]
            h = h + block.fc2(self.act(u))
        h = self.final_norm(h)
        dec = len(self._layer_dims("dec"))
        for i in range(dec):
            h = h @ p[f"dec{i}_w"] + p[f"dec{i}_b"][:, None]
            if i < dec - 1:
                h = self.act(h)
        return h

    def normalised_delta(self, state: torch.Tensor, goal: torch.Tensor, embodiment: torch.Tensor) -> torch.Tensor:
        """The network's raw output [B, OUT_DIM], each row with its own body: deltas in units of delta_std."""
        e = embodiment.view(-1)
        p = {k: v[e] for k, v in self.body_tensors().items()}
        return self._core(features(state, goal, self.kinematics[e])[:, None, :], p)[:, 0]

    def normalised_delta_grouped(self, x: torch.Tensor, bodies: torch.Tensor) -> torch.Tensor:
        """Training path: features x [K, M, F] where group k is body bodies[k] -> [K, M, OUT_DIM]."""
        p = {k: v[bodies] for k, v in self.body_tensors().items()}
        return self._core(x, p)

    def forward(self, state: torch.Tensor, goal: torch.Tensor, embodiment: torch.Tensor) -> torch.Tensor:
        e = embodiment.view(-1)
        delta = (self.normalised_delta(state, goal, embodiment) * self.delta_std[e]).view(-1, HORIZON, MAX_DOF)
        q = state[:, None, :MAX_DOF]
        mask = state[:, None, 2 * MAX_DOF : STATE_DIM]
        actions = torch.minimum(torch.maximum(q + delta, self.action_lo[e][:, None]), self.action_hi[e][:, None])
        return actions * mask


def normalisation(mean: torch.Tensor, std: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-feature shift and scale; constant features (masks, an unused skill) are only shifted.

    A feature that never varied in a body's demonstrations (std ~ 0) would otherwise be
    scaled by ~1e3 and turn any unseen value (another skill's flag) into a huge input.
    """
    std = torch.where(std < 1e-2, torch.ones_like(std), std)
    return mean, std

