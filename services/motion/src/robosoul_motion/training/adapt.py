"""Onboard a never-seen body: add its row to the generalist's embodiment table and train it.

    python -m robosoul_motion.training.adapt --base build/policy/generalist/policy.pt \\
        --demos build/demos/acme.arm7.npz --tag acme.arm7 --out build/policy/acme.arm7/

From Python (the onboarding job streams `progress` to the vendor's progress bar):

    >>> result = adapt("policy.pt", "new.npz", "acme.arm7", out_dir=Path("out"),
    ...                progress=lambda fraction, message, eta_s: print(fraction, message, eta_s))
    >>> result.onnx, result.sidecar, result.checkpoint

What trains, and what cannot change:

- adapter only (default): the new body's input normalisation (fitted, not
  trained), state encoder and action decoder. The shared trunk and every other
  body's tensors are not parameters of the optimiser at all: the new row's
  tensors are separate leaf tensors, written into the table after training.
- `fine_tune=True`: also the new body's low-rank (LoRA) correction of every
  trunk layer, i.e. a per-body residual inside the trunk. The trunk's shared
  weights still do not move, so every other body's output stays the same.

Either way the exported ONNX gives every existing body bit-for-bit the outputs
of the base ONNX (each row's arithmetic is independent of the table's size;
`tests/test_adapt.py` checks this on the exported files). The new adapter starts
from the adapter of the existing body that already fits the new demonstrations
best (lowest loss before training), which is usually a body of the same joint
count. Deterministic for a given seed and thread count.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch

from robosoul_core.errors import AlreadyExists, InvalidArgument, RoboSoulError
from robosoul_motion.training import train as base
from robosoul_motion.training.data import Demos, DemosError, load_demos
from robosoul_motion.training.model import STATISTICS, UNBOUNDED, GeneralistPolicy

# progress(fraction 0..1, message, eta_s)
AdaptProgress = Callable[[float, str, float], None]


class CheckpointError(InvalidArgument):
    """The base checkpoint is missing or is not a generalist checkpoint."""


@dataclass(frozen=True)
class AdaptConfig:
    steps: int = 3000
    seed: int = 0
    batch: int = 512
    lr: float = 3e-3
    fine_tune: bool = False
    val_fraction: float = 0.1
    executed_steps: int = 8
    tail_weight: float = 0.5
    threads: int = 2
    # "nearest": start from the existing adapter that fits the new demos best; "fresh": random.
    init: str = "nearest"


@dataclass(frozen=True)
class AdaptResult:
    onnx: Path
    sidecar: Path
    checkpoint: Path
    tag: str
    index: int
    metrics: dict


def load_checkpoint(path: Path) -> tuple[GeneralistPolicy, dict]:
    """The model and the checkpoint's metadata; precise errors for anything that is not one."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: base checkpoint not found (train.py writes policy.pt next to policy.onnx)")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises a zoo of types for a file that is not a checkpoint
        raise CheckpointError(f"{path}: not a readable torch checkpoint ({type(exc).__name__}: {exc})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != base.CHECKPOINT_FORMAT:
        got = ckpt.get("format") if isinstance(ckpt, dict) else type(ckpt).__name__
        raise CheckpointError(f"{path}: not a generalist checkpoint (format {got!r}, expected {base.CHECKPOINT_FORMAT!r})")
    try:
        model = GeneralistPolicy(**ckpt["config"])
        state = dict(ckpt["state_dict"])
        for key in ("action_lo", "action_hi"):  # checkpoints from before command bounds
            if key not in state:
                state[key] = torch.full_like(getattr(model, key), -UNBOUNDED if key == "action_lo" else UNBOUNDED)
        model.load_state_dict(state)
    except (KeyError, TypeError, RuntimeError, ValueError) as exc:
        raise CheckpointError(f"{path}: the checkpoint's weights do not fit its architecture ({exc})") from None
    table = ckpt.get("embodiments")
    if not isinstance(table, dict) or sorted(table.values()) != list(range(model.embodiments)):
        raise CheckpointError(f"{path}: its embodiment table {table} does not number the model's {model.embodiments} rows")
    return model.eval(), ckpt


def _check_tag(tag: str, table: dict[str, int], path: Path) -> None:
    if not isinstance(tag, str) or not tag or not tag.isprintable() or len(tag) > 128:
        raise InvalidArgument(f"embodiment tag {tag!r} must be 1..128 printable characters")
    if tag in table:
        raise AlreadyExists(
            f"embodiment {tag!r} is already in {path}'s table (index {table[tag]}); onboard it under a new tag"
        )


def _body_demos(demos: Demos, tag: str) -> Demos:
    if demos.tags != [tag]:
        raise DemosError(
            f"the demonstrations ({', '.join(demos.sources)}) are of {demos.tags}; adapting {tag!r} needs demonstrations of {tag!r} only"
        )
    if len(np.unique(demos.episode)) < 2:
        raise DemosError(f"the demonstrations of {tag!r} hold one episode; adaptation needs at least 2 (one is kept for validation)")
    return demos


@torch.no_grad()
def _nearest_body(model: GeneralistPolicy, index: int, data: base.BodyData, weights: torch.Tensor, rows: int = 2048) -> tuple[int, float]:
    """The existing body whose adapter, with the new body's statistics, best fits the new demos."""
    n = min(rows, len(data))
    best, best_loss = 0, math.inf
    stats = {k: getattr(model, k)[index : index + 1] for k in STATISTICS}
    for b in range(model.embodiments - 1):
        p = {k: v[b : b + 1] for k, v in model.body.items()}
        pred = model._core(data.x[None, :n], {**p, **stats})[0]
        loss = base.masked_loss(pred, data.target[:n], data.mask[:n], weights).item()
        if loss < best_loss:
            best, best_loss = b, loss
    return best, best_loss


def adapt(
    base_checkpoint: Path | str,
    demos_for_new_body: Path | str | Sequence[Path | str],
    new_tag: str,
    *,
    out_dir: Path | str,
    steps: int | None = None,
    fine_tune: bool = False,
    seed: int | None = None,
    config: AdaptConfig | None = None,
    progress: AdaptProgress | None = None,
) -> AdaptResult:
    """Extend the base policy with `new_tag` and write policy.onnx, policy.json, policy.pt in `out_dir`."""
    config = config or AdaptConfig()
    config = replace(config, fine_tune=fine_tune or config.fine_tune, seed=config.seed if seed is None else seed)
    if steps is not None:
        config = replace(config, steps=steps)
    if config.steps < 1:
        raise InvalidArgument(f"steps must be >= 1, got {config.steps}")
    if config.init not in ("nearest", "fresh"):
        raise InvalidArgument(f"init must be 'nearest' or 'fresh', got {config.init!r}")
    t_start = time.monotonic()
    base_checkpoint, out_dir = Path(base_checkpoint), Path(out_dir)
    report = progress or (lambda fraction, message, eta_s: None)
    report(0.0, "loading the base policy and the demonstrations", 0.0)

    old, ckpt = load_checkpoint(base_checkpoint)
    table: dict[str, int] = dict(ckpt["embodiments"])
    _check_tag(new_tag, table, base_checkpoint)
    demos = _body_demos(load_demos(demos_for_new_body), new_tag)

    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads)
    rng = np.random.default_rng(config.seed)
    model = old.extended(1).eval()
    index = model.embodiments - 1
    train_rows, val_rows = base.split_episodes(demos.episode, demos.rows_of(0), config.val_fraction, rng)
    kin = demos.kinematics[0]
    model.set_kinematics(index, torch.from_numpy(kin))
    model.set_statistics(index, *base.fit_statistics(demos.state[train_rows], demos.goal[train_rows], demos.actions[train_rows], kin))
    train_set = base.BodyData(demos, train_rows, model.delta_std[index], kin)
    val_set = base.BodyData(demos, val_rows, model.delta_std[index], kin)
    weights = base.step_weights(config)

    init_from, init_loss = None, None
    if config.init == "nearest" and old.embodiments:
        init_from, init_loss = _nearest_body(model, index, train_set, weights)
        with torch.no_grad():
            for k in model.adapter_keys(fine_tune=False):
                model.body[k][index] = model.body[k][init_from]

    # The new row's tensors as leaves of their own: the optimiser cannot reach anything else.
    keys = model.adapter_keys(config.fine_tune)
    params = {k: torch.nn.Parameter(model.body[k][index].detach().clone()) for k in keys}
    fixed = {k: v[index].detach() for k, v in model.body_tensors().items() if k not in params}
    for p in model.parameters():
        p.requires_grad_(False)
    opt = torch.optim.AdamW(list(params.values()), lr=config.lr, weight_decay=0.0)

    t0 = time.monotonic()
    last_report = -math.inf
    val_every = max(1, config.steps // 10)
    val_loss = None
    n = len(train_set)
    for step in range(config.steps):
        lr = base.lr_at(step, config.steps, config.lr)
        for group in opt.param_groups:
            group["lr"] = lr
        rows = torch.from_numpy(rng.integers(0, n, config.batch))
        p = {k: v[None] for k, v in {**fixed, **params}.items()}
        pred = model._core(train_set.x[rows][None], p)[0]
        loss = base.masked_loss(pred, train_set.target[rows], train_set.mask[rows], weights)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if (step + 1) % val_every == 0:
            with torch.no_grad():
                p = {k: v[None] for k, v in {**fixed, **params}.items()}
                m = min(len(val_set), 4096)
                val_loss = base.masked_loss(model._core(val_set.x[None, :m], p)[0], val_set.target[:m], val_set.mask[:m], weights).item()
        now = time.monotonic()
        if now - last_report >= 0.5 or step + 1 == config.steps:
            last_report = now
            done = (step + 1) / config.steps
            eta = (now - t0) / (step + 1) * (config.steps - step - 1)
            val_s = f", val {val_loss:.4f}" if val_loss is not None else ""
            # Training is ~95 % of the work; export and checks the rest.
            report(0.02 + 0.92 * done, f"adapting {new_tag}: step {step + 1}/{config.steps}, loss {loss.item():.4f}{val_s}", eta + 5.0)

    with torch.no_grad():
        for k, v in params.items():
            model.body[k][index] = v.detach()
    for p in model.parameters():
        p.requires_grad_(True)
    model.eval()
    _assert_others_unchanged(old, model)

    report(0.95, "exporting and checking the ONNX", 5.0)
    train_seconds = time.monotonic() - t0
    body_metrics = base.body_metrics(model, index, val_set, weights)
    table = {**table, new_tag: index}
    metrics = {
        "tag": new_tag,
        "index": index,
        "fine_tune": config.fine_tune,
        "steps": config.steps,
        "trained_parameters": int(sum(p.numel() for p in params.values())),
        "init_from": next((t for t, i in table.items() if i == init_from), None),
        "init_loss": init_loss,
        "train_samples": len(train_set),
        "val_samples": len(val_set),
        "train_seconds": round(train_seconds, 1),
        **body_metrics,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = out_dir / "policy.onnx"
    metrics["export_max_abs_diff"] = base.export_checked(model, onnx_path, _export_example(demos, model.embodiments))
    metrics["seconds"] = round(time.monotonic() - t_start, 1)

    bodies = {**ckpt.get("bodies", {}), new_tag: {**demos.describe(0), "origin": "adapted", "fine_tune": config.fine_tune}}
    held_out = list(ckpt.get("held_out", []))
    now = datetime.now(UTC).isoformat(timespec="seconds")
    history = [*ckpt.get("history", []), {"event": "adapt", "bodies": [new_tag], "at": now, "fine_tune": config.fine_tune}]
    sidecar = base.sidecar_for(
        model,
        table,
        onnx_path,
        bodies=bodies,
        held_out=held_out,
        val_loss=body_metrics["val_loss"],
        metrics={**ckpt.get("metrics", {}), "adapt": {**ckpt.get("metrics", {}).get("adapt", {}), new_tag: metrics}},
        train_config=ckpt.get("train_config", {}),
        adapt_config=asdict(config),
        demos=[*ckpt.get("demos", []), *demos.sources] if "demos" in ckpt else demos.sources,
        base_checkpoint=base_checkpoint.name,
    )
    sidecar_path = onnx_path.with_suffix(".json")
    base.write_sidecar(sidecar_path, sidecar)
    checkpoint_path = onnx_path.with_suffix(".pt")
    base.save_checkpoint(
        checkpoint_path,
        model,
        table,
        bodies=bodies,
        held_out=held_out,
        train_config=ckpt.get("train_config", {}),
        metrics=sidecar["metrics"],
        history=history,
    )
    report(1.0, f"adapted {new_tag}: val MAE {body_metrics['val_mae_rad'] * 1000:.1f} mrad", 0.0)
    return AdaptResult(onnx_path, sidecar_path, checkpoint_path, new_tag, index, metrics)


def _assert_others_unchanged(old: GeneralistPolicy, new: GeneralistPolicy) -> None:
    """Every shared weight and every other body's row is exactly what the base had."""
    rows = old.embodiments
    new_state = new.state_dict()
    for key, value in old.state_dict().items():
        got = new_state[key]
        same = torch.equal(got[:rows], value) if key.startswith("body.") or key in STATISTICS else torch.equal(got, value)
        if not same:
            raise RuntimeError(f"adaptation changed {key} outside the new body's row (a bug)")


def _export_example(demos: Demos, embodiments: int, rows: int = 48) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The new body's states, routed to every row of the table (the check covers all bodies)."""
    take = np.linspace(0, len(demos) - 1, rows).astype(int)
    e = (np.arange(rows) % embodiments).astype(np.int64)
    e[: rows // 2] = embodiments - 1
    return (
        torch.from_numpy(demos.state[take].copy()),
        torch.from_numpy(demos.goal[take].copy()),
        torch.from_numpy(e[:, None]),
    )


def _stderr_bar(fraction: float, message: str, eta_s: float) -> None:
    width = 30
    fill = int(round(fraction * width))
    end = "\n" if fraction >= 1.0 else ""
    print(f"\r[{'#' * fill}{'.' * (width - fill)}] {fraction * 100:5.1f} % eta {eta_s:4.0f} s  {message}   ", end=end, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    d = AdaptConfig()
    parser = argparse.ArgumentParser(
        prog="python -m robosoul_motion.training.adapt",
        description="Add a never-seen body to the generalist policy: train its adapter with everything else frozen.",
    )
    parser.add_argument("--base", type=Path, required=True, help="the base policy.pt (train.py or an earlier adapt)")
    parser.add_argument("--demos", type=Path, nargs="+", required=True, help="the new body's demonstrations (.npz or directory)")
    parser.add_argument("--tag", required=True, help="the new body's embodiment tag")
    parser.add_argument("--out", type=Path, required=True, help="output directory for policy.onnx, policy.json, policy.pt")
    parser.add_argument("--steps", type=int, default=d.steps, help="optimiser steps (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=d.seed, help="random seed (default: %(default)s)")
    parser.add_argument("--fine-tune", action="store_true", help="also train the body's low-rank correction of the trunk")
    parser.add_argument("--init", choices=("nearest", "fresh"), default=d.init, help="adapter initialisation (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error(f"--steps must be >= 1, got {args.steps}")
    try:
        result = adapt(
            args.base,
            args.demos,
            args.tag,
            out_dir=args.out,
            fine_tune=args.fine_tune,
            seed=args.seed,
            config=replace(d, steps=args.steps, init=args.init),
            progress=_stderr_bar,
        )
    except RoboSoulError as exc:
        parser.error(str(exc))
    m = result.metrics
    print(
        f"wrote {result.onnx} ({result.tag} at index {result.index}, from {m['init_from']}, "
        f"val MAE {m['val_mae_rad'] * 1000:.2f} mrad, {m['seconds']} s)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
