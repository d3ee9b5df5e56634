"""RoboSoul on one machine: NATS, Triton, motion and gateway as tracked processes.

Used by `make demo`, the integration tests and the benchmarks. Every process is
started here and stopped here by PID; a NATS already answering at the given
URL is reused (and left running), otherwise one is started on a free port.

    with LocalStack(StackConfig(work_dir=Path("build/stack"), policy=Path("build/policy/generalist/policy.onnx"))) as stack:
        key = stack.create_api_key("acme")
        ...  # RoboSoulClient(stack.gateway_target, key)
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from robosoul_core.config import NatsConfig
from robosoul_devstack.procs import ManagedProcess, free_port, free_ports, port_open, start_nats_server
from robosoul_motion import model_repo, triton_local

log = logging.getLogger(__name__)

MODEL_NAME = model_repo.DEFAULT_MODEL_NAME


@dataclass
class StackConfig:
    work_dir: Path
    policy: Path
    # Reuse this NATS if it answers; otherwise start one on a free port.
    nats_url: str | None = None
    # OTLP/HTTP endpoint for every service (e.g. a TraceSink's).
    otlp_endpoint: str | None = None
    # Triton's own spans too. Off by default: Triton 2.51 (the binary in pytriton)
    # can crash when traced requests meet in one dynamic batch (see
    # robosoul_motion.triton_local.triton_command); safe at one request at a time.
    trace_triton: bool = False
    # Triton's dynamic batching window (see model_repo for the default's rationale).
    max_queue_delay_us: int | None = None
    # Triton model instances (each runs one batch at a time).
    triton_instances: int = 1
    motion_replicas: int = 1
    # The simulation service (model validation, onboarding jobs), with its
    # settings as ROBOSOUL_SIMULATION_* overrides (e.g. {"DEMO_EPISODES": "50"}).
    simulation: bool = False
    simulation_env: dict[str, str] = field(default_factory=dict)
    # The language service, with its settings as ROBOSOUL_LANGUAGE_* overrides.
    language: bool = False
    language_env: dict[str, str] = field(default_factory=dict)
    # The embedded small model's server (llama.cpp + Gemma 3 270M) as its own process;
    # the language service is pointed at it.
    llm: bool = False
    # The voice service (needs the language service to answer).
    voice: bool = False
    # The perception service (camera and depth frames -> scenes), with its settings as
    # ROBOSOUL_PERCEPTION_* overrides (e.g. {"PEOPLE_INTERVAL_MS": "0"}).
    perception: bool = False
    perception_env: dict[str, str] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)
    log_level: str = "WARNING"


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=0.5) as resp:  # noqa: S310 - loopback URL we built
            return resp.status == 200
    except OSError:
        return False


def start_llm_server(work_dir: Path, *, log_dir: Path, threads: int = 2) -> tuple[ManagedProcess, str]:
    """The embedded small model's server as a tracked process; returns it and its OpenAI base URL."""
    import json

    from robosoul_language.llm_server import command, model_path, server_config

    port = free_port()
    config_file = Path(work_dir) / "llm-server.json"
    config_file.write_text(json.dumps(server_config(model_path(), host="127.0.0.1", port=port, threads=threads)))
    url = f"http://127.0.0.1:{port}/v1"
    proc = ManagedProcess(
        "llm", command(config_file), log_dir=log_dir,
        ready=lambda: _http_ok(f"{url}/models"),
    )
    return proc.start(timeout=120), url


def _nats_answers(url: str) -> bool:
    host_port = url.split("://", 1)[-1].rsplit("@", 1)[-1]
    host, _, port = host_port.partition(":")
    return port_open(host or "127.0.0.1", int(port or 4222))


class LocalStack:
    def __init__(self, config: StackConfig):
        self.config = config
        self.work_dir = Path(config.work_dir).resolve()
        self.logs = self.work_dir / "logs"
        self.processes: dict[str, ManagedProcess] = {}
        self.nats_url = ""
        self.triton_grpc = ""
        self.gateway_target = ""
        self.gateway_metrics = ""
        self.motion_metrics: list[str] = []
        self.model_repo = self.work_dir / "model_repository"
        self.llm_url = ""

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> LocalStack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        self._start_nats()
        self._start_triton()
        for i in range(self.config.motion_replicas):
            self.start_motion(i)
        if self.config.simulation:
            self.start_simulation()
        if self.config.llm:
            self.start_llm()
        if self.config.language:
            self.start_language()
        if self.config.voice:
            self.start_voice()
        if self.config.perception:
            self.start_perception()
        self._start_gateway()

    def stop(self) -> None:
        for name in reversed(list(self.processes)):
            self.processes[name].stop()
        self.processes.clear()

    def _service_env(self, service: str, metrics_port: int) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "NATS_URL": self.nats_url,
            "ROBOSOUL_METRICS_PORT": str(metrics_port),
            "ROBOSOUL_LOG_LEVEL": self.config.log_level,
            "OTEL_EXPORTER_OTLP_ENDPOINT": self.config.otlp_endpoint or "",
            "OTEL_BSP_SCHEDULE_DELAY_S": "0.2",
            "PYTHONUNBUFFERED": "1",
        })
        env.update(self.config.extra_env)
        return env

    def _start_nats(self) -> None:
        url = self.config.nats_url
        if url and _nats_answers(url):
            self.nats_url = url
            log.info("using the NATS at %s", url)
            return
        store = self.work_dir / "nats"
        shutil.rmtree(store, ignore_errors=True)
        self.processes["nats"], self.nats_url = start_nats_server(store, log_dir=self.logs, name="nats")

    def _start_triton(self) -> None:
        server_dir = triton_local.prepare_server(self.work_dir.parent / "tritonserver")
        repo = self.model_repo = self.work_dir / "model_repository"
        shutil.rmtree(repo, ignore_errors=True)
        kwargs = {}
        if self.config.max_queue_delay_us is not None:
            kwargs["max_queue_delay_us"] = self.config.max_queue_delay_us
        model_repo.publish(repo, self.config.policy, model_name=MODEL_NAME, instances=self.config.triton_instances, **kwargs)
        grpc_port, http_port, metrics_port = free_ports(3)
        trace_url = None
        if self.config.otlp_endpoint and self.config.trace_triton:
            trace_url = f"{self.config.otlp_endpoint.rstrip('/')}/v1/traces"
        # rate=1: every request is traced (rate=0, "only those with a traceparent",
        # loses a few percent of traces in this Triton); motion sends none unsampled.
        argv, env = triton_local.triton_command(
            server_dir, repo, grpc_port=grpc_port, http_port=http_port, metrics_port=metrics_port,
            trace_url=trace_url, trace_rate=1, load_models=(MODEL_NAME,),
        )
        self.triton_grpc = f"127.0.0.1:{grpc_port}"
        proc = ManagedProcess(
            "triton", argv, env=env, log_dir=self.logs,
            ready=lambda: _http_ok(f"http://127.0.0.1:{http_port}/v2/models/{MODEL_NAME}/ready"),
        )
        self.processes["triton"] = proc.start(timeout=120)

    def start_motion(self, replica: int = 0) -> ManagedProcess:
        name = f"motion-{replica}"
        metrics_port = free_port()
        env = self._service_env("motion", metrics_port)
        env.update({"ROBOSOUL_MOTION_TRITON_URL": self.triton_grpc, "ROBOSOUL_MOTION_MODEL_NAME": MODEL_NAME})
        proc = ManagedProcess(
            name, [sys.executable, "-m", "robosoul_motion"], env=env, log_dir=self.logs,
            ready=lambda: _http_ok(f"http://127.0.0.1:{metrics_port}/healthz"),
        )
        self.processes[name] = proc.start(timeout=60)
        url = f"http://127.0.0.1:{metrics_port}"
        if len(self.motion_metrics) > replica:
            self.motion_metrics[replica] = url
        else:
            self.motion_metrics.append(url)
        return proc

    def _start_service(self, name: str, *, env: dict[str, str] | None = None, timeout: float = 60) -> ManagedProcess:
        """`python -m robosoul_<name>` with the stack's environment plus `env`, ready when its /healthz answers."""
        metrics_port = free_port()
        full = self._service_env(name, metrics_port)
        full.update(env or {})
        proc = ManagedProcess(
            name, [sys.executable, "-m", f"robosoul_{name}"], env=full, log_dir=self.logs,
            ready=lambda: _http_ok(f"http://127.0.0.1:{metrics_port}/healthz"),
        )
        self.processes[name] = proc.start(timeout=timeout)
        return proc

    @staticmethod
    def _overrides(service: str, values: dict[str, str]) -> dict[str, str]:
        return {f"ROBOSOUL_{service.upper()}_{k}": v for k, v in values.items()}

    def start_simulation(self) -> ManagedProcess:
        """The simulation service, publishing into the same model repository Triton serves."""
        return self._start_service("simulation", env={
            "ROBOSOUL_SIMULATION_WORK_DIR": str(self.work_dir / "simulation"),
            "ROBOSOUL_SIMULATION_MODEL_REPO": str(self.model_repo),
            "ROBOSOUL_SIMULATION_MODEL_NAME": MODEL_NAME,
            "ROBOSOUL_SIMULATION_TRITON_URL": self.triton_grpc,
            **self._overrides("simulation", self.config.simulation_env),
        })

    def start_llm(self) -> ManagedProcess:
        """llama.cpp's OpenAI-compatible server with the bundled Gemma 3 270M (assembled on first use)."""
        self.processes["llm"], self.llm_url = start_llm_server(self.work_dir, log_dir=self.logs)
        return self.processes["llm"]

    def start_language(self) -> ManagedProcess:
        env = {"ROBOSOUL_LANGUAGE_LLM_URL": self.llm_url} if self.llm_url else {}
        return self._start_service("language", env={**env, **self._overrides("language", self.config.language_env)}, timeout=120)

    def start_voice(self) -> ManagedProcess:
        return self._start_service("voice", timeout=120)

    def start_perception(self) -> ManagedProcess:
        """The perception service; people detection runs when `.venv-perception` exists (scenes without people otherwise)."""
        return self._start_service("perception", env=self._overrides("perception", self.config.perception_env))

    def _start_gateway(self) -> None:
        port, metrics_port = free_ports(2)
        env = self._service_env("gateway", metrics_port)
        env["ROBOSOUL_GATEWAY_LISTEN"] = f"127.0.0.1:{port}"
        proc = ManagedProcess(
            "gateway", [sys.executable, "-m", "robosoul_gateway"], env=env, log_dir=self.logs,
            ready=lambda: _http_ok(f"http://127.0.0.1:{metrics_port}/healthz") and port_open("127.0.0.1", port),
        )
        self.processes["gateway"] = proc.start(timeout=60)
        self.gateway_target = f"127.0.0.1:{port}"
        self.gateway_metrics = f"http://127.0.0.1:{metrics_port}"

    # ------------------------------------------------------------------ helpers

    def create_api_key(self, tenant: str, role: str = "operator") -> str:
        """Issue a key the way `robosoul-admin create-key` does (same code path)."""
        from robosoul_gateway.admin import ROLES, open_store

        async def create() -> str:
            nc, store = await open_store(NatsConfig(url=self.nats_url))
            try:
                _, key = await store.create(tenant, ROLES[role], "local stack")
                return key
            finally:
                await nc.close()

        return asyncio.run(create()) if not _in_loop() else _run_in_thread(create)


def _in_loop() -> bool:
    try:
        asyncio.get_running_loop()
        return True
    except RuntimeError:
        return False


def _run_in_thread(factory):
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(factory())).result()

