from __future__ import annotations

import math

import numpy as np
import pytest

from robosoul.v1 import robot_pb2, tensor_pb2
from robosoul_core.camera import PinholeCamera, matrix_to_quaternion, quaternion_to_matrix
from robosoul_core.errors import InvalidArgument


@pytest.fixture
def table_camera():
    return PinholeCamera.look_at((0.0, 0.0, 0.6), (0.5, 0.0, 0.0), width=640, height=480, fov_y_deg=55, name="head")


def _spec(**changes) -> robot_pb2.CameraSpec:
    spec = robot_pb2.CameraSpec(
        name="head", width=640, height=480, fps=30, has_depth=True,
        intrinsics=robot_pb2.CameraIntrinsics(fx=500, fy=500, cx=319.5, cy=239.5),
        extrinsics=tensor_pb2.Pose(position=tensor_pb2.Vec3(x=0.1, y=0.0, z=0.5), orientation=tensor_pb2.Quaternion(w=1.0)),
    )
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        target = spec
        for p in parents:
            target = getattr(target, p)
        if value is None:
            target.ClearField(leaf)
        else:
            setattr(target, leaf, value)
    return spec


def test_identity_extrinsics_mean_the_opencv_optical_frame():
    cam = PinholeCamera.from_spec(_spec())
    # Identity pose: camera axes = base axes, so a point 1 m along base +z is straight ahead,
    # +x is to the image's right and +y is down in the image.
    uv, z = cam.project(np.array([[0.1, 0.0, 1.5], [0.2, 0.0, 1.5], [0.1, 0.1, 1.5]]))
    assert np.allclose(uv[0], [319.5, 239.5]) and np.allclose(z, 1.0)
    assert uv[1, 0] > 319.5 and uv[2, 1] > 239.5


def test_look_at_puts_the_target_at_the_image_centre_with_up_at_the_top(table_camera):
    uv, z = table_camera.project(np.array([[0.5, 0.0, 0.0], [0.5, 0.0, 0.05], [0.5, 0.05, 0.0]]))
    assert np.allclose(uv[0], [319.5, 239.5])
    assert uv[1, 1] < uv[0, 1]  # higher in the world is higher in the image
    assert uv[2, 0] < uv[0, 0]  # base +y is to the left for a camera looking along +x
    assert z[0] == pytest.approx(math.hypot(0.5, 0.6))


def test_deproject_inverts_project(table_camera):
    rng = np.random.default_rng(0)
    points = rng.uniform([0.2, -0.3, 0.0], [0.9, 0.3, 0.3], size=(200, 3))
    uv, z = table_camera.project(points)
    assert np.allclose(table_camera.deproject(uv[:, 0], uv[:, 1], z), points, atol=1e-9)
    rays = table_camera.rays(uv[:, 0], uv[:, 1])
    expected = points - table_camera.position
    assert np.allclose(rays, expected / np.linalg.norm(expected, axis=1, keepdims=True), atol=1e-9)


def test_spec_round_trip_keeps_the_pose(table_camera):
    again = PinholeCamera.from_spec(table_camera.to_spec())
    assert np.allclose(again.rotation, table_camera.rotation, atol=1e-9)
    assert np.allclose(again.position, table_camera.position)
    assert (again.fx, again.cx, again.cy, again.name) == (table_camera.fx, 319.5, 239.5, "head")


def test_an_opengl_camera_becomes_the_same_opencv_camera(table_camera):
    # MuJoCo's cam_xmat: columns are the camera's x (right), y (up), z (backwards) axes.
    rotation_gl = table_camera.rotation @ np.diag([1.0, -1.0, -1.0])
    cam = PinholeCamera.from_opengl(table_camera.position, rotation_gl, width=640, height=480, fov_y_deg=55)
    assert np.allclose(cam.rotation, table_camera.rotation)
    assert cam.fy == pytest.approx(240 / math.tan(math.radians(27.5)))


def test_quaternions_round_trip():
    rng = np.random.default_rng(1)
    for q in rng.normal(size=(50, 4)):
        q /= np.linalg.norm(q)
        rot = quaternion_to_matrix(*q)
        assert np.allclose(rot.T @ rot, np.eye(3), atol=1e-12)
        back = np.array(matrix_to_quaternion(rot))
        assert np.allclose(back, q * np.sign(q[0]), atol=1e-9)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"intrinsics": None}, "intrinsics are not set"),
        ({"extrinsics": None}, "extrinsics are not set"),
        ({"intrinsics__fx": 0.0}, "intrinsics.fx must be > 0"),
        ({"intrinsics__fy": -3.0}, "intrinsics.fy must be > 0"),
        ({"intrinsics__fx": math.nan}, "intrinsics.fx must be a finite number"),
        ({"intrinsics__cx": 5000.0}, "intrinsics.cx = 5000.0 is far outside the image"),
        ({"width": 0}, "width and height must be in 1..8192"),
        ({"extrinsics__orientation__w": 0.0}, "extrinsics.orientation is all zero"),
        ({"extrinsics__orientation__w": 2.0}, "norm 2.0000; it must be a unit quaternion"),
        ({"extrinsics__orientation__x": math.inf}, "extrinsics.orientation.x must be a finite number"),
        ({"extrinsics__position__z": math.nan}, "extrinsics.position.z must be a finite number"),
    ],
)
def test_bad_camera_specs_are_refused_precisely(changes, message):
    with pytest.raises(InvalidArgument, match="camera 'head'") as err:
        PinholeCamera.from_spec(_spec(**changes))
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"eye": (0, 0, 1), "target": (0, 0, 1)}, "eye and target are the same point"),
        ({"eye": (0, 0, 1), "target": (0, 0, 0)}, "parallel to `up`"),
        ({"eye": (0, 0, 1), "target": (1, 0, 0), "fov_y_deg": 180}, "fov_y_deg must be in (0, 180)"),
    ],
)
def test_bad_look_at_arguments(kwargs, message):
    args = {"width": 64, "height": 48, "fov_y_deg": 60, **kwargs}
    with pytest.raises(InvalidArgument) as err:
        PinholeCamera.look_at(args.pop("eye"), args.pop("target"), **args)
    assert message in str(err.value)


def test_a_reflection_is_not_a_rotation():
    with pytest.raises(InvalidArgument, match="not a proper rotation"):
        PinholeCamera(64, 48, 50.0, 50.0, 31.5, 23.5, rotation=np.diag([1.0, 1.0, -1.0]))


def test_a_symmetric_opengl_frustum_is_the_fov_camera(table_camera):
    near, top = 0.05, 0.05 * math.tan(math.radians(55) / 2)
    right = top * 640 / 480
    cam = PinholeCamera.from_opengl_frustum(
        table_camera.position, table_camera.opengl_rotation, width=640, height=480,
        near=near, left=-right, right=right, bottom=-top, top=top, name="head",
    )  # fmt: skip
    assert (cam.fx, cam.fy, cam.cx, cam.cy) == pytest.approx((table_camera.fx, table_camera.fy, 319.5, 239.5))
    assert np.allclose(cam.rotation, table_camera.rotation) and np.allclose(cam.position, table_camera.position)


def test_an_off_centre_frustum_moves_the_principal_point_edge_to_edge():
    # A frustum twice as wide to the right as to the left: the axis passes a third of the way
    # across, measured from the image's left edge (u = -0.5); its top edge is v = -0.5.
    cam = PinholeCamera.from_opengl_frustum(
        (0, 0, 0), np.eye(3), width=300, height=200, near=0.1, left=-0.1, right=0.2, bottom=-0.15, top=0.05
    )
    assert (cam.fx, cam.fy) == pytest.approx((100.0, 100.0))
    assert (cam.cx, cam.cy) == pytest.approx((99.5, 49.5))
    # The frustum's top-left and bottom-right corners (GL frame = base frame here) are the image's outer corners.
    uv, z = cam.project(np.array([[-0.1, 0.05, -0.1], [0.2, -0.15, -0.1]]))
    assert np.allclose(uv, [[-0.5, -0.5], [299.5, 199.5]]) and np.allclose(z, 0.1)


def test_opengl_rotation_inverts_the_conversion(table_camera):
    gl = table_camera.opengl_rotation
    assert np.allclose(gl[:, 2], -table_camera.rotation[:, 2])  # GL looks along its -z
    again = PinholeCamera.from_opengl(table_camera.position, gl, width=640, height=480, fov_y_deg=55)
    assert np.allclose(again.rotation, table_camera.rotation)


@pytest.mark.parametrize(
    ("edges", "message"),
    [
        ({"near": 0.0}, "needs near > 0, right > left and top > bottom; got near=0.0"),
        ({"left": 0.2}, "left=0.2, right=0.1"),
        ({"top": -0.2}, "bottom=-0.1, top=-0.2"),
        ({"right": math.nan}, "frustum.right must be a finite number"),
    ],
)
def test_bad_frustums_are_refused_precisely(edges, message):
    args = {"near": 0.1, "left": -0.1, "right": 0.1, "bottom": -0.1, "top": 0.1, **edges}
    with pytest.raises(InvalidArgument, match="camera 'eye': frustum") as err:
        PinholeCamera.from_opengl_frustum((0, 0, 0), np.eye(3), width=64, height=48, name="eye", **args)
    assert message in str(err.value)
