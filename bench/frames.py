"""Large frames on the bus: gateway-side store + reference publish -> perception-side fetch, per frame size.

A private nats-server (JetStream, memory storage) on loopback. For each frame, one process
(this one, two connections: a writer like the gateway, a reader like perception) times:

- inline: the envelope published as one NATS message and parsed by the subscriber
  (only for frames that fit in one message, <= 1 MiB less headroom);
- stored: `FrameStore.put` (512 KiB chunks) + the reference published, and the subscriber's
  `FrameStore.resolve` (the path the gateway and perception take for larger frames);
- baseline: the same through nats-py's stock object store (`create_object_store`, its
  default 128 KiB chunks, discard-new bucket), put + get.

Latency is from the writer starting to the reader holding the parsed Observation.

    python bench/frames.py [--frames 40]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

import nats
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stats import pct  # noqa: E402

from robosoul.bus.v1 import control_pb2  # noqa: E402
from robosoul.v1 import session_pb2  # noqa: E402
from robosoul_core.frames import FrameStore  # noqa: E402
from robosoul_core.tensors import from_numpy  # noqa: E402
from robosoul_devstack.procs import start_nats_server  # noqa: E402

FRAMES = [
    ("640x480 uint16 depth", lambda rng: session_pb2.Observation(depth_frame=session_pb2.DepthFrame(
        camera="c", depth=from_numpy(rng.integers(200, 3000, (480, 640), dtype=np.uint16))))),
    ("640x480 float32 depth", lambda rng: session_pb2.Observation(depth_frame=session_pb2.DepthFrame(
        camera="c", depth=from_numpy(rng.uniform(0.2, 3, (480, 640)).astype(np.float32))))),
    ("1280x720 raw RGB", lambda rng: session_pb2.Observation(camera_frame=session_pb2.CameraFrame(
        camera="c", encoding=session_pb2.IMAGE_ENCODING_RGB8, width=1280, height=720,
        raw=from_numpy(rng.integers(0, 256, (720, 1280, 3), dtype=np.uint8))))),
    ("1280x720 float32 depth", lambda rng: session_pb2.Observation(depth_frame=session_pb2.DepthFrame(
        camera="c", depth=from_numpy(rng.uniform(0.2, 3, (720, 1280)).astype(np.float32))))),
    ("1920x1080 raw RGB", lambda rng: session_pb2.Observation(camera_frame=session_pb2.CameraFrame(
        camera="c", encoding=session_pb2.IMAGE_ENCODING_RGB8, width=1920, height=1080,
        raw=from_numpy(rng.integers(0, 256, (1080, 1920, 3), dtype=np.uint8))))),
]


async def run(args) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_nats_server(Path(tmp) / "js", log_dir=Path(tmp))
        try:
            writer, reader = await nats.connect(url), await nats.connect(url)
            store = FrameStore(writer, timeout_s=10)
            await store.create(ttl_s=10, max_bytes=512 << 20)
            fetcher = FrameStore(reader, timeout_s=10)
            stock = await writer.jetstream().create_object_store("bench_stock", config=nats.js.api.ObjectStoreConfig(
                storage=nats.js.api.StorageType.MEMORY, ttl=10, max_bytes=1 << 30))
            stock_reader = await reader.jetstream().object_store("bench_stock")
            rng = np.random.default_rng(0)
            print(f"{args.frames} frames each, one writer and one reader connection, nats-server on loopback\n")
            print(f"{'frame':<24} {'bytes':>10} {'path':<22} {'p50 ms':>8} {'p99 ms':>8} {'MB/s':>7}")
            for label, make in FRAMES:
                obs = make(rng)
                rows = []
                size = len(control_pb2.ObservationEnvelope(tenant="t", robot_id="r", session_id="s", observation=obs).SerializeToString())
                if size <= store.inline_limit:
                    rows.append(("inline (one message)", await bus_path(writer, reader, obs, args.frames)))
                rows.append(("stored (rs_frames)", await bus_path(writer, reader, obs, args.frames, store, fetcher)))
                rows.append(("stock object store", await stock_path(stock, stock_reader, obs, args.frames)))
                for path, times in rows:
                    p50 = pct(times, 50)
                    print(f"{label:<24} {size:>10,} {path:<22} {p50 * 1e3:>8.1f} {pct(times, 99) * 1e3:>8.1f} {size / p50 / 1e6:>7.0f}")
            await writer.close()
            await reader.close()
        finally:
            proc.stop()


async def bus_path(writer, reader, obs, n: int, store: FrameStore | None = None, fetcher: FrameStore | None = None) -> list[float]:
    """Publish -> parsed at the reader: the envelope itself, or (with `store`) a reference the reader resolves."""
    got: asyncio.Queue = asyncio.Queue()

    async def on_msg(msg):
        envelope = control_pb2.ObservationEnvelope.FromString(msg.data)
        if fetcher is not None:
            await fetcher.resolve(envelope)
        got.put_nowait(time.perf_counter())

    sub = await reader.subscribe("bench.frames", cb=on_msg)
    await reader.flush()
    times = []
    for seq in range(1, n + 1):
        obs.seq = seq
        start = time.perf_counter()
        envelope = control_pb2.ObservationEnvelope(tenant="t", robot_id="r", session_id="s", observation=obs)
        await writer.publish("bench.frames", (envelope if store is None else await store.put(envelope)).SerializeToString())
        times.append(await got.get() - start)
    await sub.unsubscribe()
    return times


async def stock_path(stock, stock_reader, obs, n: int) -> list[float]:
    times = []
    for seq in range(1, n + 1):
        obs.seq = seq
        start = time.perf_counter()
        name = f"t/r/s/{seq}-{time.monotonic_ns()}"
        await stock.put(name, obs.SerializeToString())
        session_pb2.Observation.FromString((await stock_reader.get(name)).data)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=40)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
