"""Test helpers, as fixtures: a tiny policy that fits the contract, a real Triton
server started on free loopback ports, and an OTLP/HTTP receiver.

(With pytest's importlib import mode test modules cannot import this file, so
everything they use is a fixture.)
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from robosoul_core import policy_io as io
from robosoul_devstack.procs import ManagedProcess, free_ports
from robosoul_devstack.trace_sink import TraceSink
from robosoul_motion.model_repo import DEFAULT_MODEL_NAME
from robosoul_motion.triton_local import is_ready, prepare_server, triton_command

EMBODIMENTS = {"rs-arm4": 0, "rs-arm6": 1}


def build_policy(path: Path, *, seed: int, embodiments: dict[str, int] = EMBODIMENTS, hidden: int = 64) -> Path:
    """Write a small random MLP with the policy's tensor contract, and its sidecar.

    actions = reshape(W2 tanh(W1 [state, goal] + b1 + E[embodiment]) + b2); the
    embodiment picks a row of E, like the per-body adapters of the real policy.
    """
    rng = np.random.default_rng(seed)
    width = io.STATE_DIM + io.GOAL_DIM
    weights = {
        "W1": rng.normal(0, 0.3, (width, hidden)).astype(np.float32),
        "b1": rng.normal(0, 0.1, (hidden,)).astype(np.float32),
        "E": rng.normal(0, 0.3, (max(embodiments.values()) + 1, hidden)).astype(np.float32),
        "W2": rng.normal(0, 0.3, (hidden, io.HORIZON * io.MAX_DOF)).astype(np.float32),
        "b2": rng.normal(0, 0.1, (io.HORIZON * io.MAX_DOF,)).astype(np.float32),
        "out_shape": np.array([-1, io.HORIZON, io.MAX_DOF], np.int64),
        "axis1": np.array([1], np.int64),
    }
    nodes = [
        helper.make_node("Concat", [io.INPUT_STATE, io.INPUT_GOAL], ["x"], axis=1),
        helper.make_node("MatMul", ["x", "W1"], ["xw"]),
        helper.make_node("Add", ["xw", "b1"], ["xb"]),
        helper.make_node("Squeeze", [io.INPUT_EMBODIMENT, "axis1"], ["body"]),
        helper.make_node("Gather", ["E", "body"], ["adapter"], axis=0),
        helper.make_node("Add", ["xb", "adapter"], ["pre"]),
        helper.make_node("Tanh", ["pre"], ["h"]),
        helper.make_node("MatMul", ["h", "W2"], ["hw"]),
        helper.make_node("Add", ["hw", "b2"], ["flat"]),
        helper.make_node("Reshape", ["flat", "out_shape"], [io.OUTPUT_ACTIONS]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny_policy",
        [
            helper.make_tensor_value_info(io.INPUT_STATE, TensorProto.FLOAT, ["B", io.STATE_DIM]),
            helper.make_tensor_value_info(io.INPUT_GOAL, TensorProto.FLOAT, ["B", io.GOAL_DIM]),
            helper.make_tensor_value_info(io.INPUT_EMBODIMENT, TensorProto.INT64, ["B", 1]),
        ],
        [helper.make_tensor_value_info(io.OUTPUT_ACTIONS, TensorProto.FLOAT, ["B", io.HORIZON, io.MAX_DOF])],
        [numpy_helper.from_array(v, k) for k, v in weights.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    sidecar = {"embodiments": embodiments, "horizon": io.HORIZON, "step_s": io.STEP_S, "max_dof": io.MAX_DOF, "seed": seed}
    path.with_suffix(".json").write_text(json.dumps(sidecar))
    return path


def random_batch(rng: np.random.Generator, n: int, embodiment: int | None = None) -> dict[str, np.ndarray]:
    ids = sorted(EMBODIMENTS.values())
    return {
        io.INPUT_STATE: rng.normal(0, 1, (n, io.STATE_DIM)).astype(np.float32),
        io.INPUT_GOAL: rng.normal(0, 1, (n, io.GOAL_DIM)).astype(np.float32),
        io.INPUT_EMBODIMENT: (
            np.full((n, 1), embodiment, np.int64) if embodiment is not None else rng.choice(ids, (n, 1)).astype(np.int64)
        ),
    }


@pytest.fixture(scope="session")
def make_batch():
    """`make_batch(rng, n, embodiment=None)`: random contract inputs for n robots."""
    return random_batch


def _infer_inputs(module, batch: dict[str, np.ndarray]) -> list:
    inputs = []
    for name, array in batch.items():
        tensor = module.InferInput(name, list(array.shape), "INT64" if array.dtype == np.int64 else "FP32")
        tensor.set_data_from_numpy(array)
        inputs.append(tensor)
    return inputs


@pytest.fixture(scope="session")
def infer_inputs():
    """`infer_inputs(tritonclient.grpc or .grpc.aio, batch)`: the batch as InferInput tensors."""
    return _infer_inputs


@pytest.fixture(scope="session")
def embodiments() -> dict[str, int]:
    return dict(EMBODIMENTS)


@pytest.fixture(scope="session")
def policy_v1(tmp_path_factory) -> Path:
    return build_policy(tmp_path_factory.mktemp("policy-v1") / "policy.onnx", seed=1)


@pytest.fixture(scope="session")
def policy_v2(tmp_path_factory) -> Path:
    return build_policy(tmp_path_factory.mktemp("policy-v2") / "policy.onnx", seed=2)


@pytest.fixture(scope="session")
def otlp_receiver():
    """An OTLP/HTTP receiver (protobuf and JSON) on a free port: robosoul_devstack's TraceSink."""
    with TraceSink() as sink:
        yield sink


@dataclass
class TritonHandle:
    url: str  # gRPC host:port
    process: ManagedProcess


def _processes_under(path: Path) -> list[int]:
    """PIDs whose command line mentions `path` (to prove nothing is left behind)."""
    needle, found = str(path).encode(), []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if needle in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


@pytest.fixture(scope="session")
def triton_server_dir(tmp_path_factory) -> Path:
    return prepare_server(tmp_path_factory.mktemp("triton-build"))


@pytest.fixture(scope="module")
def start_triton(triton_server_dir, tmp_path_factory):
    """`start_triton(repo, trace_url=None, trace_rate=1)`: a ready server; all stopped when the module ends."""
    started: list[ManagedProcess] = []

    def start(repo: Path, *, trace_url: str | None = None, trace_rate: int = 1) -> TritonHandle:
        grpc_port, http_port, metrics_port = free_ports(3)
        url = f"127.0.0.1:{grpc_port}"
        argv, env = triton_command(
            triton_server_dir,
            repo,
            grpc_port=grpc_port,
            http_port=http_port,
            metrics_port=metrics_port,
            trace_url=trace_url,
            trace_rate=trace_rate,
        )
        log_dir = tmp_path_factory.mktemp("tritonserver")
        process = ManagedProcess(
            "tritonserver", argv, env=env, log_dir=log_dir, ready=lambda: is_ready(url, [DEFAULT_MODEL_NAME])
        )
        started.append(process)
        process.start(timeout=120)
        return TritonHandle(url=url, process=process)

    yield start
    exits = [(p.log_path, p.stop()) for p in started]
    # The python-backend stubs are the server's children in its process group
    # (ManagedProcess starts a new session); they exit shortly after it. If the
    # server died on its own, stop() leaves them, so end the group here too.
    deadline = time.monotonic() + 15
    while _processes_under(triton_server_dir) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = _processes_under(triton_server_dir)
    for p in started:
        with contextlib.suppress(ProcessLookupError, PermissionError, AssertionError):  # AssertionError: never started
            os.killpg(p.pid, signal.SIGKILL)
    assert not left, f"processes left behind (now killed): {left}"
    # A clean SIGTERM exit is 0; anything else means the server died during the tests.
    assert all(rc == 0 for _, rc in exits), f"tritonserver exit codes (see the logs): {exits}"
