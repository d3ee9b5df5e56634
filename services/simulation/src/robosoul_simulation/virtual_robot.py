"""A MuJoCo arm that connects through the SDK exactly as a vendor's hardware would.

The simulated arm sits behind the SDK's `RobotDriver` interface and is stepped
in real time: the SDK cannot tell it from a real robot.

    python -m robosoul_simulation.virtual_robot --gateway 127.0.0.1:50051 --targets 5
    (API key from ROBOSOUL_API_KEY)
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import mujoco
import numpy as np

from robosoul.v1 import robot_pb2
from robosoul_core.errors import InvalidArgument
from robosoul_sdk import JointReading, RoboSoulClient, RobotDriver, Session, SessionConfig, reach
from robosoul_sdk.errors import NotFound, RoboSoulError
from robosoul_simulation.bodies import Arm, embodiment_for, known_tags, load_body
from robosoul_simulation.sim_arm import SimArm

if TYPE_CHECKING:
    from robosoul_simulation.tabletop import Tabletop

log = logging.getLogger(__name__)


class SimArmDriver(RobotDriver):
    """The simulated arm as robot hardware: physics advances with the wall clock."""

    def __init__(self, sim: SimArm, clock: Callable[[], float] = time.monotonic):
        self.sim = sim
        self._clock = clock
        self._wall0 = clock()
        self._sim0 = sim.time

    def _sync(self) -> None:
        self.sim.step_to(self._sim0 + (self._clock() - self._wall0))

    def read_joints(self) -> JointReading:
        self._sync()
        return JointReading(positions=self.sim.joint_positions().tolist(), velocities=self.sim.joint_velocities().tolist())

    def command_joints(self, positions: np.ndarray) -> None:
        self._sync()
        self.sim.command(positions)

    def ee_position(self) -> np.ndarray:
        self._sync()
        return self.sim.ee_position()


@dataclass(frozen=True)
class TargetResult:
    target: tuple[float, float, float]
    final_error_m: float
    reach_time_s: float | None  # first time within tolerance, if it stayed there

    @property
    def reached(self) -> bool:
        return self.reach_time_s is not None


async def reach_targets(
    session: Session,
    driver: SimArmDriver,
    targets: Sequence[np.ndarray],
    *,
    tolerance_m: float = 0.02,
    settle_s: float = 0.3,
    timeout_s: float = 5.0,
    on_result: Callable[[int, TargetResult], None] | None = None,
) -> list[TargetResult]:
    """Give the robot each target as a REACH goal; a target counts as reached once the
    tool tip has stayed within `tolerance_m` for `settle_s`."""
    results = []
    for i, target in enumerate(targets):
        target = np.asarray(target, dtype=float)
        driver.sim.set_target_marker(target)
        await session.set_goal(reach(*target.tolist(), goal_id=f"target-{i}"))
        start = time.monotonic()
        inside_since: float | None = None
        while time.monotonic() - start < timeout_s:
            await asyncio.sleep(0.02)
            now = time.monotonic() - start
            if np.linalg.norm(driver.ee_position() - target) <= tolerance_m:
                inside_since = now if inside_since is None else inside_since
                if now - inside_since >= settle_s:
                    break
            else:
                inside_since = None
        result = TargetResult(
            target=tuple(float(v) for v in target),
            final_error_m=float(np.linalg.norm(driver.ee_position() - target)),
            reach_time_s=inside_since,
        )
        results.append(result)
        if on_result is not None:
            on_result(i, result)
    return results


def _log_camera_end(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("the virtual camera stopped: %s", task.exception())


class VirtualRobot:
    """A simulated arm registered and connected through the SDK.

    With `table` (robosoul_simulation.tabletop), the arm stands at that table and
    its `front` camera streams colour and depth frames through the SDK at
    `camera_fps` while the robot is connected, as a robot's camera driver would.
    """

    def __init__(
        self, client: RoboSoulClient, robot_id: str, *, tag: str = "rs-arm4", config: SessionConfig | None = None,
        table: Tabletop | None = None, camera_fps: float = 5.0,
    ):
        self.client = client
        self.robot_id = robot_id
        self.tag = tag
        self.arm: Arm = load_body(tag)
        self.table = table
        self.camera_fps = camera_fps
        self.sim = SimArm(self.arm, table.model if table is not None else None)
        self.driver = SimArmDriver(self.sim)
        self.session = client.session(robot_id, self.driver, config)
        self._task: asyncio.Task | None = None
        self._camera_task: asyncio.Task | None = None
        self.frames_sent = 0

    async def register(self, *, replace: bool = False, audio: bool = False) -> None:
        """Register the arm's embodiment (from its MJCF); with `replace`, re-register it.

        With `audio`, the body also has a 16 kHz microphone and a 22,050 Hz speaker
        (robosoul_devstack.virtual_audio simulates the room they are in).
        """
        if replace:
            try:
                await self.client.delete_robot(self.robot_id)
            except NotFound:
                pass
        emb = embodiment_for(self.arm)
        if self.table is not None:  # the table's camera is the one this robot streams
            from robosoul_simulation.camera import camera_spec

            del emb.cameras[:]
            emb.cameras.append(camera_spec(self.sim.model, self.table.camera, *self.table.image_size, self.camera_fps, self.sim.data))
        if audio:
            emb.microphone.CopyFrom(robot_pb2.AudioDeviceSpec(name="mic", sample_rate_hz=16_000, channels=1))
            emb.speaker.CopyFrom(robot_pb2.AudioDeviceSpec(name="speaker", sample_rate_hz=22_050, channels=1))
        await self.client.ensure_robot(self.robot_id, emb, display_name=f"virtual {self.tag}")

    async def __aenter__(self) -> VirtualRobot:
        self._task = asyncio.create_task(self.session.run())
        waiter = asyncio.create_task(self.session.wait_connected(timeout=30))
        await asyncio.wait([self._task, waiter], return_when=asyncio.FIRST_COMPLETED)
        if self._task.done():
            waiter.cancel()
            self._task.result()  # raises why it could not connect
        await waiter
        if self.table is not None:
            self._camera_task = asyncio.create_task(self._stream_camera())
            self._camera_task.add_done_callback(_log_camera_end)
        return self

    async def __aexit__(self, *exc) -> None:
        if self._camera_task is not None:
            self._camera_task.cancel()
            await asyncio.gather(self._camera_task, return_exceptions=True)
        self.session.close()
        if self._task is not None:
            try:
                await self._task
            except RoboSoulError:
                if exc[0] is None:
                    raise

    async def _stream_camera(self) -> None:
        """Render the table's camera at `camera_fps` and send colour + depth with the capture time."""
        from robosoul_simulation.camera import CameraRig

        loop = asyncio.get_running_loop()
        model, name = self.sim.model, self.table.camera
        view = mujoco.MjData(model)  # a copy of the state, rendered off the event loop

        def render():
            mujoco.mj_forward(model, view)
            return rig.render(view)

        with CameraRig(model, name, *self.table.image_size, fps=self.camera_fps) as rig:
            while True:
                started = time.monotonic()
                self._copy_state(view)
                captured = time.time()
                try:
                    image = await loop.run_in_executor(None, render)
                    await self.session.send_camera_frame(image.rgb, camera=name, timestamp=captured)
                    await self.session.send_depth_frame(image.depth, camera=name, timestamp=captured)
                    self.frames_sent += 1
                except RoboSoulError as err:  # disconnected for a moment: the next frame tries again
                    log.warning("camera frame not sent: %s", err)
                await asyncio.sleep(max(0.0, 1.0 / self.camera_fps - (time.monotonic() - started)))

    def _copy_state(self, view: mujoco.MjData) -> None:
        """Physics up to now, copied into `view` (on the event loop; render the copy off it)."""
        self.driver.read_joints()
        mujoco.mj_copyData(view, self.sim.model, self.sim.data)

    async def render_camera(self) -> np.ndarray:
        """One RGB picture from the table's camera now (a rig of its own, rendered off the event loop)."""
        from robosoul_simulation.camera import CameraRig

        if self.table is None:
            raise InvalidArgument(f"{self.robot_id} stands at no table: it has no camera to render")
        model, view = self.sim.model, mujoco.MjData(self.sim.model)
        self._copy_state(view)

        def render() -> np.ndarray:
            mujoco.mj_forward(model, view)
            with CameraRig(model, self.table.camera, *self.table.image_size) as rig:
                return rig.render(view).rgb

        return await asyncio.get_running_loop().run_in_executor(None, render)

    def sample_targets(self, n: int, seed: int) -> list[np.ndarray]:
        rng = np.random.default_rng(seed)
        return [self.arm.sample_target(rng) for _ in range(n)]


RESULT_HEADER = f"{'#':>2}  {'target (m)':>24}  {'final error':>11}  {'time to reach':>13}  result"


def format_result(i: int, r: TargetResult, tolerance_m: float) -> str:
    t = ", ".join(f"{v:+.3f}" for v in r.target)
    reach_s = f"{r.reach_time_s:.2f} s" if r.reached else "-"
    verdict = "reached" if r.reached else f"MISSED (> {tolerance_m * 100:.0f} cm)"
    return f"{i:>2}  ({t})  {r.final_error_m * 1000:8.1f} mm  {reach_s:>13}  {verdict}"


def format_latency(stats: dict) -> str:
    return (
        f"control loop: {stats['ticks']} ticks, {stats['chunks']} chunks, holding {stats['holding_ticks']} ticks, "
        f"{stats['reconnects']} reconnects, errors {stats['errors'] or 'none'}\n"
        f"chunk round trip (SDK -> gateway -> motion -> Triton -> SDK): p50 {stats['chunk_rtt_ms_p50']:.2f} ms, "
        f"p99 {stats['chunk_rtt_ms_p99']:.2f} ms\n"
        f"control tick lateness: p50 {stats['tick_lateness_ms_p50']:.2f} ms, p99 {stats['tick_lateness_ms_p99']:.2f} ms"
    )


async def main_async(args: argparse.Namespace) -> int:
    api_key = os.environ.get(args.api_key_env, "")
    if not api_key:
        print(f"virtual_robot: set {args.api_key_env} to an API key (robosoul-admin create-key)", file=sys.stderr)
        return 2
    async with RoboSoulClient(args.gateway, api_key) as client:
        robot = VirtualRobot(client, args.robot_id, tag=args.embodiment)
        await robot.register(replace=args.replace)
        async with robot:
            print(RESULT_HEADER)
            results = await reach_targets(
                robot.session, robot.driver, robot.sample_targets(args.targets, args.seed), tolerance_m=args.tolerance,
                on_result=lambda i, r: print(format_result(i, r, args.tolerance), flush=True),
            )
        print(format_latency(robot.session.stats.summary()))
    return 0 if all(r.reached for r in results) else 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--gateway", default="127.0.0.1:50051")
    p.add_argument("--api-key-env", default="ROBOSOUL_API_KEY")
    p.add_argument("--robot-id", default="virtual-arm")
    p.add_argument("--embodiment", default="rs-arm4", choices=known_tags())
    p.add_argument("--targets", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tolerance", type=float, default=0.02, help="metres")
    p.add_argument("--replace", action="store_true", help="re-register the robot if it exists")
    args = p.parse_args(argv)
    try:
        return asyncio.run(main_async(args))
    except RoboSoulError as err:
        print(f"virtual_robot: {type(err).__name__}: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
