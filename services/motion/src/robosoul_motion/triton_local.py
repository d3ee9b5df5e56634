"""Run the Triton server bundled in `nvidia-pytriton` on this machine.

    server = prepare_server(Path("build"))
    argv, env = triton_command(server, repo, grpc_port=8001, http_port=8000, metrics_port=8002)
    # start argv with env (robosoul_devstack.procs.ManagedProcess), then:
    wait_until_ready("127.0.0.1:8001", ["robosoul_policy"])

Three things make the standalone binary work (see FACTS.md, "Triton"):

- the wheel's server tree is copied to a directory of our own with the python
  backend stub for this interpreter's version in `backends/python/`;
- `LD_LIBRARY_PATH` holds the wheel's `nvidia_pytriton.libs` (the server's
  bundled shared libraries) and this interpreter's LIBDIR (the stub embeds
  libpython3.X and must get the same build as the environment's modules);
- `PATH` starts with this environment's `bin/`: the stub finds its
  site-packages from the `python3` it sees first (PYTHONPATH is ignored).

Every listener is bound to 127.0.0.1. See `triton_command` before enabling
Triton's own OpenTelemetry tracing.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import shutil
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException

LOOPBACK = "127.0.0.1"
_STAMP = ".robosoul-prepared.json"


def _pytriton_dir() -> Path:
    spec = importlib.util.find_spec("pytriton")  # locate without importing (its import is heavy)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("nvidia-pytriton is not installed: pip install 'robosoul-motion[triton]'")
    return Path(next(iter(spec.submodule_search_locations)))


def bundled_libs_dir() -> Path:
    """The shared libraries the bundled server links against (`nvidia_pytriton.libs`)."""
    return _pytriton_dir().parent / "nvidia_pytriton.libs"


def _fingerprint() -> dict:
    src = _pytriton_dir() / "tritonserver"
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    stub = src / "python_backend_stubs" / python / "triton_python_backend_stub"
    return {
        "pytriton": importlib.metadata.version("nvidia-pytriton"),
        "python": python,
        "source": str(src),
        # Cheap content check: a reinstall of the same version in place keeps these.
        "sizes": [(src / "bin" / "tritonserver").stat().st_size, stub.stat().st_size],
    }


def prepare_server(build_dir: Path) -> Path:
    """Copy the bundled server and this Python's backend stub to `<build_dir>/tritonserver`.

    Idempotent: a copy made from the same pytriton install (version, Python
    version, source, file sizes) is reused at the cost of one small file read;
    a stale one is replaced. The copy is assembled beside the target and renamed
    into place, so concurrent callers never see a partial server.
    """
    build_dir = Path(build_dir)
    target = build_dir / "tritonserver"
    want = _fingerprint()
    try:
        if json.loads((target / _STAMP).read_text()) == want:
            return target
    except (OSError, ValueError):
        pass

    src = _pytriton_dir() / "tritonserver"
    stub = src / "python_backend_stubs" / want["python"] / "triton_python_backend_stub"
    if not stub.exists():
        raise RuntimeError(f"nvidia-pytriton {want['pytriton']} has no python backend stub for Python {want['python']}")
    build_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".tritonserver-", dir=build_dir))
    try:
        tree = staging / "tritonserver"
        shutil.copytree(src, tree, ignore=shutil.ignore_patterns("python_backend_stubs", "__pycache__"))
        shutil.copy2(stub, tree / "backends" / "python" / "triton_python_backend_stub")
        (tree / _STAMP).write_text(json.dumps(want))
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=".tritonserver-old-", dir=build_dir))
            os.rename(target, old / "tritonserver")
            shutil.rmtree(old, ignore_errors=True)
        try:
            os.rename(tree, target)
        except OSError:
            # Another process won the race; its copy has the same fingerprint.
            if not (target / _STAMP).exists():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def triton_command(
    server_dir: Path,
    repo_dir: Path,
    *,
    grpc_port: int,
    http_port: int,
    metrics_port: int,
    trace_url: str | None = None,
    trace_rate: int = 1,
    trace_service_name: str = "triton",
    trace_export_delay_ms: int = 200,
    model_control: str = "explicit",
    load_models: Iterable[str] = ("robosoul_policy",),
    poll_secs: int = 5,
    base_env: Mapping[str, str] | None = None,
    extra_args: Sequence[str] = (),
) -> tuple[list[str], dict[str, str]]:
    """The argv and environment that run the prepared server on `repo_dir`.

    With `trace_url` (an OTLP/HTTP endpoint, e.g. ``http://127.0.0.1:4318/v1/traces``)
    Triton exports OpenTelemetry spans (level TIMESTAMPS: InferRequest > model >
    compute) for one in `trace_rate` requests, and for every request whose gRPC
    metadata carries a W3C ``traceparent`` (sampled flag or not), as children of
    the caller's span. ``trace_rate=0`` traces only those. Exports are OTLP/HTTP
    **JSON** (the receiver must accept ``application/json``), one batch every
    `trace_export_delay_ms`.

    Known faults of Triton 2.51 (the version bundled in nvidia-pytriton 0.7.0),
    reproduced here: traced requests that meet in one dynamic batch crash the
    server (SIGSEGV or heap corruption within seconds at two concurrent clients;
    compare triton-inference-server/server#7795), and with ``trace_rate=0`` about
    1-4 % of propagated traces are never exported. Tracing is for debugging with
    one request at a time; leave `trace_url` unset under concurrent load.
    """
    server_dir, repo_dir = Path(server_dir).resolve(), Path(repo_dir).resolve()
    argv = [
        str(server_dir / "bin" / "tritonserver"),
        f"--model-repository={repo_dir}",
        f"--backend-directory={server_dir / 'backends'}",
        f"--cache-directory={server_dir / 'caches'}",
        f"--model-control-mode={model_control}",
        f"--grpc-address={LOOPBACK}",
        f"--grpc-port={grpc_port}",
        f"--http-address={LOOPBACK}",
        f"--http-port={http_port}",
        "--allow-metrics=true",
        "--allow-gpu-metrics=false",
        f"--metrics-address={LOOPBACK}",
        f"--metrics-port={metrics_port}",
        "--strict-readiness=true",
        "--exit-on-error=true",
        # SIGTERM waits this long for in-flight requests before exiting.
        "--exit-timeout-secs=5",
        "--log-verbose=0",
    ]
    if model_control == "explicit":
        argv += [f"--load-model={name}" for name in load_models]
    elif model_control == "poll":
        argv.append(f"--repository-poll-secs={poll_secs}")
    elif model_control != "none":
        raise ValueError(f"model_control must be explicit, poll or none, not {model_control!r}")
    if trace_url:
        argv += [
            "--trace-config=mode=opentelemetry",
            "--trace-config=level=TIMESTAMPS",
            f"--trace-config=rate={trace_rate}",
            "--trace-config=count=-1",
            f"--trace-config=opentelemetry,url={trace_url}",
            f"--trace-config=opentelemetry,resource=service.name={trace_service_name}",
            f"--trace-config=opentelemetry,bsp_schedule_delay={trace_export_delay_ms}",
        ]
    argv += list(extra_args)

    env = dict(os.environ if base_env is None else base_env)
    python_bin = Path(sys.executable).parent  # not resolved: a venv's bin/ holds the venv's python3
    env["PATH"] = os.pathsep.join([str(python_bin), env.get("PATH", "")]).rstrip(os.pathsep)
    libs = [str(bundled_libs_dir()), sysconfig.get_config_var("LIBDIR") or ""]
    env["LD_LIBRARY_PATH"] = os.pathsep.join(p for p in [*libs, env.get("LD_LIBRARY_PATH", "")] if p)
    return argv, env


def is_ready(url: str, models: Iterable[str] = ("robosoul_policy",), timeout: float = 1.0) -> bool:
    """True when the server at `url` (gRPC host:port) is ready and so is each model."""
    try:
        with grpcclient.InferenceServerClient(url) as client:
            return client.is_server_ready(client_timeout=timeout) and all(
                client.is_model_ready(name, client_timeout=timeout) for name in models
            )
    except InferenceServerException:
        return False


def wait_until_ready(url: str, models: Iterable[str] = ("robosoul_policy",), timeout: float = 60.0) -> None:
    models = list(models)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if is_ready(url, models):
            return
        time.sleep(0.1)
    raise TimeoutError(f"Triton at {url} not ready with {models} after {timeout:.0f} s")
