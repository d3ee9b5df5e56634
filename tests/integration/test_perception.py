"""A robot's camera through the platform: SDK colour + depth frames -> gateway -> NATS -> the perception
service process -> a Scene on rs.<tenant>.<robot>.scene (read here straight from NATS) with the objects
in the robot's base frame and stable ids; the language service grounds words in it."""

import asyncio
import time

import nats
import numpy as np

from robosoul.bus.v1 import control_pb2
from robosoul.v1 import dialogue_pb2
from robosoul_core import subjects
from robosoul_core.camera import PinholeCamera
from robosoul_perception.synthetic import Box, Sphere, render
from robosoul_sdk import RoboSoulClient
from robosoul_sdk.errors import NotFound
from robosoul_simulation.bodies import embodiment_for, load_body
from robosoul_simulation.tabletop import random_tabletop
from robosoul_simulation.virtual_robot import VirtualRobot

CUBE = np.array([0.40, 0.10, 0.02])
BALL = np.array([0.50, -0.12, 0.03])


async def test_camera_frames_become_a_scene_in_the_base_frame(stack, keys):
    camera = PinholeCamera.look_at((0.0, 0.0, 0.6), (0.5, 0.0, 0.0), width=640, height=480, fov_y_deg=55, name="head")
    rgb, depth = render(camera, [Box(center=CUBE, size=0.04, color=(220, 30, 30)), Sphere(center=BALL, radius=0.03, color=(30, 60, 220))])
    nc = await nats.connect(stack.nats_url)
    scenes: list[dialogue_pb2.Scene] = []

    async def on_scene(msg):
        scenes.append(dialogue_pb2.Scene.FromString(msg.data))

    sub = await nc.subscribe(subjects.robot_subject("alpha", "seer", subjects.SCENE_STREAM), cb=on_scene)
    try:
        async with RoboSoulClient(stack.gateway_target, keys["alpha"]) as client:
            robot = VirtualRobot(client, "seer")
            try:
                await client.delete_robot("seer")
            except NotFound:
                pass
            emb = embodiment_for(robot.arm)
            emb.cameras.append(camera.to_spec(fps=5, has_depth=True))
            await client.register_robot("seer", emb, display_name="virtual arm with a head camera")
            errors = []
            robot.session.on_error = errors.append
            async with robot:
                stamps = []
                for _ in range(3):
                    t = time.time()
                    stamps.append(t)
                    await robot.session.send_camera_frame(rgb, camera="head", timestamp=t)
                    await robot.session.send_depth_frame(depth, camera="head", timestamp=t)
                    for _ in range(600):  # a hang guard (the first frame waits for the service's warm-up)
                        if len(scenes) == len(stamps):
                            break
                        await asyncio.sleep(0.05)
                    assert len(scenes) == len(stamps), f"no scene for frame {len(stamps)}"
                    await asyncio.sleep(0.25)  # 4 frames/s, under the camera's 5 fps

                assert [abs(s.timestamp.ToNanoseconds() / 1e9 - t) < 1e-6 for s, t in zip(scenes, stamps, strict=True)] == [True] * 3
                assert scenes[0].objects == []  # objects are confirmed on their second sighting
                for scene in scenes[1:]:
                    objects = {o.object_id: o for o in scene.objects}
                    assert set(objects) == {"red-cube-1", "blue-ball-1"}, objects  # the same ids frame after frame
                    for object_id, truth in (("red-cube-1", CUBE), ("blue-ball-1", BALL)):
                        p = objects[object_id].position
                        assert np.linalg.norm([p.x - truth[0], p.y - truth[1], p.z - truth[2]]) < 0.015, (object_id, p)
                    assert scene.camera == "head"

                # The language service listens on the same subject: "the red cube" is the one perception saw.
                replies = await robot.session.ask("please touch the red cube")
                assert [(s.skill, s.object_id) for s in replies[0].plan.steps] == [("reach", "red-cube-1")]
                assert not errors, errors
    finally:
        await sub.unsubscribe()
        await nc.close()


async def test_frames_larger_than_a_nats_message_go_through_the_object_store(stack, keys):
    # 1280x720 raw colour (2.8 MB) and float32 depth (3.7 MB): each is over NATS's 1 MiB,
    # so the gateway stores it in JetStream (rs_frames) and publishes a reference to it;
    # perception fetches the frame and the scene is as good as from small frames.
    camera = PinholeCamera.look_at((0.0, 0.0, 0.6), (0.5, 0.0, 0.0), width=1280, height=720, fov_y_deg=50, name="wide")
    rgb, depth = render(camera, [Box(center=CUBE, size=0.04, color=(220, 30, 30)), Sphere(center=BALL, radius=0.03, color=(30, 60, 220))])
    nc = await nats.connect(stack.nats_url)
    scenes: asyncio.Queue[dialogue_pb2.Scene] = asyncio.Queue()
    on_bus: list[tuple[str, int, control_pb2.ObservationEnvelope]] = []

    async def on_scene(msg):
        scenes.put_nowait(dialogue_pb2.Scene.FromString(msg.data))

    async def on_frame(msg):
        on_bus.append((msg.subject.rsplit(".", 1)[-1], len(msg.data), control_pb2.ObservationEnvelope.FromString(msg.data)))

    subs = [
        await nc.subscribe(subjects.robot_subject("alpha", "wide-seer", subjects.SCENE_STREAM), cb=on_scene),
        await nc.subscribe(subjects.robot_subject("alpha", "wide-seer", "obs.*"), cb=on_frame),
    ]
    try:
        async with RoboSoulClient(stack.gateway_target, keys["alpha"]) as client:
            robot = VirtualRobot(client, "wide-seer")
            emb = embodiment_for(robot.arm)
            emb.cameras.append(camera.to_spec(fps=5, has_depth=True))
            try:
                await client.delete_robot("wide-seer")
            except NotFound:
                pass
            await client.register_robot("wide-seer", emb)
            errors = []
            robot.session.on_error = errors.append
            async with robot:
                last = None
                for _ in range(3):
                    t = time.time()
                    await robot.session.send_camera_frame(rgb, camera="wide", timestamp=t, encoding="rgb8")
                    await robot.session.send_depth_frame(depth, camera="wide", timestamp=t, millimetres=False)
                    last = await asyncio.wait_for(scenes.get(), 60)  # a hang guard (the first frame waits for warm-up)
                    await asyncio.sleep(0.25)
                objects = {o.object_id: o for o in last.objects}
                assert set(objects) == {"red-cube-1", "blue-ball-1"}, objects
                for object_id, truth in (("red-cube-1", CUBE), ("blue-ball-1", BALL)):
                    p = objects[object_id].position
                    assert np.linalg.norm([p.x - truth[0], p.y - truth[1], p.z - truth[2]]) < 0.015, (object_id, p)
                assert not errors, errors
        frames = [(kind, size, env) for kind, size, env in on_bus if kind in ("camera_frame", "depth_frame")]
        assert sorted(kind for kind, _, _ in frames) == ["camera_frame"] * 3 + ["depth_frame"] * 3
        for kind, size, env in frames:
            assert env.HasField("stored_observation") and not env.HasField("observation") and size < 1024, (kind, size)
            assert env.stored_observation.size > rgb.nbytes if kind == "camera_frame" else env.stored_observation.size > depth.astype(np.float32).nbytes
    finally:
        for sub in subs:
            await sub.unsubscribe()
        await nc.close()


async def test_the_virtual_robot_sees_its_table(stack, keys):
    # MuJoCo renders the table's camera (EGL) and the virtual robot streams it through the
    # SDK like a camera driver; every coloured object lands in the scene where it really is.
    robot_id, tag = "table-seer", "gen-s10-5dof-grip"
    table = random_tabletop(load_body(tag), seed=4, n_objects=3, n_distractors=1)
    nc = await nats.connect(stack.nats_url)
    scenes: asyncio.Queue[dialogue_pb2.Scene] = asyncio.Queue()

    async def on_scene(msg):
        scenes.put_nowait(dialogue_pb2.Scene.FromString(msg.data))

    sub = await nc.subscribe(subjects.robot_subject("alpha", robot_id, subjects.SCENE_STREAM), cb=on_scene)
    try:
        async with RoboSoulClient(stack.gateway_target, keys["alpha"]) as client:
            robot = VirtualRobot(client, robot_id, tag=tag, table=table, camera_fps=4)
            await robot.register(replace=True)
            async with robot:
                truth = {o.name: o for o in table.objects if not o.distractor}
                seen: dict[str, dialogue_pb2.SceneObject] = {}
                last = None
                for _ in range(20):  # scenes (objects get ids from their second sighting)
                    if len(seen) == len(truth):
                        break
                    scene = last = await asyncio.wait_for(scenes.get(), 60)
                    positions = table.positions(robot.sim.data)
                    for obj in scene.objects:
                        for name, o in truth.items():
                            p = np.array([obj.position.x, obj.position.y, obj.position.z])
                            if obj.color == o.colour and np.linalg.norm(p - positions[name]) < 0.015:
                                assert obj.label == o.shape, (obj, o)
                                seen[name] = obj
                assert set(seen) == set(truth), (truth, last)
                assert robot.frames_sent >= 2
    finally:
        await sub.unsubscribe()
        await nc.close()
