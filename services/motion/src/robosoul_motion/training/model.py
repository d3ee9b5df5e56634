"""The motion policy network: per-embodiment adapters around a shared trunk.

GR00T's layout at CPU scale. Each embodiment (a row in the model's embodiment
table, chosen by the `embodiment` input) has its own input normalisation, state
encoder and action decoder; the trunk in between is shared by every body, so a
new body needs a new adapter and some fine-tuning rather than a new network.

    features(state, goal)  -> normalise[e] -> encoder[e] -> trunk -> decoder[e]
                           -> delta [B, H, MAX_DOF] * scale[e]
    actions = positions + delta * mask

Adapters are selected without Python control flow (all adapters' outputs are
computed with one matmul and the row of the batch's embodiment gathered), so the
graph exports to ONNX with a dynamic batch, and one batch may mix bodies.
Padded joints (mask 0) get action 0, whatever the network says.
"""

from __future__ import annotations

import torch
from torch import nn

from robosoul_core.policy_io import GOAL_DIM, HORIZON, MAX_DOF, STATE_DIM

# q, sin q, cos q, qdot, mask; target xyz, its horizontal distance and direction; skill.
FEATURE_DIM = 5 * MAX_DOF + 3 + 1 + 2 + (GOAL_DIM - 3)


def features(state: torch.Tensor, goal: torch.Tensor) -> torch.Tensor:
    """[B, FEATURE_DIM] features from contract inputs (no learned parameters)."""
    q = state[:, :MAX_DOF]
    qdot = state[:, MAX_DOF : 2 * MAX_DOF]
    mask = state[:, 2 * MAX_DOF : 3 * MAX_DOF]
    xyz = goal[:, :3]
    radius = torch.sqrt(xyz[:, 0:1] ** 2 + xyz[:, 1:2] ** 2 + 1e-6)
    direction = xyz[:, 0:2] / radius
    return torch.cat([q, torch.sin(q) * mask, torch.cos(q) * mask, qdot, mask, xyz, radius, direction, goal[:, 3:]], dim=1)


class CategorySpecificLinear(nn.Module):
    """A linear layer with one weight matrix per category (embodiment)."""

    def __init__(self, categories: int, in_dim: int, out_dim: int):
        super().__init__()
        self.categories, self.out_dim = categories, out_dim
        bound = in_dim**-0.5
        self.weight = nn.Parameter(torch.empty(in_dim, categories * out_dim).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.zeros(categories, out_dim))

    def forward(self, x: torch.Tensor, category: torch.Tensor) -> torch.Tensor:
        # [B, C, out] for every category, then the batch's own: cheap for a handful of bodies.
        every = (x @ self.weight).view(-1, self.categories, self.out_dim)
        index = category.view(-1, 1, 1).expand(-1, 1, self.out_dim)
        return every.gather(1, index).squeeze(1) + self.bias[category.view(-1)]


class ResidualBlock(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.fc1 = nn.Linear(width, 2 * width)
        self.fc2 = nn.Linear(2 * width, width)
        self.act = nn.SiLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.fc2(self.act(self.fc1(self.norm(x))))


class ReachPolicy(nn.Module):
    """forward(state [B,24], goal [B,8], embodiment int64 [B,1]) -> actions [B,16,8] (absolute)."""

    def __init__(self, embodiments: int = 1, width: int = 256, depth: int = 2):
        super().__init__()
        if embodiments < 1:
            raise ValueError("the policy needs at least one embodiment")
        self.embodiments, self.width, self.depth = embodiments, width, depth
        out = HORIZON * MAX_DOF
        # Per-embodiment statistics, set from the demonstrations (`set_statistics`).
        self.register_buffer("feature_mean", torch.zeros(embodiments, FEATURE_DIM))
        self.register_buffer("feature_std", torch.ones(embodiments, FEATURE_DIM))
        self.register_buffer("delta_std", torch.ones(embodiments, out))
        self.encoder = CategorySpecificLinear(embodiments, FEATURE_DIM, width)
        self.trunk = nn.Sequential(*[ResidualBlock(width) for _ in range(depth)], nn.LayerNorm(width))
        self.decoder = CategorySpecificLinear(embodiments, width, out)
        self.act = nn.SiLU()
        nn.init.zeros_(self.decoder.weight)

    def config(self) -> dict:
        return {"embodiments": self.embodiments, "width": self.width, "depth": self.depth}

    @torch.no_grad()
    def set_statistics(
        self, embodiment: int, feature_mean: torch.Tensor, feature_std: torch.Tensor, delta_std: torch.Tensor
    ) -> None:
        self.feature_mean[embodiment] = feature_mean
        self.feature_std[embodiment] = feature_std.clamp_min(1e-3)
        self.delta_std[embodiment] = delta_std.clamp_min(1e-4)

    def normalised_delta(self, state: torch.Tensor, goal: torch.Tensor, embodiment: torch.Tensor) -> torch.Tensor:
        """The network's raw output [B, H*MAX_DOF]: action deltas in units of delta_std."""
        e = embodiment.view(-1)
        x = (features(state, goal) - self.feature_mean[e]) / self.feature_std[e]
        h = self.trunk(self.act(self.encoder(x, e)))
        return self.decoder(h, e)

    def forward(self, state: torch.Tensor, goal: torch.Tensor, embodiment: torch.Tensor) -> torch.Tensor:
        e = embodiment.view(-1)
        delta = (self.normalised_delta(state, goal, embodiment) * self.delta_std[e]).view(-1, HORIZON, MAX_DOF)
        q = state[:, None, :MAX_DOF]
        mask = state[:, None, 2 * MAX_DOF : STATE_DIM]
        return (q + delta) * mask
