"""A calibrated pinhole camera: pixels and depth <-> points in the robot's base frame.

Conventions (the same for every camera RoboSoul sees, real or simulated):

- `CameraSpec.extrinsics` is the pose of the camera in the robot's base frame, with the
  **OpenCV optical convention**: the camera's x axis points right in the image, y down,
  z forward (along the optical axis). Its rotation's columns are those three axes
  written in the base frame. MuJoCo and OpenGL cameras look along -z with +y up; their
  rotation becomes ours with `R_cv = R_gl @ diag(1, -1, -1)` (`PinholeCamera.from_opengl`).
- Pixel (u, v) is column u, row v, and integer coordinates are pixel *centres*. A camera
  whose optical axis passes through the middle of a W x H image has cx = (W - 1) / 2,
  cy = (H - 1) / 2.
- Depth is the distance along the optical axis (z in the camera frame), in metres, as
  depth cameras and MuJoCo's depth buffer report it, not the length of the ray.

    >>> cam = PinholeCamera.look_at((0.0, 0.0, 1.0), (0.5, 0.0, 0.0), width=640, height=480, fov_y_deg=60)
    >>> uv, z = cam.project(np.array([[0.5, 0.0, 0.0]]))
    >>> [round(float(c), 3) for c in uv[0]], round(float(z[0]), 3)
    ([319.5, 239.5], 1.118)
    >>> np.round(cam.deproject(uv[:, 0], uv[:, 1], z), 6).tolist()
    [[0.5, 0.0, 0.0]]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from robosoul.v1 import robot_pb2, tensor_pb2
from robosoul_core.errors import InvalidArgument

MAX_SIDE = 8192
# A quaternion further than this from unit length is a mistake, not rounding.
QUATERNION_TOLERANCE = 1e-3
_GL_TO_CV = np.diag([1.0, -1.0, -1.0])


def quaternion_to_matrix(w: float, x: float, y: float, z: float) -> np.ndarray:
    """Rotation matrix of a unit quaternion (w, x, y, z)."""
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ])


def matrix_to_quaternion(rotation: np.ndarray) -> tuple[float, float, float, float]:
    """Unit quaternion (w, x, y, z) with w >= 0 of a rotation matrix."""
    m = np.asarray(rotation, dtype=np.float64)
    trace = m[0, 0] + m[1, 1] + m[2, 2]
    if trace > 0:
        s = 2.0 * math.sqrt(trace + 1.0)
        q = (0.25 * s, (m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s)
    elif m[0, 0] > m[1, 1] and m[0, 0] > m[2, 2]:
        s = 2.0 * math.sqrt(1.0 + m[0, 0] - m[1, 1] - m[2, 2])
        q = ((m[2, 1] - m[1, 2]) / s, 0.25 * s, (m[0, 1] + m[1, 0]) / s, (m[0, 2] + m[2, 0]) / s)
    elif m[1, 1] > m[2, 2]:
        s = 2.0 * math.sqrt(1.0 + m[1, 1] - m[0, 0] - m[2, 2])
        q = ((m[0, 2] - m[2, 0]) / s, (m[0, 1] + m[1, 0]) / s, 0.25 * s, (m[1, 2] + m[2, 1]) / s)
    else:
        s = 2.0 * math.sqrt(1.0 + m[2, 2] - m[0, 0] - m[1, 1])
        q = ((m[1, 0] - m[0, 1]) / s, (m[0, 2] + m[2, 0]) / s, (m[1, 2] + m[2, 1]) / s, 0.25 * s)
    n = math.sqrt(sum(c * c for c in q))
    sign = -1.0 if q[0] < 0 else 1.0
    w, x, y, z = (sign * c / n for c in q)
    return w, x, y, z


def _finite(value: float, name: str) -> float:
    if not math.isfinite(value):
        raise InvalidArgument(f"{name} must be a finite number, got {value}")
    return float(value)


@dataclass(frozen=True)
class PinholeCamera:
    """Intrinsics and the camera's pose in the base frame (OpenCV optical axes, see the module doc)."""

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    # Columns: the camera's x (right), y (down), z (forward) axes in the base frame.
    rotation: np.ndarray = field(default_factory=lambda: np.eye(3))
    # The optical centre in the base frame (metres).
    position: np.ndarray = field(default_factory=lambda: np.zeros(3))
    name: str = ""

    def __post_init__(self) -> None:
        if not (0 < self.width <= MAX_SIDE and 0 < self.height <= MAX_SIDE):
            raise InvalidArgument(f"camera {self.name!r}: width and height must be in 1..{MAX_SIDE}, got {self.width}x{self.height}")
        for key in ("fx", "fy"):
            value = _finite(getattr(self, key), f"camera {self.name!r}: intrinsics.{key}")
            if value <= 0:
                raise InvalidArgument(f"camera {self.name!r}: intrinsics.{key} must be > 0 (pixels), got {value}")
        for key, side in (("cx", self.width), ("cy", self.height)):
            value = _finite(getattr(self, key), f"camera {self.name!r}: intrinsics.{key}")
            if not -side <= value <= 2 * side:
                raise InvalidArgument(f"camera {self.name!r}: intrinsics.{key} = {value} is far outside the image (0..{side})")
        rot = np.asarray(self.rotation, dtype=np.float64)
        pos = np.asarray(self.position, dtype=np.float64)
        if rot.shape != (3, 3) or not np.isfinite(rot).all():
            raise InvalidArgument(f"camera {self.name!r}: rotation must be a finite 3x3 matrix")
        if not np.allclose(rot.T @ rot, np.eye(3), atol=1e-6) or np.linalg.det(rot) < 0:
            raise InvalidArgument(f"camera {self.name!r}: rotation is not a proper rotation matrix")
        if pos.shape != (3,) or not np.isfinite(pos).all():
            raise InvalidArgument(f"camera {self.name!r}: position must be 3 finite numbers")
        object.__setattr__(self, "rotation", rot)
        object.__setattr__(self, "position", pos)

    # ---------------------------------------------------------------- construction

    @classmethod
    def from_spec(cls, spec: robot_pb2.CameraSpec) -> PinholeCamera:
        """The camera a vendor registered; raises InvalidArgument naming the bad field."""
        where = f"camera {spec.name!r}"
        if not spec.HasField("intrinsics"):
            raise InvalidArgument(f"{where}: intrinsics are not set (fx, fy, cx, cy in pixels)")
        if not spec.HasField("extrinsics"):
            raise InvalidArgument(f"{where}: extrinsics are not set (the camera's pose in the base frame)")
        q = spec.extrinsics.orientation
        quat = [_finite(getattr(q, k), f"{where}: extrinsics.orientation.{k}") for k in "wxyz"]
        norm = math.sqrt(sum(c * c for c in quat))
        if norm == 0:
            raise InvalidArgument(f"{where}: extrinsics.orientation is all zero; send a unit quaternion (w, x, y, z)")
        if abs(norm - 1.0) > QUATERNION_TOLERANCE:
            raise InvalidArgument(f"{where}: extrinsics.orientation has norm {norm:.4f}; it must be a unit quaternion (w, x, y, z)")
        p = spec.extrinsics.position
        pos = [_finite(getattr(p, k), f"{where}: extrinsics.position.{k}") for k in "xyz"]
        i = spec.intrinsics
        return cls(
            width=spec.width, height=spec.height, fx=i.fx, fy=i.fy, cx=i.cx, cy=i.cy,
            rotation=quaternion_to_matrix(*(c / norm for c in quat)), position=np.array(pos), name=spec.name,
        )

    def to_spec(self, *, fps: float = 30.0, has_depth: bool = True) -> robot_pb2.CameraSpec:
        w, x, y, z = matrix_to_quaternion(self.rotation)
        px, py, pz = (float(c) for c in self.position)
        return robot_pb2.CameraSpec(
            name=self.name, width=self.width, height=self.height, fps=fps, has_depth=has_depth,
            intrinsics=robot_pb2.CameraIntrinsics(fx=self.fx, fy=self.fy, cx=self.cx, cy=self.cy),
            extrinsics=tensor_pb2.Pose(
                position=tensor_pb2.Vec3(x=px, y=py, z=pz), orientation=tensor_pb2.Quaternion(w=w, x=x, y=y, z=z)
            ),
        )

    @staticmethod
    def centred_intrinsics(width: int, height: int, fov_y_deg: float) -> tuple[float, float, float, float]:
        """(fx, fy, cx, cy) of an ideal camera with square pixels and a vertical field of view (MuJoCo's `fovy`)."""
        if not 0 < fov_y_deg < 180:
            raise InvalidArgument(f"fov_y_deg must be in (0, 180), got {fov_y_deg}")
        f = 0.5 * height / math.tan(math.radians(fov_y_deg) / 2)
        return f, f, (width - 1) / 2, (height - 1) / 2

    @classmethod
    def look_at(
        cls,
        eye: Sequence[float],
        target: Sequence[float],
        *,
        width: int,
        height: int,
        fov_y_deg: float,
        up: Sequence[float] = (0.0, 0.0, 1.0),
        name: str = "",
    ) -> PinholeCamera:
        """An ideal camera at `eye` looking at `target` (base frame), image top towards `up`."""
        eye_v, target_v, up_v = (np.asarray(v, dtype=np.float64) for v in (eye, target, up))
        forward = target_v - eye_v
        if np.linalg.norm(forward) < 1e-9:
            raise InvalidArgument("look_at: eye and target are the same point")
        forward /= np.linalg.norm(forward)
        right = np.cross(forward, up_v)
        if np.linalg.norm(right) < 1e-9:
            raise InvalidArgument("look_at: the viewing direction is parallel to `up`; choose another `up`")
        right /= np.linalg.norm(right)
        down = np.cross(forward, right)
        fx, fy, cx, cy = cls.centred_intrinsics(width, height, fov_y_deg)
        return cls(width, height, fx, fy, cx, cy, np.column_stack([right, down, forward]), eye_v, name)

    @classmethod
    def from_opengl(
        cls, position: Sequence[float], rotation_gl: np.ndarray, *, width: int, height: int, fov_y_deg: float, name: str = ""
    ) -> PinholeCamera:
        """A MuJoCo / OpenGL camera (looks along -z, +y up), e.g. `data.cam_xpos[i]`, `data.cam_xmat[i].reshape(3, 3)`
        and `model.cam_fovy[i]`, with positions in the base frame."""
        fx, fy, cx, cy = cls.centred_intrinsics(width, height, fov_y_deg)
        rot = np.asarray(rotation_gl, dtype=np.float64).reshape(3, 3) @ _GL_TO_CV
        return cls(width, height, fx, fy, cx, cy, rot, np.asarray(position, dtype=np.float64), name)

    @classmethod
    def from_opengl_frustum(
        cls,
        position: Sequence[float],
        rotation_gl: np.ndarray,
        *,
        width: int,
        height: int,
        near: float,
        left: float,
        right: float,
        bottom: float,
        top: float,
        name: str = "",
    ) -> PinholeCamera:
        """An OpenGL / MuJoCo camera (looks along -z, +y up) given by its viewing frustum: `glFrustum`'s
        left, right, bottom and top edges at distance `near` (e.g. MuJoCo's `mjvGLCamera`, which has them for
        lenses given by `focal`, `sensorsize` and `principal` too). The image spans the frustum edge to edge:
        its left edge is u = -0.5 and its top edge v = -0.5 (pixel centres at integers)."""
        where = f"camera {name!r}: frustum"
        edges = {"near": near, "left": left, "right": right, "bottom": bottom, "top": top}
        n, lo, hi, b, t = (_finite(v, f"{where}.{k}") for k, v in edges.items())
        if not (n > 0 and hi > lo and t > b):
            got = ", ".join(f"{k}={v}" for k, v in edges.items())
            raise InvalidArgument(f"{where} needs near > 0, right > left and top > bottom; got {got}")
        fx, fy = width * n / (hi - lo), height * n / (t - b)
        cx, cy = width * -lo / (hi - lo) - 0.5, height * t / (t - b) - 0.5
        rot = np.asarray(rotation_gl, dtype=np.float64).reshape(3, 3) @ _GL_TO_CV
        return cls(width, height, fx, fy, cx, cy, rot, np.asarray(position, dtype=np.float64), name)

    @property
    def opengl_rotation(self) -> np.ndarray:
        """The rotation in the OpenGL / MuJoCo camera convention (x right, y up, looking along -z): what
        `from_opengl` takes, e.g. for a MuJoCo `<camera>`'s orientation."""
        return self.rotation @ _GL_TO_CV

    # ---------------------------------------------------------------- geometry

    def deproject(self, u: np.ndarray, v: np.ndarray, depth: np.ndarray) -> np.ndarray:
        """Base-frame points (N, 3) of pixels (u, v) at optical-axis depths (metres)."""
        u, v, d = (np.asarray(a, dtype=np.float64).ravel() for a in (u, v, depth))
        cam = np.stack([(u - self.cx) / self.fx * d, (v - self.cy) / self.fy * d, d], axis=1)
        return cam @ self.rotation.T + self.position

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pixels (N, 2) of base-frame points (N, 3) and their depths (N,) (negative: behind the camera)."""
        cam = (np.asarray(points, dtype=np.float64).reshape(-1, 3) - self.position) @ self.rotation
        z = cam[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            uv = np.stack([self.fx * cam[:, 0] / z + self.cx, self.fy * cam[:, 1] / z + self.cy], axis=1)
        return uv, z

    def rays(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Unit viewing directions (N, 3) in the base frame through pixels (u, v)."""
        u, v = (np.asarray(a, dtype=np.float64).ravel() for a in (u, v))
        cam = np.stack([(u - self.cx) / self.fx, (v - self.cy) / self.fy, np.ones_like(u)], axis=1)
        cam /= np.linalg.norm(cam, axis=1, keepdims=True)
        return cam @ self.rotation.T

    def depth_of(self, points: np.ndarray) -> np.ndarray:
        """Optical-axis depth of base-frame points (N, 3)."""
        return ((np.asarray(points, dtype=np.float64).reshape(-1, 3) - self.position) @ self.rotation)[:, 2]


MAX_DEPTH_MM = 65535


def depth_to_millimetres(depth_m: np.ndarray) -> np.ndarray:
    """Depth in float metres -> uint16 millimetres as `DepthFrame` carries it (half the bytes).

    Rounded to the millimetre; 0 (no reading) where the input is NaN, infinite or
    <= 0; a reading nearer than 0.5 mm stays a reading (1 mm) and one beyond
    65.535 m is clipped to it.

        >>> depth_to_millimetres(np.array([0.0, 0.0004, 1.2345, np.nan, 70.0])).tolist()
        [0, 1, 1234, 0, 65535]
    """
    depth = np.asarray(depth_m, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        reading = np.isfinite(depth) & (depth > 0)
        mm = np.clip(np.rint(np.where(reading, depth, 0.0) * 1000.0), 1, MAX_DEPTH_MM)
    return np.where(reading, mm, 0).astype(np.uint16)

