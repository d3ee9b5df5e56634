"""Train the generalist policy by imitation across many bodies, export it to ONNX.

    python -m robosoul_motion.training.train --demos build/demos/ \\
        --out build/policy/generalist/policy.onnx

`--demos` takes .npz files and directories of them (one body per file, from
robosoul_simulation.demos; every skill they hold is learnt). Writes next to the
ONNX file: `policy.json` (the sidecar the model repository reads: embodiment
table, contract, provenance, metrics, the held-out bodies it never saw, sha256 of
the ONNX) and `policy.pt` (the full checkpoint that adapt.py extends with new
bodies). The ONNX is checked against torch through onnxruntime before anything
is written. Progress (loss, ETA) goes to stderr.

Batches are grouped by body: each step draws `bodies_per_batch` bodies and
`batch / bodies_per_batch` samples of each, so every body's adapter and the shared trunk
learn at every step whatever the sizes of the bodies' demonstration sets.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch

from robosoul_core import policy_io as io
from robosoul_motion import model_repo
from robosoul_motion.training.data import Demos, DemosError, load_demos
from robosoul_motion.training.model import OUT_DIM, GeneralistPolicy, features

__all__ = ["Demos", "DemosError", "TrainConfig", "export_onnx", "load_demos", "main", "train", "write_artifacts"]

OPSET = 18
EXPORT_TOLERANCE = 1e-4
CHECKPOINT_FORMAT = "robosoul-generalist/1"


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 6000
    seed: int = 0
    batch: int = 512
    # Bodies per batch; each gets batch // bodies_per_batch rows.
    bodies_per_batch: int = 8
    lr: float = 2e-3
    weight_decay: float = 1e-5
    width: int = 256
    depth: int = 2
    adapter_hidden: int = 0
    lora_rank: int = 8
    val_fraction: float = 0.1
    # Loss weight of the chunk steps a robot executes before the next chunk
    # arrives (the first 8 at 50 Hz with a new chunk every 160 ms) vs the rest.
    executed_steps: int = 8
    tail_weight: float = 0.5
    threads: int = 2


# -- pieces shared with adapt.py ------------------------------------------------------


def step_weights(config) -> torch.Tensor:
    w = torch.full((io.HORIZON, 1), config.tail_weight)
    w[: config.executed_steps] = 1.0
    return w


def masked_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Weighted MSE over real joints; pred/target [..., OUT_DIM], mask [..., MAX_DOF]."""
    w = weights * mask[..., None, :]  # [..., H, MAX_DOF]
    err = (pred - target).reshape(*pred.shape[:-1], io.HORIZON, io.MAX_DOF) ** 2
    return (err * w).sum() / w.sum()


def split_episodes(episode: np.ndarray, rows: np.ndarray, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Train/validation rows of one body; whole episodes go to one side (no leakage)."""
    ids = np.unique(episode[rows])
    n_val = max(1, int(round(len(ids) * fraction))) if len(ids) > 1 else 0
    is_val = np.isin(episode[rows], rng.choice(ids, n_val, replace=False))
    if n_val == 0:
        is_val[-1] = True
    return rows[~is_val], rows[is_val]


def body_kinematics(kin: np.ndarray, rows: int) -> torch.Tensor:
    """One body's chain repeated for `rows` rows."""
    return torch.from_numpy(np.asarray(kin, dtype=np.float32)).expand(rows, -1)


def fit_statistics(state: np.ndarray, goal: np.ndarray, actions: np.ndarray, kin: np.ndarray) -> tuple[torch.Tensor, ...]:
    """One body's feature mean/std, action-delta std and command range (for `set_statistics`)."""
    s, g, a = torch.from_numpy(state), torch.from_numpy(goal), torch.from_numpy(actions)
    f = features(s, g, body_kinematics(kin, len(s)))
    delta = (a - s[:, None, : io.MAX_DOF]).reshape(len(s), -1)
    flat = a.reshape(-1, io.MAX_DOF)
    return f.mean(0), f.std(0, unbiased=False), delta.std(0, unbiased=False), flat.min(0).values, flat.max(0).values


class BodyData:
    """One body's rows as tensors: features, normalised targets and masks for a model's statistics."""

    def __init__(self, demos: Demos, rows: np.ndarray, delta_std: torch.Tensor, kin: np.ndarray):
        s = torch.from_numpy(demos.state[rows])
        self.x = features(s, torch.from_numpy(demos.goal[rows]), body_kinematics(kin, len(rows)))
        delta = (torch.from_numpy(demos.actions[rows]) - s[:, None, : io.MAX_DOF]).reshape(len(rows), OUT_DIM)
        self.target = delta / delta_std
        self.mask = s[:, 2 * io.MAX_DOF :]
        self.actions = torch.from_numpy(demos.actions[rows])
        self.state = s

    def __len__(self) -> int:
        return len(self.x)


def lr_at(step: int, total: int, peak: float, warmup: float = 0.1) -> float:
    """Linear warm-up, then cosine decay to 1/1000 of the peak."""
    w = max(1, int(total * warmup))
    if step < w:
        return peak * (step + 1) / w
    t = (step - w) / max(1, total - w)
    return peak * (1e-3 + (1 - 1e-3) * 0.5 * (1 + math.cos(math.pi * t)))


class StderrProgress:
    """`report(step, total, loss, val)`: one updating line on stderr, at most once a second."""

    def __init__(self, label: str, total: int):
        self.label, self.total = label, total
        self.t0 = time.monotonic()
        self.last = -math.inf

    def eta(self, step: int) -> float:
        return (time.monotonic() - self.t0) / max(step, 1) * (self.total - step)

    def __call__(self, step: int, loss: float, val: float | None = None, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < 1.0:
            return
        self.last = now
        val_s = f" val {val:.5f}" if val is not None else ""
        print(
            f"\r{self.label}: step {step}/{self.total} loss {loss:.5f}{val_s} eta {self.eta(step):.0f} s   ",
            end="\n" if force else "",
            file=sys.stderr,
            flush=True,
        )


@torch.no_grad()
def body_metrics(model: GeneralistPolicy, index: int, data: BodyData, weights: torch.Tensor, limit: int = 8192) -> dict:
    """Validation loss and mean absolute action error (rad, all real joints and steps) of one body."""
    model.eval()
    n = min(len(data), limit)
    pred = model.normalised_delta_grouped(data.x[None, :n], torch.tensor([index]))[0]
    loss = masked_loss(pred, data.target[:n], data.mask[:n], weights).item()
    delta = pred * model.delta_std[index]
    actions = data.state[:n, None, : io.MAX_DOF] + delta.view(n, io.HORIZON, io.MAX_DOF)
    err = (actions - data.actions[:n]).abs() * data.mask[:n, None, :]
    return {"val_loss": loss, "val_mae_rad": float(err.sum() / (data.mask[:n].sum() * io.HORIZON))}


# -- base training --------------------------------------------------------------------


def train(
    demos: Demos, config: TrainConfig, progress: bool | Callable[[int, float, float | None], None] = True
) -> tuple[GeneralistPolicy, dict]:
    """Fit a generalist to the demonstrations of every body in them; returns it and metrics."""
    if config.steps < 1:
        raise ValueError(f"steps must be >= 1, got {config.steps}")
    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads)
    rng = np.random.default_rng(config.seed)
    bodies = len(demos.tags)
    model = GeneralistPolicy(bodies, config.width, config.depth, config.adapter_hidden, config.lora_rank)
    train_sets, val_sets = [], []
    for e in range(bodies):
        tr, va = split_episodes(demos.episode, demos.rows_of(e), config.val_fraction, rng)
        kin = demos.kinematics[e]
        model.set_kinematics(e, torch.from_numpy(kin))
        model.set_statistics(e, *fit_statistics(demos.state[tr], demos.goal[tr], demos.actions[tr], kin))
        train_sets.append(BodyData(demos, tr, model.delta_std[e], kin))
        val_sets.append(BodyData(demos, va, model.delta_std[e], kin))

    # The LoRA rows stay zero in base training: a new body's adapter then meets the
    # trunk exactly as every training body's adapter did.
    trained = [p for name, p in model.named_parameters() if not name.startswith("body.lora")]
    for name, p in model.named_parameters():
        p.requires_grad_(not name.startswith("body.lora"))
    decay = [p for p in trained if p.ndim >= 2]
    no_decay = [p for p in trained if p.ndim < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}], lr=config.lr
    )
    weights = step_weights(config)
    k = min(config.bodies_per_batch, bodies)
    m = max(1, config.batch // k)
    report = StderrProgress("train", config.steps) if progress is True else (progress or None)
    t0 = time.monotonic()
    val_every = max(1, config.steps // 10)
    val_loss = None
    model.train()
    for step in range(config.steps):
        for group in opt.param_groups:
            group["lr"] = lr_at(step, config.steps, config.lr)
        chosen = rng.choice(bodies, k, replace=False)
        rows = [rng.integers(0, len(train_sets[b]), m) for b in chosen]
        x = torch.stack([train_sets[b].x[r] for b, r in zip(chosen, rows, strict=True)])
        target = torch.stack([train_sets[b].target[r] for b, r in zip(chosen, rows, strict=True)])
        mask = torch.stack([train_sets[b].mask[r] for b, r in zip(chosen, rows, strict=True)])
        pred = model.normalised_delta_grouped(x, torch.from_numpy(chosen))
        loss = masked_loss(pred, target, mask, weights)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if (step + 1) % val_every == 0 or step + 1 == config.steps:
            per_body = [body_metrics(model, e, val_sets[e], weights, limit=2048) for e in range(bodies)]
            val_loss = float(np.mean([b["val_loss"] for b in per_body]))
            model.train()
        if report:
            report(step + 1, loss.item(), val_loss, force=step + 1 == config.steps)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(True)
    per_body = {demos.tags[e]: body_metrics(model, e, val_sets[e], weights) for e in range(bodies)}
    metrics = {
        "val_loss": float(np.mean([b["val_loss"] for b in per_body.values()])),
        "val_mae_rad": float(np.mean([b["val_mae_rad"] for b in per_body.values()])),
        "per_body": per_body,
        "train_samples": sum(len(t) for t in train_sets),
        "val_samples": sum(len(v) for v in val_sets),
        "train_seconds": round(time.monotonic() - t0, 1),
    }
    return model, metrics


# -- export and artifacts ---------------------------------------------------------------


def export_onnx(model: GeneralistPolicy, path: Path, example: tuple[torch.Tensor, torch.Tensor, torch.Tensor]) -> float:
    """Export with a dynamic batch axis; returns the max |onnx - torch| on `example`."""
    import onnxruntime as ort

    model.eval()
    path.parent.mkdir(parents=True, exist_ok=True)
    batch = torch.export.Dim("batch", min=1, max=4096)
    # The exporter narrates on stdout and warns that the three inputs share one batch
    # axis (they do, on purpose); keep stdout for results.
    with contextlib.redirect_stdout(sys.stderr), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*shares the same shape constraints.*")
        warnings.filterwarnings("ignore", message=".*LeafSpec.*", category=FutureWarning)
        torch.onnx.export(
            model,
            example,
            str(path),
            input_names=[io.INPUT_STATE, io.INPUT_GOAL, io.INPUT_EMBODIMENT],
            output_names=[io.OUTPUT_ACTIONS],
            opset_version=OPSET,
            dynamic_shapes=({0: batch}, {0: batch}, {0: batch}),
            external_data=False,
            dynamo=True,
            verbose=False,
        )
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    feed = {io.INPUT_STATE: example[0].numpy(), io.INPUT_GOAL: example[1].numpy(), io.INPUT_EMBODIMENT: example[2].numpy()}
    (got,) = session.run([io.OUTPUT_ACTIONS], feed)
    with torch.no_grad():
        want = model(*example).numpy()
    return float(np.abs(got - want).max())


def export_example(demos: Demos, per_body: int = 32) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A mixed-body batch for the export check: rows of every body in the demos."""
    rows = np.concatenate([demos.rows_of(e)[:per_body] for e in range(len(demos.tags))])
    e = demos.embodiment[rows]
    return torch.from_numpy(demos.state[rows].copy()), torch.from_numpy(demos.goal[rows].copy()), torch.from_numpy(e.copy())


def export_checked(model: GeneralistPolicy, out: Path, example) -> float:
    """Export to a temporary file, compare with torch, then move it to `out`."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.stem + ".tmp.onnx")
    try:
        diff = export_onnx(model, tmp, example)
        if not diff < EXPORT_TOLERANCE:
            raise RuntimeError(f"the ONNX export differs from torch by {diff:.2e} (limit {EXPORT_TOLERANCE:.0e})")
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return diff


def sidecar_for(model: GeneralistPolicy, embodiments: dict[str, int], onnx_path: Path, **extra) -> dict:
    return {
        "embodiments": embodiments,
        "horizon": io.HORIZON,
        "step_s": io.STEP_S,
        "max_dof": io.MAX_DOF,
        "inputs": {
            io.INPUT_STATE: {"dtype": "float32", "shape": ["B", io.STATE_DIM], "layout": "positions | velocities | mask"},
            io.INPUT_GOAL: {
                "dtype": "float32",
                "shape": ["B", io.GOAL_DIM],
                "layout": (
                    f"target xyz [{io.GOAL_TARGET.start}:{io.GOAL_TARGET.stop}] | place xyz [{io.GOAL_PLACE.start}:{io.GOAL_PLACE.stop}]"
                    f" | joint targets [{io.GOAL_JOINTS.start}:{io.GOAL_JOINTS.stop}] | skill one-hot [{io.GOAL_SKILL.start}:{io.GOAL_SKILL.stop}]"
                ),
            },
            io.INPUT_EMBODIMENT: {"dtype": "int64", "shape": ["B", 1], "layout": "index into embodiments"},
        },
        "outputs": {
            io.OUTPUT_ACTIONS: {
                "dtype": "float32",
                "shape": ["B", io.HORIZON, io.MAX_DOF],
                "layout": "absolute joint position targets",
            },
        },
        "opset": OPSET,
        "architecture": model.config(),
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **extra,
        "sha256": model_repo.sha256_file(onnx_path),
    }


def write_sidecar(path: Path, sidecar: dict) -> None:
    """policy.json, written atomically (the model repository may be reading it)."""
    model_repo.write_atomic(path, json.dumps(sidecar, indent=2) + "\n")


def save_checkpoint(path: Path, model: GeneralistPolicy, embodiments: dict[str, int], **extra) -> None:
    """The full checkpoint adapt.py extends: architecture, table, weights and provenance."""
    tmp = path.with_name(path.name + ".tmp")
    torch.save(
        {"format": CHECKPOINT_FORMAT, "config": model.config(), "embodiments": embodiments, "state_dict": model.state_dict(), **extra},
        tmp,
    )
    tmp.replace(path)


def registry_held_out() -> list[str] | None:
    """The held-out bodies of the simulation's registry, if that package is installed."""
    try:
        from robosoul_simulation import bodies  # noqa: PLC0415 (optional: training tools only)
    except ImportError:
        return None
    return sorted(b if isinstance(b, str) else getattr(b, "tag", str(b)) for b in bodies.held_out_bodies())


def write_artifacts(
    model: GeneralistPolicy,
    demos: Demos,
    out: Path,
    config: TrainConfig,
    metrics: dict,
    held_out: list[str] | None = None,
) -> dict:
    """Export the ONNX, check it, and write policy.json and policy.pt next to it."""
    diff = export_checked(model, out, export_example(demos))
    embodiments = {tag: i for i, tag in enumerate(demos.tags)}
    bodies = {tag: {**demos.describe(i), "origin": "base"} for tag, i in embodiments.items()}
    metrics = {**metrics, "export_max_abs_diff": diff}
    sidecar = sidecar_for(
        model,
        embodiments,
        out,
        bodies=bodies,
        held_out=held_out or [],
        val_loss=metrics["val_loss"],
        metrics=metrics,
        train_config=asdict(config),
        demos=demos.sources,
    )
    write_sidecar(out.with_suffix(".json"), sidecar)
    save_checkpoint(
        out.with_suffix(".pt"),
        model,
        embodiments,
        bodies=bodies,
        held_out=held_out or [],
        train_config=asdict(config),
        metrics=metrics,
        demos=demos.sources,
        history=[{"event": "train", "bodies": list(embodiments), "at": sidecar["trained_at"]}],
    )
    return sidecar


def main(argv: list[str] | None = None) -> int:
    d = TrainConfig()
    parser = argparse.ArgumentParser(
        prog="python -m robosoul_motion.training.train",
        description="Train the generalist motion policy across bodies and export it to ONNX.",
    )
    parser.add_argument("--demos", type=Path, nargs="+", required=True, help="demonstration .npz files or directories of them")
    parser.add_argument("--out", type=Path, required=True, help="output ONNX path; policy.json and policy.pt go next to it")
    parser.add_argument("--steps", type=int, default=d.steps, help="optimiser steps (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=d.seed, help="random seed (default: %(default)s)")
    parser.add_argument("--width", type=int, default=d.width, help="trunk width (default: %(default)s)")
    parser.add_argument("--depth", type=int, default=d.depth, help="trunk residual blocks (default: %(default)s)")
    parser.add_argument("--adapter-hidden", type=int, default=d.adapter_hidden, help="adapter MLP hidden width, 0: linear (default: %(default)s)")
    parser.add_argument(
        "--held-out",
        default=None,
        help="comma-separated tags that must not be trained on (default: the simulation registry's held-out bodies)",
    )
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error(f"--steps must be >= 1, got {args.steps}")
    if args.out.suffix != ".onnx":
        parser.error(f"--out must end in .onnx, got {args.out}")
    held_out = [t for t in args.held_out.split(",") if t] if args.held_out is not None else registry_held_out()
    try:
        demos = load_demos(args.demos)
    except DemosError as exc:
        parser.error(str(exc))
    leaked = sorted(set(demos.tags) & set(held_out or []))
    if leaked:
        parser.error(f"the demonstrations include held-out bodies {leaked}: they must never be trained on")
    config = TrainConfig(steps=args.steps, seed=args.seed, width=args.width, depth=args.depth, adapter_hidden=args.adapter_hidden)
    print(
        f"train: {len(demos)} samples of {len(demos.tags)} bodies ({', '.join(demos.tags)}), {config.steps} steps",
        file=sys.stderr,
    )
    model, metrics = train(demos, config)
    sidecar = write_artifacts(model, demos, args.out, config, metrics, held_out)
    print(
        f"wrote {args.out} (val loss {metrics['val_loss']:.5f}, val MAE {metrics['val_mae_rad'] * 1000:.2f} mrad, "
        f"export diff {sidecar['metrics']['export_max_abs_diff']:.1e}, {metrics['train_seconds']} s)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
