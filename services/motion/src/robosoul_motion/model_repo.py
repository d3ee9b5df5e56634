"""Build and extend the Triton model repository that serves the motion policy.

    >>> version = publish(repo, Path("build/policy/generalist/policy.onnx"))  # doctest: +SKIP

writes ::

    <repo>/robosoul_policy/config.pbtxt
    <repo>/robosoul_policy/<version>/{model.py, policy.onnx, policy.json[, policy.pt]}

A version directory is assembled under a hidden staging name inside the model
directory and renamed into place, so a Triton that polls the repository or is
told to load the model never sees a half-written version (rename within one
file system is atomic; Triton skips directory names that are not integers).
Published versions are never overwritten. Command line::

    python -m robosoul_motion.model_repo publish --repo DIR --onnx PATH
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from robosoul_core import policy_io as io
from robosoul_core.errors import InvalidArgument

DEFAULT_MODEL_NAME = "robosoul_policy"
MODEL_FILE = Path(__file__).parent / "triton_model" / "model.py"

# Dynamic batching. Measured on the 2-core dev machine (bundled Triton 2.51,
# python backend): a batch-1 gRPC round trip takes ~1.3 ms with no queue delay,
# of which the ONNX run is well under 0.2 ms; the rest is per-execution overhead
# (scheduler, python-backend IPC) that a batch shares. Requests that arrive while
# an execution is running queue and are batched together anyway, so a queue
# delay only adds waiting when the server is idle. In bench/control_loop.py
# (50 robots at 50 Hz re-requesting every 8 steps, ~290 req/s) 0 us gave chunk
# p50/p99 of 7.7/18.6 ms against 8.7/22.7 ms with 500 us, and the idle round
# trip 1.3 ms against 1.9 ms. So: no added delay; batches form under load.
# A GPU instance, where one execution is costlier and batches pay more, should
# re-measure (publish(..., max_queue_delay_us=...)). Preferred sizes dispatch a
# burst at once when it fills a quarter, half or all of max_batch_size.
DEFAULT_MAX_QUEUE_DELAY_US = 0
DEFAULT_MAX_BATCH_SIZE = 64


class PolicyPackageError(InvalidArgument):
    """The ONNX file or its sidecar does not fit the policy contract."""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_sidecar(onnx_path: Path, sidecar_path: Path | None = None) -> dict:
    """Read and check `policy.json` (default: the ONNX path with `.json`)."""
    sidecar_path = Path(sidecar_path) if sidecar_path else Path(onnx_path).with_suffix(".json")
    try:
        meta = json.loads(sidecar_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PolicyPackageError(f"{sidecar_path}: the policy's sidecar is missing (export writes it next to the ONNX)") from None
    except json.JSONDecodeError as exc:
        raise PolicyPackageError(f"{sidecar_path}: not valid JSON ({exc})") from None
    table = meta.get("embodiments")
    if not isinstance(table, dict) or not table:
        raise PolicyPackageError(f"{sidecar_path}: 'embodiments' must map embodiment names to indices")
    if not all(isinstance(k, str) and k.isprintable() and isinstance(v, int) and v >= 0 for k, v in table.items()):
        raise PolicyPackageError(f"{sidecar_path}: 'embodiments' must map printable names to non-negative integers")
    for key, expected in (("horizon", io.HORIZON), ("max_dof", io.MAX_DOF), ("step_s", io.STEP_S)):
        if key in meta and meta[key] != expected:
            raise PolicyPackageError(f"{sidecar_path}: {key}={meta[key]} but the serving contract has {expected}")
    if "sha256" in meta and meta["sha256"] != sha256_file(Path(onnx_path)):
        raise PolicyPackageError(f"{sidecar_path}: sha256 does not match {onnx_path} (a stale or mixed export)")
    return meta


def check_onnx(onnx_path: Path, embodiment_index: int) -> None:
    """Check the ONNX file's tensors against policy_io and run it once on a batch of 2."""
    import onnxruntime as ort  # the `triton` extra; imported here so the service does not need it

    try:
        session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise PolicyPackageError(f"{onnx_path}: onnxruntime cannot load it ({exc})") from None
    want_in = {
        io.INPUT_STATE: ("tensor(float)", [io.STATE_DIM]),
        io.INPUT_GOAL: ("tensor(float)", [io.GOAL_DIM]),
        io.INPUT_EMBODIMENT: ("tensor(int64)", [1]),
    }
    want_out = {io.OUTPUT_ACTIONS: ("tensor(float)", [io.HORIZON, io.MAX_DOF])}
    for kind, want, got in (("input", want_in, session.get_inputs()), ("output", want_out, session.get_outputs())):
        got = {t.name: t for t in got}
        for name, (dtype, dims) in want.items():
            t = got.get(name)
            if t is None:
                raise PolicyPackageError(f"{onnx_path}: no {kind} '{name}' (has {sorted(got)})")
            if t.type != dtype or list(t.shape[1:]) != dims:
                raise PolicyPackageError(
                    f"{onnx_path}: {kind} '{name}' is {t.type}{t.shape}, the contract needs {dtype}[B, {dims}]"
                )
            if isinstance(t.shape[0], int):
                raise PolicyPackageError(
                    f"{onnx_path}: {kind} '{name}' has a fixed batch of {t.shape[0]}; export with a dynamic batch axis"
                )
    feed = {
        io.INPUT_STATE: np.zeros((2, io.STATE_DIM), np.float32),
        io.INPUT_GOAL: np.zeros((2, io.GOAL_DIM), np.float32),
        io.INPUT_EMBODIMENT: np.full((2, 1), embodiment_index, np.int64),
    }
    (actions,) = session.run([io.OUTPUT_ACTIONS], feed)
    if actions.shape != (2, io.HORIZON, io.MAX_DOF) or not np.isfinite(actions).all():
        raise PolicyPackageError(
            f"{onnx_path}: a zero batch of 2 gave actions {actions.dtype}{list(actions.shape)} with non-finite values or wrong shape"
        )


def _pbtxt_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def render_config(
    model_name: str,
    embodiments: dict[str, int],
    *,
    max_batch_size: int = DEFAULT_MAX_BATCH_SIZE,
    max_queue_delay_us: int = DEFAULT_MAX_QUEUE_DELAY_US,
    instances: int = 1,
    ort_threads: int = 1,
) -> str:
    """The model's config.pbtxt: tensors from policy_io, batching, CPU instances, parameters."""
    if not 1 <= max_batch_size <= 4096 or max_queue_delay_us < 0 or instances < 1 or ort_threads < 1:
        raise InvalidArgument("max_batch_size 1..4096, max_queue_delay_us >= 0, instances >= 1 and ort_threads >= 1")
    preferred = sorted({max(1, max_batch_size // 4), max(1, max_batch_size // 2), max_batch_size})
    params = {
        "embodiments": json.dumps(embodiments, ensure_ascii=False, sort_keys=True),
        "ort_intra_op_threads": str(ort_threads),
        "ort_inter_op_threads": "1",
    }
    parameters = "\n".join(
        f"parameters: {{ key: {_pbtxt_str(k)} value: {{ string_value: {_pbtxt_str(v)} }} }}" for k, v in params.items()
    )
    return f"""\
# Written by robosoul_motion.model_repo; edits are overwritten on the next publish.
name: {_pbtxt_str(model_name)}
backend: "python"
max_batch_size: {max_batch_size}
input [
  {{ name: "{io.INPUT_STATE}" data_type: TYPE_FP32 dims: [ {io.STATE_DIM} ] }},
  {{ name: "{io.INPUT_GOAL}" data_type: TYPE_FP32 dims: [ {io.GOAL_DIM} ] }},
  {{ name: "{io.INPUT_EMBODIMENT}" data_type: TYPE_INT64 dims: [ 1 ] }}
]
output [
  {{ name: "{io.OUTPUT_ACTIONS}" data_type: TYPE_FP32 dims: [ {io.HORIZON}, {io.MAX_DOF} ] }}
]
# See DEFAULT_MAX_QUEUE_DELAY_US in model_repo.py for why this delay.
dynamic_batching {{
  max_queue_delay_microseconds: {max_queue_delay_us}
  preferred_batch_size: [ {", ".join(map(str, preferred))} ]
}}
instance_group [ {{ count: {instances} kind: KIND_CPU }} ]
# Only the newest version serves; loading a new one unloads the old once the new is ready.
version_policy: {{ latest: {{ num_versions: 1 }} }}
{parameters}
"""


def versions(model_dir: Path) -> list[int]:
    """The published version numbers under a model directory, ascending."""
    if not model_dir.is_dir():
        return []
    return sorted(int(p.name) for p in model_dir.iterdir() if p.is_dir() and p.name.isdigit() and not p.name.startswith("0"))


def write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def latest_version_dir(repo_dir: Path, model_name: str = DEFAULT_MODEL_NAME) -> Path | None:
    """The newest published version's directory (None if nothing is published)."""
    model_dir = Path(repo_dir) / model_name
    found = versions(model_dir) if model_dir.exists() else []
    return model_dir / str(found[-1]) if found else None


def publish(
    repo_dir: Path,
    onnx_path: Path,
    *,
    model_name: str = DEFAULT_MODEL_NAME,
    version: int | None = None,
    sidecar_path: Path | None = None,
    max_batch_size: int = DEFAULT_MAX_BATCH_SIZE,
    max_queue_delay_us: int = DEFAULT_MAX_QUEUE_DELAY_US,
    instances: int = 1,
    ort_threads: int = 1,
) -> int:
    """Add `onnx_path` (and its sidecar) as a new version of `model_name`; return the version.

    The version defaults to one past the newest published. The model's
    config.pbtxt is rewritten with these settings and the sidecar's embodiment
    table. With Triton in explicit mode, `client.load_model(model_name)` then
    switches to the new version without a restart.
    """
    repo_dir, onnx_path = Path(repo_dir), Path(onnx_path)
    meta = load_sidecar(onnx_path, sidecar_path)
    check_onnx(onnx_path, min(meta["embodiments"].values()))
    config = render_config(
        model_name,
        meta["embodiments"],
        max_batch_size=max_batch_size,
        max_queue_delay_us=max_queue_delay_us,
        instances=instances,
        ort_threads=ort_threads,
    )

    model_dir = repo_dir / model_name
    model_dir.mkdir(parents=True, exist_ok=True)
    existing = versions(model_dir)
    if version is None:
        version = (existing[-1] if existing else 0) + 1
    if version < 1:
        raise InvalidArgument(f"version must be a positive integer, got {version}")
    final = model_dir / str(version)
    if final.exists():
        raise InvalidArgument(f"{final} is already published; versions are never overwritten")

    staging = Path(tempfile.mkdtemp(prefix=f".staging-{version}-", dir=model_dir))
    try:
        shutil.copyfile(MODEL_FILE, staging / "model.py")
        shutil.copyfile(onnx_path, staging / "policy.onnx")
        checkpoint = onnx_path.with_name("policy.pt")
        if checkpoint.exists():
            # Triton ignores it; onboarding extends the newest version from it.
            shutil.copyfile(checkpoint, staging / "policy.pt")
        meta = {**meta, "sha256": meta.get("sha256") or sha256_file(onnx_path)}
        (staging / "policy.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        staging.chmod(0o755)
        # rename() refuses a non-empty target, so two racing publishers cannot both win.
        os.rename(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    write_atomic(model_dir / "config.pbtxt", config)
    return version


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m robosoul_motion.model_repo", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("publish", help="add an ONNX policy as the next version of the model")
    p.add_argument("--repo", type=Path, required=True, help="model repository directory")
    p.add_argument("--onnx", type=Path, required=True, help="policy.onnx (its sidecar: same path with .json)")
    p.add_argument("--sidecar", type=Path, default=None, help="policy.json, if not next to the ONNX")
    p.add_argument("--model-name", default=DEFAULT_MODEL_NAME)
    p.add_argument("--version", type=int, default=None, help="default: one past the newest")
    p.add_argument("--max-batch-size", type=int, default=DEFAULT_MAX_BATCH_SIZE)
    p.add_argument("--max-queue-delay-us", type=int, default=DEFAULT_MAX_QUEUE_DELAY_US)
    p.add_argument("--instances", type=int, default=1)
    p.add_argument("--ort-threads", type=int, default=1)
    args = parser.parse_args(argv)
    try:
        version = publish(
            args.repo,
            args.onnx,
            model_name=args.model_name,
            version=args.version,
            sidecar_path=args.sidecar,
            max_batch_size=args.max_batch_size,
            max_queue_delay_us=args.max_queue_delay_us,
            instances=args.instances,
            ort_threads=args.ort_threads,
        )
    except InvalidArgument as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"published {args.model_name} version {version} in {args.repo}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
