"""Preparing and configuring the bundled Triton server (no server started here)."""

from __future__ import annotations

import json
import os
import sys
import sysconfig
from pathlib import Path

from robosoul_motion.triton_local import LOOPBACK, bundled_libs_dir, prepare_server, triton_command


def test_prepare_server_copies_once_and_replaces_a_stale_copy(tmp_path):
    server = prepare_server(tmp_path)
    binary = server / "bin" / "tritonserver"
    stub = server / "backends" / "python" / "triton_python_backend_stub"
    assert os.access(binary, os.X_OK) and os.access(stub, os.X_OK)
    assert not (server / "python_backend_stubs").exists()
    assert (server / "backends" / "python" / "libtriton_python.so").exists()

    # Prepared already: reused as is (same inode), nothing copied.
    inode = binary.stat().st_ino
    assert prepare_server(tmp_path) == server and binary.stat().st_ino == inode

    # A copy from another pytriton version is replaced.
    stamp = server / ".robosoul-prepared.json"
    stamp.write_text(json.dumps({**json.loads(stamp.read_text()), "pytriton": "0.0.1"}))
    assert prepare_server(tmp_path) == server
    assert binary.stat().st_ino != inode and json.loads(stamp.read_text())["pytriton"] != "0.0.1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tritonserver"]  # no staging left


def test_command_binds_loopback_and_finds_this_environment(tmp_path):
    argv, env = triton_command(
        tmp_path / "server",
        tmp_path / "repo",
        grpc_port=1,
        http_port=2,
        metrics_port=3,
        base_env={"PATH": "/usr/bin", "LD_LIBRARY_PATH": "/opt/x"},
    )
    args = set(argv[1:])
    assert {f"--grpc-address={LOOPBACK}", f"--http-address={LOOPBACK}", f"--metrics-address={LOOPBACK}"} <= args
    assert {"--grpc-port=1", "--http-port=2", "--metrics-port=3"} <= args
    assert {"--model-control-mode=explicit", "--load-model=robosoul_policy"} <= args
    assert not any(a.startswith("--trace-config") for a in argv)
    poll_argv, _ = triton_command(tmp_path, tmp_path, grpc_port=1, http_port=2, metrics_port=3, model_control="poll", poll_secs=2)
    assert "--model-control-mode=poll" in poll_argv and "--repository-poll-secs=2" in poll_argv
    # The stub finds site-packages through the python3 first on PATH.
    assert env["PATH"].split(os.pathsep) == [str(Path(sys.executable).parent), "/usr/bin"]
    assert (Path(env["PATH"].split(os.pathsep)[0]) / "python3").exists()
    libs = env["LD_LIBRARY_PATH"].split(os.pathsep)
    assert libs == [str(bundled_libs_dir()), sysconfig.get_config_var("LIBDIR"), "/opt/x"]


def test_command_with_tracing(tmp_path):
    argv, _ = triton_command(
        tmp_path, tmp_path, grpc_port=1, http_port=2, metrics_port=3, trace_url="http://127.0.0.1:9/v1/traces", trace_rate=0
    )
    assert {
        "--trace-config=mode=opentelemetry",
        "--trace-config=level=TIMESTAMPS",
        "--trace-config=rate=0",
        "--trace-config=opentelemetry,url=http://127.0.0.1:9/v1/traces",
    } <= set(argv)
