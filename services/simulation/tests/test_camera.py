"""Simulated cameras and the tabletop scene, rendered for real (MuJoCo offscreen, EGL)."""

import colorsys
import math

import mujoco
import numpy as np
import pytest

from robosoul.v1 import session_pb2
from robosoul_core.camera import PinholeCamera
from robosoul_core.errors import FailedPrecondition, InvalidArgument
from robosoul_core.tensors import to_numpy
from robosoul_core.validation import Limits, validate_depth_frame, validate_embodiment
from robosoul_simulation.bodies import embodiment_for, load_body
from robosoul_simulation.camera import (
    CameraRig,
    camera_frame,
    camera_spec,
    decode_rgb,
    depth_frame,
    encode_rgb,
    pinhole_camera,
)
from robosoul_simulation.sim_arm import SimArm
from robosoul_simulation.tabletop import (
    COLOURS,
    GAP,
    ObjectSpec,
    TableObject,
    camera_placement,
    random_layout,
    random_tabletop,
    tabletop_scene,
)

SEED = 11
NOW = 1_800_000_000.0


@pytest.fixture(scope="module")
def arm():
    return load_body("gen-s10-5dof-grip")


@pytest.fixture(scope="module")
def table(arm):
    return random_tabletop(arm, SEED, n_objects=4, n_distractors=2)


@pytest.fixture(scope="module")
def sim(arm, table):
    return SimArm(arm, table.model)


@pytest.fixture(scope="module")
def rig(table):
    with CameraRig(table.model, table.camera, *table.image_size) as rig:
        yield rig


@pytest.fixture(scope="module")
def image(rig, sim):
    return rig.render(sim.data)


def _surface_distance(obj: TableObject, p: np.ndarray) -> float:
    """Signed distance (m) from p to the object's surface, in its resting pose."""
    d = p - np.array(obj.centre)
    c, s = math.cos(obj.yaw), math.sin(obj.yaw)
    local = np.array([c * d[0] + s * d[1], -s * d[0] + c * d[1], d[2]])
    half = obj.size / 2
    if obj.shape == "ball":
        return float(np.linalg.norm(d) - half)
    if obj.shape == "cube":
        q = np.abs(local) - half
        return float(np.linalg.norm(np.maximum(q, 0)) + min(q.max(), 0.0))
    radial, axial = math.hypot(local[0], local[1]) - half, abs(local[2]) - obj.height / 2
    return float(math.hypot(max(radial, 0), max(axial, 0)) + min(max(radial, axial), 0.0))


def _footprint(obj: TableObject) -> float:
    return obj.size / 2 * (math.sqrt(2) if obj.shape == "cube" else 1.0)


def _hue(rgb) -> tuple[float, float, float]:
    return colorsys.rgb_to_hsv(*(np.asarray(rgb, dtype=float) / 255.0))


def _colour_name(rgb) -> str:
    """The named colour whose hue is nearest (the renderer shades, it keeps hues)."""
    h = _hue(rgb)[0]

    def apart(name: str) -> float:
        d = abs(h - colorsys.rgb_to_hsv(*COLOURS[name])[0])
        return min(d, 1 - d)

    return min(COLOURS, key=apart)


# -- geometry: intrinsics, extrinsics and depth agree ----------------------------------------


def test_spec_matches_the_documented_conventions(arm, table, rig, sim):
    spec = rig.spec(sim.data)
    h, w = 480, 640
    fovy = math.radians(table.model.cam_fovy[table.model.camera(table.camera).id])
    assert (spec.name, spec.width, spec.height, spec.has_depth) == ("front", w, h, True)
    assert spec.intrinsics.fy == pytest.approx((h / 2) / math.tan(fovy / 2))
    assert spec.intrinsics.fx == pytest.approx(spec.intrinsics.fy)
    assert (spec.intrinsics.cx, spec.intrinsics.cy) == pytest.approx(((w - 1) / 2, (h - 1) / 2))
    pose = PinholeCamera.from_spec(spec)
    cam = table.model.camera(table.camera).id
    mj = sim.data.cam_xmat[cam].reshape(3, 3)
    # Optical z looks where MuJoCo's camera looks (its -z); optical y is MuJoCo's -y (down).
    np.testing.assert_allclose(pose.rotation[:, 2], -mj[:, 2], atol=1e-9)
    np.testing.assert_allclose(pose.rotation[:, 1], -mj[:, 1], atol=1e-9)
    np.testing.assert_allclose(pose.rotation[:, 0], mj[:, 0], atol=1e-9)
    np.testing.assert_allclose(pose.position, sim.data.cam_xpos[cam])
    assert pose.rotation[2, 2] < -0.5, "the camera looks down at the table"
    assert rig.spec(sim.data) == camera_spec(table.model, "front", w, h)
    # The rig's camera is the one its spec describes, and the one the tabletop placed.
    direct = rig.pinhole(sim.data)
    assert direct.to_spec(fps=spec.fps) == spec == pinhole_camera(table.model, "front", w, h, sim.data).to_spec(fps=spec.fps)
    np.testing.assert_allclose(direct.rotation, camera_placement(arm).rotation, atol=1e-9)
    np.testing.assert_allclose(direct.position, camera_placement(arm).position, atol=1e-9)


def test_depth_back_projected_at_each_objects_centre_pixel_lies_on_its_surface(table, rig, sim, image):
    cam = PinholeCamera.from_spec(rig.spec(sim.data))
    assert image.depth.dtype == np.float32 and image.depth.shape == (480, 640)
    for obj in table.objects:
        uv, z = cam.project(np.array(obj.centre))
        u, v = (int(c) for c in np.round(uv[0]))
        depth = float(image.depth[v, u])
        assert 0 < depth < z[0], f"{obj.name}: the surface is in front of the centre"
        point = cam.deproject(u, v, depth)[0]
        assert abs(_surface_distance(obj, point)) < 0.003, (
            f"{obj.name}: {point} is {_surface_distance(obj, point) * 1000:.1f} mm off"
        )


def test_depth_of_the_floor_back_projects_onto_the_floor(rig, sim, image):
    cam = PinholeCamera.from_spec(rig.spec(sim.data))
    rows, cols = np.mgrid[400:480:20, 0:640:80]
    points = cam.deproject(cols, rows, image.depth[rows, cols])
    np.testing.assert_allclose(points[:, 2], 0.0, atol=0.002)


def test_projected_centres_land_on_the_objects_colour(table, rig, sim, image):
    cam = PinholeCamera.from_spec(rig.spec(sim.data))
    for obj in table.objects:
        uv, _ = cam.project(np.array(obj.centre))
        u, v = (int(x) for x in np.round(uv[0]))
        patch = image.rgb[v - 1 : v + 2, u - 1 : u + 2].reshape(-1, 3)
        if obj.distractor:
            value = _hue(np.median(patch, axis=0))[2]
            floor_value = _hue(image.rgb[470, 5])[2]
            assert abs(value - floor_value) > 0.1, f"{obj.name} stands out from the floor"
            continue
        for px in patch:
            assert _hue(px)[1] > 0.4 and _colour_name(px) == obj.colour, f"{obj.name} at ({u}, {v}) shows {px}"
        # The blob of its colour sits around the projected centre.
        hsv = np.array([_hue(p) for p in image.rgb[v - 40 : v + 41, u - 40 : u + 41].reshape(-1, 3)])
        names = np.array([_colour_name(p) for p in image.rgb[v - 40 : v + 41, u - 40 : u + 41].reshape(-1, 3)])
        mine = (names == obj.colour) & (hsv[:, 1] > 0.4)
        ys, xs = np.divmod(np.flatnonzero(mine), 81)
        extent = cam.fx * obj.size / np.linalg.norm(np.array(obj.centre) - cam.position)
        assert math.hypot(xs.mean() - 40, ys.mean() - 40) < 0.5 * extent


@pytest.mark.parametrize(
    "lens", ['fovy="63"', 'sensorsize="0.0064 0.0048" focalpixel="500 520" resolution="640 480" principalpixel="10 -8"']
)
def test_intrinsics_place_points_to_a_fraction_of_a_pixel(lens):
    # A bright ball off the axis against black: its blob's centroid is its centre's projection.
    xml = f"""<mujoco><visual><global offwidth="640" offheight="480"/><quality offsamples="0"/>
      <headlight ambient="1 1 1" diffuse="0 0 0" specular="0 0 0"/></visual><worldbody>
      <camera name="eye" pos="0.1 -0.2 1" xyaxes="1 0.1 0 -0.1 1 0.3" {lens}/>
      <geom name="ball" type="sphere" size="0.02" pos="0.25 -0.05 0.2" rgba="1 1 1 1"/>
      </worldbody></mujoco>"""
    model = mujoco.MjModel.from_xml_string(xml)
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    with CameraRig(model, "eye", 640, 480) as rig:
        image = rig.render(data)
        cam = PinholeCamera.from_spec(rig.spec(data))
    v, u = np.nonzero(image.rgb[..., 0] > 128)
    uv, z = cam.project(data.geom_xpos[0])
    assert len(u) > 200
    np.testing.assert_allclose([u.mean(), v.mean()], uv[0], atol=0.15)
    # The ball's nearest point is its radius closer than its centre along the ray.
    centre_depth = image.depth[int(round(uv[0][1])), int(round(uv[0][0]))]
    ray = np.linalg.norm(cam.deproject(*uv[0], 1.0)[0] - cam.position)
    assert centre_depth == pytest.approx(z[0] - 0.02 / ray, abs=5e-4)
    assert image.depth[0, 0] == 0.0, "no surface: depth 0"


# -- the tabletop -----------------------------------------------------------------------------


def test_random_tabletops_repeat_by_seed_and_keep_objects_apart(arm, table):
    again = random_tabletop(arm, SEED, n_objects=4, n_distractors=2)
    assert again.objects == table.objects and again.pick == table.pick
    np.testing.assert_array_equal(again.model.body_pos, table.model.body_pos)
    assert random_layout(arm, SEED + 1, 4, 2) != random_layout(arm, SEED, 4, 2)
    for seed in range(5):
        top = random_tabletop(arm, seed, n_objects=5, n_distractors=3)
        objs = top.objects
        assert len(objs) == 8 and len({o.name for o in objs}) == 8
        assert sum(o.distractor for o in objs) == 3
        assert len({(o.colour, o.shape) for o in objs if not o.distractor}) == 5
        pick = top.object(top.pick)
        assert (pick.shape, pick.size, pick.distractor) == ("cube", 0.03, False)
        for i, a in enumerate(objs):
            assert 0.03 <= a.size <= 0.05 and a.centre[2] == pytest.approx(a.height / 2)
            for b in objs[i + 1 :]:
                gap = math.dist(a.centre[:2], b.centre[:2]) - _footprint(a) - _footprint(b)
                assert gap >= GAP - 1e-9, f"seed {seed}: {a.name} and {b.name} are {gap * 100:.1f} cm apart"


def test_coloured_objects_can_be_grasped_from_above(arm):
    from robosoul_simulation.expert import Expert

    expert = Expert(arm)
    for seed in range(3):
        for obj in random_tabletop(arm, seed, n_objects=4).objects:
            goal, err = expert.grasp_configuration(np.array(obj.centre) + [0, 0, 0.01], arm.gripper_open)
            assert err < 2e-3 and arm.kinematics.is_clear(goal), f"seed {seed}: {obj.name}"


def test_objects_rest_where_the_ground_truth_says_and_leave_the_arm_alone(arm, table):
    sim = SimArm(arm, table.model)
    np.testing.assert_array_equal(sim.qpos_adr, arm.qpos_adr)
    sim.advance(1.0)
    for name, now in table.positions(sim.data).items():
        np.testing.assert_allclose(now, table.object(name).centre, atol=0.002, err_msg=name)
    np.testing.assert_allclose(sim.joint_positions()[arm.chain], arm.rest[arm.chain], atol=0.01)


def test_a_given_layout_and_an_arm_without_gripper():
    arm = load_body("rs-arm4")
    top = tabletop_scene(arm, [ObjectSpec("blue", "ball", 0.04, 0.3, -0.1), ObjectSpec("blue", "ball", 0.04, 0.3, 0.1)])
    assert [o.name for o in top.objects] == ["blue_ball", "blue_ball_2"] and top.pick is None
    assert top.object("blue_ball").centre == pytest.approx((0.3, -0.1, 0.02))
    assert [top.model.camera(c).name for c in range(top.model.ncam)] == ["front"]
    assert random_tabletop(arm, 3, n_objects=3).pick is not None


def _shown_rgba(model: mujoco.MjModel, g: int) -> np.ndarray:
    """The colour a geom is drawn in: its material's unless its own rgba differs from the default."""
    mat = int(model.geom_matid[g])
    if mat >= 0 and np.allclose(model.geom_rgba[g], [0.5, 0.5, 0.5, 1.0]):
        return model.mat_rgba[mat]
    return model.geom_rgba[g]


@pytest.mark.parametrize("tag", ["gen-s10-5dof-grip", "rs-arm4"])
def test_the_arm_is_grey_and_its_physics_unchanged(tag):
    arm = load_body(tag)
    before = arm.model
    after = tabletop_scene(arm, [ObjectSpec("blue", "ball", 0.04, 0.3, 0.0)]).model
    assert any(_hue(255 * _shown_rgba(before, g)[:3])[1] > 0.4 for g in range(before.ngeom)), "the arm had colour"
    floor = int(mujoco.mjtGeom.mjGEOM_PLANE)
    for g in range(before.ngeom):  # the arm's geoms come first, the objects after
        assert after.geom(g).name == before.geom(g).name
        rgba = _shown_rgba(after, g)
        if int(after.geom_type[g]) != floor:
            assert np.ptp(rgba[:3]) < 1e-6 and 0.15 - 1e-6 <= rgba[0] <= 0.85 + 1e-6, f"{tag}: {after.geom(g).name} is {rgba}"
        mat = int(after.geom_matid[g])
        assert mat < 0 or (after.mat_texid[mat] < 0).all(), f"{tag}: {after.geom(g).name} keeps a texture"
    for field in ("geom_type", "geom_size", "geom_pos", "geom_quat", "geom_friction", "geom_contype", "geom_conaffinity",
                  "geom_condim", "geom_solref", "geom_solimp", "geom_margin"):  # fmt: skip
        np.testing.assert_array_equal(getattr(after, field)[: before.ngeom], getattr(before, field), err_msg=field)
    for field in ("body_mass", "body_inertia", "body_ipos", "body_pos"):
        np.testing.assert_array_equal(getattr(after, field)[: before.nbody], getattr(before, field), err_msg=field)


def test_only_the_objects_show_colour(table, rig, sim, image):
    # Every saturated pixel is part of a coloured object's blob: the arm, floor and shadows are not.
    cam = rig.pinhole(sim.data)
    top, bottom = image.rgb.max(axis=2).astype(float), image.rgb.min(axis=2).astype(float)
    saturation = np.divide(top - bottom, top, out=np.zeros_like(top), where=top > 0)
    vivid = (saturation > 0.35) & (top > 0.15 * 255)
    near = np.zeros_like(vivid)
    rows, cols = np.mgrid[0:480, 0:640]
    for obj in table.objects:
        uv, z = cam.project(np.array(obj.centre))
        radius = 1.5 * cam.fx * obj.size / z[0] + 2
        near |= np.hypot(cols - uv[0, 0], rows - uv[0, 1]) < radius
    assert vivid.sum() > 500 and not (vivid & ~near).any(), f"{(vivid & ~near).sum()} vivid pixels away from the objects"


# -- to the wire ------------------------------------------------------------------------------


def test_frames_for_the_wire(image):
    png = camera_frame("front", image.rgb, "png", timestamp=12.5)
    assert (png.encoding, png.width, png.height, png.timestamp.seconds, png.timestamp.nanos) == (
        session_pb2.IMAGE_ENCODING_PNG, 640, 480, 12, 500_000_000,
    )  # fmt: skip
    np.testing.assert_array_equal(decode_rgb(png.encoded), image.rgb)
    jpeg = camera_frame("front", image.rgb, "jpeg")
    assert jpeg.encoded[:2] == b"\xff\xd8" and len(jpeg.encoded) < len(png.encoded)
    assert np.abs(decode_rgb(jpeg.encoded).astype(int) - image.rgb).mean() < 3
    raw = camera_frame("front", image.rgb, "rgb8")
    np.testing.assert_array_equal(to_numpy(raw.raw), image.rgb)
    metres = depth_frame("front", image.depth, dtype="float32")
    np.testing.assert_array_equal(to_numpy(metres.depth), image.depth)


def test_depth_frames_are_millimetres_that_the_gateway_takes(arm, rig, sim, image):
    frame = depth_frame("front", image.depth, timestamp=NOW)
    mm = to_numpy(frame.depth)
    assert mm.dtype == np.uint16 and mm.shape == (480, 640)
    seen = image.depth > 0
    assert seen.mean() > 0.9 and ((mm > 0) == seen).all(), "0 means no reading, and only that"
    assert np.abs(mm / 1000.0 - image.depth).max() <= 0.0005 + 1e-7
    # The embodiment as a robot would register it, with this camera: the gateway's checks pass.
    emb = embodiment_for(arm)
    del emb.cameras[:]
    emb.cameras.append(rig.spec(sim.data))
    validate_embodiment(emb, Limits())
    validate_depth_frame(frame, emb, Limits(), now=NOW)
    # Float metres are twice the size (over one NATS message: the gateway stores them), and
    # a gateway with a smaller frame limit refuses them naming the size.
    float_frame = depth_frame("front", image.depth, dtype="float32", timestamp=NOW)
    validate_depth_frame(float_frame, emb, Limits(), now=NOW)
    with pytest.raises(InvalidArgument, match=r"depth_frame.depth is 1228800 bytes; at most 921600"):
        validate_depth_frame(float_frame, emb, Limits(max_frame_bytes=900 << 10), now=NOW)


def test_millimetres_round_and_saturate():
    metres = np.array([[0.0, 0.0001, 0.0004, 0.0006, 1.23449], [1.2345501, 65.5349, 65.5351, 100.0, 1e9]], np.float32)
    mm = to_numpy(depth_frame("cam", metres).depth)
    np.testing.assert_array_equal(mm, [[0, 1, 1, 1, 1234], [1235, 65535, 65535, 65535, 65535]])


# -- bad input --------------------------------------------------------------------------------


def test_bad_camera_requests_are_refused_precisely(table, rig, sim, monkeypatch):
    m = table.model
    with pytest.raises(InvalidArgument, match=r"no camera named 'wrist'; its cameras: \['front'\]"):
        CameraRig(m, "wrist")
    with pytest.raises(InvalidArgument, match="width must be a positive integer, got 0"):
        CameraRig(m, "front", 0, 480)
    with pytest.raises(InvalidArgument, match="height must be a positive integer, got 2.5"):
        camera_spec(m, "front", 640, 2.5)
    with pytest.raises(InvalidArgument, match=r"1280x960 exceeds the model's offscreen buffer 640x480.*offwidth=\"1280\""):
        CameraRig(m, "front", 1280, 960)
    with pytest.raises(InvalidArgument, match="fps must be a positive number"):
        CameraRig(m, "front", fps=0)
    monkeypatch.setenv("MUJOCO_GL", "vulkan")
    with pytest.raises(FailedPrecondition, match="MUJOCO_GL='vulkan' is not an offscreen OpenGL backend"):
        CameraRig(m, "front")
    monkeypatch.undo()
    closed = CameraRig(m, "front", 64, 48)
    closed.close()
    with pytest.raises(FailedPrecondition, match="render called after close"):
        closed.render(sim.data)
    with pytest.raises(InvalidArgument, match=r"uint8 \[height, width, 3\]; got float64"):
        encode_rgb(np.zeros((4, 4, 3)))
    with pytest.raises(InvalidArgument, match="encoding 'gif'"):
        camera_frame("front", np.zeros((4, 4, 3), np.uint8), "gif")
    with pytest.raises(InvalidArgument, match="finite and >= 0"):
        depth_frame("front", np.full((4, 4), np.nan, np.float32))
    with pytest.raises(InvalidArgument, match=r"depth dtype 'uint8' is not one of \['uint16', 'float32'\]"):
        depth_frame("front", np.ones((4, 4), np.float32), dtype="uint8")
    with pytest.raises(InvalidArgument, match=r"float \[height, width\] in metres; got uint16"):
        depth_frame("front", np.ones((4, 4), np.uint16))
    with pytest.raises(InvalidArgument, match="not a JPEG or PNG"):
        decode_rgb(b"GIF89a")


def test_bad_tables_are_refused_precisely(arm):
    with pytest.raises(InvalidArgument, match=r"n_objects must be 1-12"):
        random_layout(arm, 0, n_objects=0)
    with pytest.raises(InvalidArgument, match=r"n_distractors must be 0-3"):
        random_layout(arm, 0, n_distractors=4)
    with pytest.raises(InvalidArgument, match="unknown colour 'teal'"):
        tabletop_scene(arm, [ObjectSpec("teal", "cube", 0.03, 0.4, 0.0)])
    with pytest.raises(InvalidArgument, match="unknown shape 'cone'"):
        tabletop_scene(arm, [ObjectSpec("red", "cone", 0.03, 0.4, 0.0)])
    with pytest.raises(InvalidArgument, match="size 0.0 m is outside"):
        tabletop_scene(arm, [ObjectSpec("red", "cube", 0.0, 0.4, 0.0)])
    with pytest.raises(InvalidArgument, match="the red cube and the blue ball overlap"):
        tabletop_scene(arm, [ObjectSpec("red", "cube", 0.04, 0.4, 0.0), ObjectSpec("blue", "ball", 0.04, 0.42, 0.0)])
    with pytest.raises(InvalidArgument, match="pick index 1 is not one of the 1 objects"):
        tabletop_scene(arm, [ObjectSpec("red", "cube", 0.03, 0.4, 0.0)], pick=1)
    with pytest.raises(InvalidArgument, match="no object named 'red_ball'"):
        tabletop_scene(arm, [ObjectSpec("red", "cube", 0.03, 0.4, 0.0)]).object("red_ball")
