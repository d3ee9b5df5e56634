"""Train the reach policy by imitation of the expert's demonstrations, export it to ONNX.

    python -m robosoul_motion.training.train --demos build/demos/rs-arm4.npz \\
        --out build/policy/rs-arm4/policy.onnx

Writes next to the ONNX file: `policy.json` (the sidecar the model repository
reads: embodiment table, contract, provenance, sha256 of the ONNX) and
`policy.pt` (weights and architecture, for fine-tuning on new bodies).
The ONNX is checked against torch through onnxruntime before anything is written.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import sys
import time
import warnings
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch

from robosoul_core import policy_io as io
from robosoul_core.errors import InvalidArgument
from robosoul_motion.training.model import ReachPolicy, features

OPSET = 18
EXPORT_TOLERANCE = 1e-4


class DemosError(InvalidArgument):
    """The demonstrations file is missing or does not fit the policy contract."""


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 8
    seed: int = 0
    batch: int = 512
    lr: float = 2e-3
    weight_decay: float = 1e-5
    width: int = 256
    depth: int = 2
    val_fraction: float = 0.1
    # Loss weight of the chunk steps a robot executes before the next chunk
    # arrives (the first 8 at 50 Hz with a new chunk every 160 ms) vs the rest.
    executed_steps: int = 8
    tail_weight: float = 0.5
    threads: int = 2


@dataclass
class Demos:
    state: np.ndarray
    goal: np.ndarray
    embodiment: np.ndarray
    actions: np.ndarray
    episode: np.ndarray
    tags: list[str]


def load_demos(path: Path) -> Demos:
    """Read and check a demonstrations .npz against the policy contract."""
    path = Path(path)
    if not path.is_file():
        raise DemosError(
            f"{path}: demonstrations file not found (make it with `make demos` or python -m robosoul_simulation.demos)"
        )
    try:
        with np.load(path, allow_pickle=False) as f:
            data = {k: f[k] for k in f.files}
    except (OSError, ValueError) as exc:
        raise DemosError(f"{path}: not a readable .npz file ({exc})") from None
    n = data[io.INPUT_STATE].shape[0] if io.INPUT_STATE in data and data[io.INPUT_STATE].ndim else 0
    want = {
        io.INPUT_STATE: ((n, io.STATE_DIM), np.float32),
        io.INPUT_GOAL: ((n, io.GOAL_DIM), np.float32),
        io.INPUT_EMBODIMENT: ((n, 1), np.int64),
        io.OUTPUT_ACTIONS: ((n, io.HORIZON, io.MAX_DOF), np.float32),
    }
    for key, (shape, dtype) in want.items():
        if key not in data:
            raise DemosError(f"{path}: no array {key!r} (has {sorted(data)})")
        got = data[key]
        if got.shape != shape or got.dtype != dtype:
            raise DemosError(
                f"{path}: {key!r} is {got.dtype}{list(got.shape)}, the policy contract needs {np.dtype(dtype)}{list(shape)}"
            )
        if not np.isfinite(got).all():
            raise DemosError(f"{path}: {key!r} holds NaN or infinite values")
    if n < 2:
        raise DemosError(f"{path}: {n} samples; training needs at least 2")
    tags = [str(t) for t in data["embodiment_tags"]] if "embodiment_tags" in data else []
    if not tags:
        raise DemosError(f"{path}: no 'embodiment_tags' array naming the embodiment indices")
    e = data[io.INPUT_EMBODIMENT]
    if e.min() < 0 or e.max() >= len(tags):
        raise DemosError(f"{path}: embodiment indices {e.min()}..{e.max()} outside the {len(tags)} tags {tags}")
    episode = data["episode"].astype(np.int64) if "episode" in data and data["episode"].shape == (n,) else np.arange(n)
    return Demos(data[io.INPUT_STATE], data[io.INPUT_GOAL], e, data[io.OUTPUT_ACTIONS], episode, tags)


def _split(episode: np.ndarray, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Train/validation indices; whole episodes go to one side (no leakage between them)."""
    ids = np.unique(episode)
    n_val = max(1, int(round(len(ids) * fraction))) if len(ids) > 1 else 0
    val_ids = rng.choice(ids, n_val, replace=False)
    is_val = np.isin(episode, val_ids)
    if n_val == 0:
        is_val = np.zeros_like(is_val)
        is_val[-1] = True
    return np.flatnonzero(~is_val), np.flatnonzero(is_val)


class _Progress:
    def __init__(self, total_steps: int):
        self.total = total_steps
        self.t0 = time.monotonic()
        self.last = -math.inf

    def __call__(self, step: int, epoch: int, epochs: int, loss: float, val: float | None, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < 1.0:
            return
        self.last = now
        elapsed = now - self.t0
        eta = elapsed / max(step, 1) * (self.total - step)
        val_s = f" val {val:.5f}" if val is not None else ""
        end = "\n" if force else ""
        print(
            f"\rtrain: epoch {epoch}/{epochs} step {step}/{self.total} loss {loss:.5f}{val_s} eta {eta:.0f} s   ",
            end=end,
            file=sys.stderr,
            flush=True,
        )


def _tensors(demos: Demos, idx: np.ndarray) -> tuple[torch.Tensor, ...]:
    return (
        torch.from_numpy(demos.state[idx]),
        torch.from_numpy(demos.goal[idx]),
        torch.from_numpy(demos.embodiment[idx]),
        torch.from_numpy(demos.actions[idx]),
    )


def _normalised_targets(model: ReachPolicy, state: torch.Tensor, embodiment: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    delta = (actions - state[:, None, : io.MAX_DOF]).reshape(len(state), -1)
    return delta / model.delta_std[embodiment.view(-1)]


def _fit_statistics(
    model: ReachPolicy, state: torch.Tensor, goal: torch.Tensor, embodiment: torch.Tensor, actions: torch.Tensor
) -> None:
    f = features(state, goal)
    delta = (actions - state[:, None, : io.MAX_DOF]).reshape(len(state), -1)
    for e in torch.unique(embodiment.view(-1)).tolist():
        rows = embodiment.view(-1) == e
        model.set_statistics(e, f[rows].mean(0), f[rows].std(0, unbiased=False), delta[rows].std(0, unbiased=False))


def train(demos: Demos, config: TrainConfig, progress: bool = True) -> tuple[ReachPolicy, dict]:
    """Fit a policy to the demonstrations; returns it and training metrics."""
    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads)
    rng = np.random.default_rng(config.seed)
    train_idx, val_idx = _split(demos.episode, config.val_fraction, rng)
    s, g, e, a = _tensors(demos, train_idx)
    vs, vg, ve, va = _tensors(demos, val_idx)

    model = ReachPolicy(embodiments=len(demos.tags), width=config.width, depth=config.depth)
    _fit_statistics(model, s, g, e, a)
    target = _normalised_targets(model, s, e, a)
    val_target = _normalised_targets(model, vs, ve, va)
    mask = s[:, 2 * io.MAX_DOF :]
    val_mask = vs[:, 2 * io.MAX_DOF :]
    step_weight = torch.full((io.HORIZON, 1), config.tail_weight)
    step_weight[: config.executed_steps] = 1.0

    def loss_fn(pred: torch.Tensor, tgt: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        w = step_weight[None] * m[:, None, :]  # [B, H, MAX_DOF]
        err = (pred - tgt).view(-1, io.HORIZON, io.MAX_DOF) ** 2
        return (err * w).sum() / w.sum()

    batches_per_epoch = max(1, len(train_idx) // config.batch)
    total = batches_per_epoch * config.epochs
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=config.lr, total_steps=total, pct_start=0.15, final_div_factor=1e3)
    shuffler = torch.Generator().manual_seed(config.seed)
    report = _Progress(total) if progress else None
    step, val_loss, t0 = 0, float("nan"), time.monotonic()
    for epoch in range(1, config.epochs + 1):
        model.train()
        order = torch.randperm(len(train_idx), generator=shuffler)
        for b in range(batches_per_epoch):
            rows = order[b * config.batch : (b + 1) * config.batch]
            pred = model.normalised_delta(s[rows], g[rows], e[rows])
            loss = loss_fn(pred, target[rows], mask[rows])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            if report:
                report(step, epoch, config.epochs, loss.item(), None if math.isnan(val_loss) else val_loss)
        val_loss = _evaluate(model, loss_fn, vs, vg, ve, val_target, val_mask)
        if report:
            report(step, epoch, config.epochs, loss.item(), val_loss, force=epoch == config.epochs)
    model.eval()
    with torch.no_grad():
        err = (model(vs, vg, ve) - va).abs()
    metrics = {
        "val_loss": val_loss,
        "val_mae_rad": float(err.sum() / (val_mask.sum() * io.HORIZON)),
        "train_samples": len(train_idx),
        "val_samples": len(val_idx),
        "train_seconds": round(time.monotonic() - t0, 1),
    }
    return model, metrics


@torch.no_grad()
def _evaluate(model, loss_fn, s, g, e, target, mask, batch: int = 8192) -> float:
    model.eval()
    total, count = 0.0, 0
    for i in range(0, len(s), batch):
        sl = slice(i, i + batch)
        total += loss_fn(model.normalised_delta(s[sl], g[sl], e[sl]), target[sl], mask[sl]).item() * len(s[sl])
        count += len(s[sl])
    return total / max(count, 1)


def export_onnx(model: ReachPolicy, path: Path, example: tuple[torch.Tensor, torch.Tensor, torch.Tensor]) -> float:
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


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_artifacts(model: ReachPolicy, demos: Demos, demos_path: Path, out: Path, config: TrainConfig, metrics: dict) -> dict:
    """Export the ONNX, check it, and write policy.json and policy.pt next to it."""
    n = min(256, len(demos.state))
    example = (
        torch.from_numpy(demos.state[:n].copy()),
        torch.from_numpy(demos.goal[:n].copy()),
        torch.from_numpy(demos.embodiment[:n].copy()),
    )
    tmp = out.with_name(out.stem + ".tmp.onnx")
    diff = export_onnx(model, tmp, example)
    if diff >= EXPORT_TOLERANCE:
        tmp.unlink(missing_ok=True)
        raise RuntimeError(f"the ONNX export differs from torch by {diff:.2e} (limit {EXPORT_TOLERANCE:.0e})")
    tmp.replace(out)
    embodiments = {tag: i for i, tag in enumerate(demos.tags)}
    sidecar = {
        "embodiments": embodiments,
        "horizon": io.HORIZON,
        "step_s": io.STEP_S,
        "max_dof": io.MAX_DOF,
        "inputs": {
            io.INPUT_STATE: {"dtype": "float32", "shape": ["B", io.STATE_DIM], "layout": "positions | velocities | mask"},
            io.INPUT_GOAL: {"dtype": "float32", "shape": ["B", io.GOAL_DIM], "layout": "target xyz | skill one-hot"},
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
        "val_loss": metrics["val_loss"],
        "metrics": {**metrics, "export_max_abs_diff": diff},
        "train_config": asdict(config),
        "demos": demos_path.name,
        "sha256": _sha256(out),
    }
    out.with_suffix(".json").write_text(json.dumps(sidecar, indent=2) + "\n", encoding="utf-8")
    torch.save({"config": model.config(), "embodiments": embodiments, "state_dict": model.state_dict()}, out.with_suffix(".pt"))
    return sidecar


def main(argv: list[str] | None = None) -> int:
    d = TrainConfig()
    parser = argparse.ArgumentParser(
        prog="python -m robosoul_motion.training.train", description="Train the reach policy and export it to ONNX."
    )
    parser.add_argument("--demos", type=Path, required=True, help="demonstrations .npz (robosoul_simulation.demos)")
    parser.add_argument("--out", type=Path, required=True, help="output ONNX path; policy.json and policy.pt go next to it")
    parser.add_argument("--epochs", type=int, default=d.epochs, help="passes over the data (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=d.seed, help="random seed (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error(f"--epochs must be >= 1, got {args.epochs}")
    if args.out.suffix != ".onnx":
        parser.error(f"--out must end in .onnx, got {args.out}")
    try:
        demos = load_demos(args.demos)
    except DemosError as exc:
        parser.error(str(exc))
    config = TrainConfig(epochs=args.epochs, seed=args.seed)
    print(f"train: {len(demos.state)} samples, embodiments {demos.tags}, {config.epochs} epochs", file=sys.stderr)
    model, metrics = train(demos, config)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sidecar = write_artifacts(model, demos, args.demos, args.out, config, metrics)
    print(
        f"wrote {args.out} (val loss {metrics['val_loss']:.5f}, val MAE {metrics['val_mae_rad'] * 1000:.2f} mrad, "
        f"export diff {sidecar['metrics']['export_max_abs_diff']:.1e}, {metrics['train_seconds']} s)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
