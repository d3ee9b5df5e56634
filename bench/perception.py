"""Perception: 3-D localisation and detection on rendered MuJoCo tabletops, and frames per second per core.

    python bench/perception.py [--scenes 30] [--body gen-s10-5dof-grip]

1. Objects: `--scenes` randomised tabletops (robosoul_simulation.tabletop: three
   coloured cubes/balls and two brown/white/black distractors, the arm in greys),
   rendered RGB + depth at 640x480 by the `front` camera (EGL), depth sent as the
   wire carries it (uint16 mm). A detection matches a ground-truth object of its
   colour within 5 cm; reported: precision and recall over the coloured objects,
   3-D error of the centre (the target is <= 1.5 cm), label accuracy, and the
   detector's time per frame on one thread (frames/s per core).
2. People and faces: scikit-image's photos (astronaut, camera, coffee, resized to
   640x480) through the mediapipe worker (.venv-perception) pinned to one core:
   time per frame for pose + face detection (frames/s per core; the target is >= 15).
3. With `--policy`, through the platform: the virtual robot at a tabletop streams its
   camera (640x480 JPEG + uint16 depth, `--fps`) through the SDK, gateway and NATS to
   the perception service; frame-to-scene latency is the capture time to the scene's
   arrival on NATS (the scene carries the frame's capture time). Then the same for frames
   larger than one NATS message: a 1280x720 camera sending raw RGB (2.8 MB) and float32
   depth (3.7 MB) of a rendered cube and ball, which the gateway carries through the
   JetStream object store (robosoul_core.frames).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import cv2
import mujoco
import numpy as np
from stats import pct

from robosoul_core.camera import depth_to_millimetres
from robosoul_perception.objects import ObjectDetector
from robosoul_perception.people import PeopleConfig, PeopleDetector, repo_worker_python
from robosoul_simulation.bodies import load_body
from robosoul_simulation.camera import CameraRig
from robosoul_simulation.tabletop import random_tabletop

MATCH_M = 0.05
PHOTOS = ("astronaut", "camera", "coffee")


def objects(scenes: int, body: str) -> None:
    cv2.setNumThreads(1)
    arm = load_body(body)
    detector = ObjectDetector()
    errors, times, labels = [], [], []
    tp = fp = fn = hits = 0
    for seed in range(scenes):
        table = random_tabletop(arm, seed, n_objects=3, n_distractors=2)
        data = mujoco.MjData(table.model)
        mujoco.mj_forward(table.model, data)
        with CameraRig(table.model, table.camera, *table.image_size) as rig:
            image = rig.render(data)
            camera = rig.pinhole(data)
        depth_mm = depth_to_millimetres(image.depth)  # as the wire carries it
        started = time.perf_counter()
        found = detector.detect(image.rgb, depth_mm, camera)
        times.append(time.perf_counter() - started)
        # Distractors (brown, white, black cylinders) may be reported (brown is a colour);
        # only the coloured cubes and balls must be, and only they count for the error.
        truth = {o.name: o for o in table.objects}
        positions = table.positions(data)
        matched: set[str] = set()
        for det in found:
            candidates = [
                (float(np.linalg.norm(det.position - positions[name])), name)
                for name, o in truth.items() if o.colour == det.color and name not in matched and det.position is not None
            ]
            best = min(candidates, default=None)
            if best is None or best[0] > MATCH_M:
                fp += 1
                continue
            matched.add(best[1])
            hits += 1
            if not truth[best[1]].distractor:
                tp += 1
                errors.append(best[0])
                labels.append(det.label == truth[best[1]].shape)
        fn += sum(1 for name, o in truth.items() if not o.distractor and name not in matched)
        print(f"\r  objects: {seed + 1}/{scenes} scenes", end="", file=sys.stderr)
    print(file=sys.stderr)
    ms = [t * 1000 for t in times]
    err = [e * 100 for e in errors]
    print(f"\n#### Objects on rendered tabletops ({scenes} scenes, {tp + fn} coloured objects, 640x480 RGB + uint16 depth)\n")
    print("| measure | value |")
    print("|---|---:|")
    print(f"| precision (any scene object) / recall (coloured objects) | {hits / max(hits + fp, 1):.1%} / {tp / max(tp + fn, 1):.1%} |")
    print(f"| 3-D centre error p50 / p95 / max | {pct(err, 50):.2f} / {pct(err, 95):.2f} / {max(err, default=0):.2f} cm |")
    print(f"| label (cube / ball) accuracy | {np.mean(labels):.1%} |")
    print(f"| detector time per frame p50 / p95 (one thread) | {pct(ms, 50):.1f} / {pct(ms, 95):.1f} ms |")
    print(f"| frames/s per core | {1000 / pct(ms, 50):.0f} |")


def photos(python: Path) -> list[np.ndarray]:
    found = subprocess.run(
        [str(python), "-c", "import os, skimage.data; print(os.path.dirname(skimage.data.__file__))"],
        capture_output=True, text=True, check=True,
    )
    out = []
    for name in PHOTOS:
        image = cv2.imread(str(Path(found.stdout.strip()) / f"{name}.png"), cv2.IMREAD_COLOR)
        out.append(cv2.resize(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), (640, 480), interpolation=cv2.INTER_AREA))
    return out


async def people(frames: int) -> None:
    python = repo_worker_python()
    if not python.exists():
        print("\n(people skipped: .venv-perception is missing; run `make perception-env`)")
        return
    images = photos(python)
    rows = []
    for features, tracking in ((("pose", "faces"), False), (("faces",), False), (("pose",), False)):
        async with PeopleDetector(PeopleConfig(python=python, features=features, max_hands=1, tracking=tracking)) as detector:
            await detector.detect(images[0])  # warm
            for thread in os.listdir(f"/proc/{detector.pid}/task"):  # every thread of the worker, not just its main one
                os.sched_setaffinity(int(thread), {0})
            times, found = [], 0
            for i in range(frames):
                started = time.perf_counter()
                frame = await detector.detect(images[i % len(images)])
                times.append((time.perf_counter() - started) * 1000)
                found += len(frame.people)
            rows.append((" + ".join(features) + (", tracking one stream" if tracking else ", every frame a still"), pct(times, 50), pct(times, 95), found / frames))
    print(f"\n#### People and faces (mediapipe worker on one core, 640x480, {frames} frames of {', '.join(PHOTOS)})\n")
    print("| models | p50 ms | p95 ms | frames/s per core | people per frame |")
    print("|---|---:|---:|---:|---:|")
    for name, p50, p95, per in rows:
        print(f"| {name} | {p50:.1f} | {p95:.1f} | {1000 / p50:.1f} | {per:.2f} |")


async def platform(stack, key: str, seconds: float, fps: float, body: str) -> list[float]:
    import nats

    from robosoul.v1 import dialogue_pb2
    from robosoul_core import subjects
    from robosoul_sdk import RoboSoulClient
    from robosoul_simulation.virtual_robot import VirtualRobot

    latencies: list[float] = []

    async def on_scene(msg):
        scene = dialogue_pb2.Scene.FromString(msg.data)
        latencies.append((time.time() - scene.timestamp.ToNanoseconds() / 1e9) * 1000)

    nc = await nats.connect(stack.nats_url)
    await nc.subscribe(subjects.robot_subject("bench", "bench-eyes", subjects.SCENE_STREAM), cb=on_scene)
    async with RoboSoulClient(stack.gateway_target, key) as client:
        robot = VirtualRobot(client, "bench-eyes", tag=body, table=random_tabletop(load_body(body), 0, 3, 2), camera_fps=fps)
        await robot.register(replace=True)
        async with robot:
            await asyncio.sleep(seconds)
        sent = robot.frames_sent
    await nc.close()
    print(f"\n#### Frame to scene through the platform ({sent} frames at {fps:g}/s, 640x480 JPEG + uint16 depth)\n")
    print("| frame captured -> scene on NATS | p50 ms | p95 ms | scenes |")
    print("|---|---:|---:|---:|")
    print(f"| SDK -> gateway -> NATS -> perception -> NATS | {pct(latencies, 50):.1f} | {pct(latencies, 95):.1f} | {len(latencies)} |")
    return latencies


async def platform_large(stack, key: str, seconds: float, fps: float) -> list[float]:
    """Frame to scene for 1280x720 raw RGB + float32 depth (each over NATS's 1 MiB: through the object store)."""
    import nats

    from robosoul.v1 import dialogue_pb2
    from robosoul_core import subjects
    from robosoul_core.camera import PinholeCamera
    from robosoul_perception.synthetic import Box, Sphere, render
    from robosoul_sdk import RoboSoulClient
    from robosoul_simulation.bodies import embodiment_for
    from robosoul_simulation.virtual_robot import VirtualRobot

    camera = PinholeCamera.look_at((0.0, 0.0, 0.6), (0.5, 0.0, 0.0), width=1280, height=720, fov_y_deg=50, name="wide")
    rgb, depth = render(camera, [Box(center=np.array([0.4, 0.1, 0.02]), size=0.04, color=(220, 30, 30)),
                                 Sphere(center=np.array([0.5, -0.12, 0.03]), radius=0.03, color=(30, 60, 220))])
    latencies: list[float] = []
    objects_seen: list[int] = []

    async def on_scene(msg):
        scene = dialogue_pb2.Scene.FromString(msg.data)
        latencies.append((time.time() - scene.timestamp.ToNanoseconds() / 1e9) * 1000)
        objects_seen.append(len(scene.objects))

    nc = await nats.connect(stack.nats_url)
    await nc.subscribe(subjects.robot_subject("bench", "bench-wide", subjects.SCENE_STREAM), cb=on_scene)
    sent = 0
    async with RoboSoulClient(stack.gateway_target, key) as client:
        robot = VirtualRobot(client, "bench-wide")
        emb = embodiment_for(robot.arm)
        emb.cameras.append(camera.to_spec(fps=fps, has_depth=True))
        await client.register_robot("bench-wide", emb)
        async with robot:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                started = time.monotonic()
                captured = time.time()
                await robot.session.send_camera_frame(rgb, camera="wide", timestamp=captured, encoding="rgb8")
                await robot.session.send_depth_frame(depth, camera="wide", timestamp=captured, millimetres=False)
                sent += 1
                await asyncio.sleep(max(0.0, 1.0 / fps - (time.monotonic() - started)))
            await asyncio.sleep(1.0)
    await nc.close()
    warm = latencies[2:]  # the first frames wait for the service's warm-up
    print(f"\n#### Frame to scene, frames over one NATS message ({sent} frames at {fps:g}/s, 1280x720 raw RGB + float32 depth)\n")
    print("| frame captured -> scene on NATS | p50 ms | p95 ms | scenes | objects per scene |")
    print("|---|---:|---:|---:|---:|")
    print(f"| SDK -> gateway -> object store + NATS -> perception -> NATS | {pct(warm, 50):.1f} | {pct(warm, 95):.1f} | "
          f"{len(latencies)} | {np.mean(objects_seen[2:]) if len(objects_seen) > 2 else float('nan'):.2f} |")
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenes", type=int, default=30)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--body", default="gen-s10-5dof-grip")
    parser.add_argument("--policy", type=Path, help="run the platform part too (the stack's motion service needs a policy)")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--fps", type=float, default=5.0)
    args = parser.parse_args()
    objects(args.scenes, args.body)
    asyncio.run(people(args.frames))
    if args.policy is not None:
        import tempfile

        from robosoul_devstack.stack import LocalStack, StackConfig

        with tempfile.TemporaryDirectory() as tmp:
            with LocalStack(StackConfig(work_dir=Path(tmp), policy=args.policy, perception=True)) as stack:
                key = stack.create_api_key("bench")
                asyncio.run(platform(stack, key, args.seconds, args.fps, args.body))
                asyncio.run(platform_large(stack, key, args.seconds, args.fps))


if __name__ == "__main__":
    main()
