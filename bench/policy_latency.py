"""Policy inference latency: Triton (gRPC, the served path) vs onnxruntime in process, same model.

    python bench/policy_latency.py --policy build/policy/generalist/policy.onnx

Publishes the policy to a temporary model repository (robosoul_motion.model_repo,
the served configuration: dynamic batching, python backend running the ONNX),
starts the bundled Triton on free loopback ports as a tracked process, and for
each batch size sends `--requests` back-to-back requests from one client, each
a batch of rows for randomly chosen bodies of the model's table (one request =
one chunk for each of B robots). The same batches then run through an
onnxruntime session in this process, with the thread settings of the served
model. Prints a markdown table: per-request latency p50/p99 (ms) and throughput
(rows/s = B / mean latency). `--clients N` adds a column where N clients send
concurrently at each batch size (Triton's dynamic batching merges them).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import tritonclient.grpc as grpcclient

from robosoul.v1 import session_pb2
from robosoul_core import policy_io as io
from robosoul_devstack.procs import ManagedProcess, free_ports
from robosoul_motion import model_repo, triton_local

MODEL = model_repo.DEFAULT_MODEL_NAME


def make_batch(meta: dict, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """n rows of valid contract inputs, bodies drawn from the sidecar's table."""
    table = meta["embodiments"]
    tags = sorted(table)
    bodies = meta.get("bodies", {})
    state, goal, emb = [], [], []
    for _ in range(n):
        tag = tags[rng.integers(len(tags))]
        dof = int(bodies.get(tag, {}).get("dof", rng.integers(3, io.MAX_DOF + 1)))
        state.append(io.encode_state(rng.uniform(-1, 1, dof), rng.uniform(-0.5, 0.5, dof)))
        goal.append(io.encode_goal(session_pb2.SKILL_REACH, rng.uniform([-0.4, -0.4, 0.05], [0.4, 0.4, 0.5])))
        emb.append(table[tag])
    return {
        io.INPUT_STATE: np.stack(state).astype(np.float32),
        io.INPUT_GOAL: np.stack(goal).astype(np.float32),
        io.INPUT_EMBODIMENT: np.array(emb, np.int64)[:, None],
    }


def triton_inputs(batch: dict[str, np.ndarray]) -> list:
    out = []
    for name, array in batch.items():
        t = grpcclient.InferInput(name, list(array.shape), "INT64" if array.dtype == np.int64 else "FP32")
        t.set_data_from_numpy(array)
        out.append(t)
    return out


def summarise(latencies_s: list[float], rows: int, wall_s: float | None = None) -> dict:
    ms = np.asarray(latencies_s) * 1000
    wall = wall_s if wall_s is not None else float(np.sum(latencies_s))
    return {
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "rows_per_s": rows * len(latencies_s) / wall,
        "requests": len(latencies_s),
    }


def bench_triton(url: str, batches: list[dict], warmup: int) -> dict:
    client = grpcclient.InferenceServerClient(url)
    outputs = [grpcclient.InferRequestedOutput(io.OUTPUT_ACTIONS)]
    prepared = [triton_inputs(b) for b in batches]
    for inputs in prepared[:warmup]:
        client.infer(MODEL, inputs, outputs=outputs, client_timeout=10)
    lat = []
    for inputs in prepared[warmup:]:
        t = time.perf_counter()
        result = client.infer(MODEL, inputs, outputs=outputs, client_timeout=10)
        result.as_numpy(io.OUTPUT_ACTIONS)
        lat.append(time.perf_counter() - t)
    client.close()
    return summarise(lat, len(batches[0][io.INPUT_STATE]))


def bench_triton_concurrent(url: str, batches: list[dict], clients: int, warmup: int) -> dict:
    """`clients` threads, each with its own connection, share the requests."""
    lat: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)

    def worker(mine: list[dict]) -> None:
        client = grpcclient.InferenceServerClient(url)
        outputs = [grpcclient.InferRequestedOutput(io.OUTPUT_ACTIONS)]
        prepared = [triton_inputs(b) for b in mine]
        for inputs in prepared[:warmup]:
            client.infer(MODEL, inputs, outputs=outputs, client_timeout=10)
        start.wait()
        local = []
        for inputs in prepared[warmup:]:
            t = time.perf_counter()
            client.infer(MODEL, inputs, outputs=outputs, client_timeout=10).as_numpy(io.OUTPUT_ACTIONS)
            local.append(time.perf_counter() - t)
        with lock:
            lat.extend(local)
        client.close()

    threads = [threading.Thread(target=worker, args=(batches[i::clients],)) for i in range(clients)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    return summarise(lat, len(batches[0][io.INPUT_STATE]), wall_s=time.perf_counter() - t0)


def bench_ort(onnx_path: Path, batches: list[dict], warmup: int, threads: int) -> dict:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    for b in batches[:warmup]:
        session.run([io.OUTPUT_ACTIONS], b)
    lat = []
    for b in batches[warmup:]:
        t = time.perf_counter()
        session.run([io.OUTPUT_ACTIONS], b)
        lat.append(time.perf_counter() - t)
    return summarise(lat, len(batches[0][io.INPUT_STATE]))


def table(results: list[dict], clients: int) -> str:
    head = "| batch | Triton p50 / p99 (ms) | Triton rows/s | onnxruntime p50 / p99 (ms) | onnxruntime rows/s |"
    sep = "|---:|---:|---:|---:|---:|"
    if clients > 1:
        head += f" Triton, {clients} clients: p50 / p99 (ms), rows/s |"
        sep += "---:|"
    lines = [head, sep]
    for r in results:
        t, o = r["triton"], r["onnxruntime"]
        line = (
            f"| {r['batch']} | {t['p50_ms']:.2f} / {t['p99_ms']:.2f} | {t['rows_per_s']:,.0f} "
            f"| {o['p50_ms']:.3f} / {o['p99_ms']:.3f} | {o['rows_per_s']:,.0f} |"
        )
        if clients > 1:
            c = r["triton_concurrent"]
            line += f" {c['p50_ms']:.2f} / {c['p99_ms']:.2f}, {c['rows_per_s']:,.0f} |"
        lines.append(line)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--policy", type=Path, default=Path("build/policy/generalist/policy.onnx"), help="policy.onnx (sidecar next to it)")
    parser.add_argument("--batches", default="1,8,64", help="comma-separated batch sizes (default: %(default)s)")
    parser.add_argument("--requests", type=int, default=500, help="measured requests per batch size (default: %(default)s)")
    parser.add_argument("--warmup", type=int, default=30, help="unmeasured requests first (default: %(default)s)")
    parser.add_argument("--clients", type=int, default=1, help="also measure N concurrent clients (default: %(default)s)")
    parser.add_argument("--ort-threads", type=int, default=1, help="onnxruntime intra-op threads, both sides (default: %(default)s)")
    parser.add_argument("--build-dir", type=Path, default=Path("build"), help="where the prepared Triton server is cached")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.batches.split(",") if s]
    if not sizes or min(sizes) < 1 or max(sizes) > model_repo.DEFAULT_MAX_BATCH_SIZE:
        parser.error(f"--batches must be sizes in 1..{model_repo.DEFAULT_MAX_BATCH_SIZE}")
    if args.requests < 1 or args.warmup < 0 or args.clients < 1:
        parser.error("--requests and --clients must be >= 1, --warmup >= 0")
    try:
        meta = model_repo.load_sidecar(args.policy)
    except model_repo.PolicyPackageError as exc:
        parser.error(str(exc))
    rng = np.random.default_rng(args.seed)
    server_dir = triton_local.prepare_server(args.build_dir)
    results = []
    with tempfile.TemporaryDirectory(prefix="policy-latency-") as tmp:
        repo = Path(tmp) / "model_repository"
        model_repo.publish(repo, args.policy, ort_threads=args.ort_threads)
        grpc_port, http_port, metrics_port = free_ports(3)
        url = f"127.0.0.1:{grpc_port}"
        argv_, env = triton_local.triton_command(
            server_dir, repo, grpc_port=grpc_port, http_port=http_port, metrics_port=metrics_port, load_models=(MODEL,)
        )
        server = ManagedProcess("tritonserver", argv_, env=env, log_dir=Path(tmp), ready=lambda: triton_local.is_ready(url, [MODEL]))
        server.start(timeout=120)
        try:
            for b in sizes:
                total = args.warmup + args.requests
                batches = [make_batch(meta, b, rng) for _ in range(total)]
                row = {"batch": b, "triton": bench_triton(url, batches, args.warmup)}
                if args.clients > 1:
                    each = args.warmup + max(1, args.requests // args.clients)
                    more = [make_batch(meta, b, rng) for _ in range(args.clients * each)]
                    row["triton_concurrent"] = bench_triton_concurrent(url, more, args.clients, args.warmup)
                row["onnxruntime"] = bench_ort(args.policy, batches, args.warmup, args.ort_threads)
                results.append(row)
                print(f"batch {b}: done", file=sys.stderr, flush=True)
        finally:
            code = server.stop()
            if code not in (0, None):
                print(f"warning: tritonserver exited with {code}; log tail:\n{server.tail()}", file=sys.stderr)
    arch = meta.get("architecture", {})
    print(
        f"Policy {args.policy} ({len(meta['embodiments'])} bodies, width {arch.get('width')}, depth {arch.get('depth')}); "
        f"{args.requests} requests per batch size, one client, ORT intra-op threads {args.ort_threads}.\n"
    )
    print(table(results, args.clients))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"policy": str(args.policy), "results": results}, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
