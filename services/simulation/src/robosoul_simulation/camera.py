"""Simulated cameras: colour and metric depth images from a MuJoCo camera, and its CameraSpec.

    >>> rig = CameraRig(model, "front", width=640, height=480)
    >>> image = rig.render(data)            # after mj_forward / mj_step
    >>> image.rgb.shape, image.depth.dtype  # ((480, 640, 3) uint8, float32 metres)
    >>> cam = rig.pinhole(data)             # robosoul_core.camera.PinholeCamera: project / deproject
    >>> rig.spec(data)                      # robosoul.v1.CameraSpec for the embodiment
    >>> camera_frame("front", image.rgb, encoding="jpeg"), depth_frame("front", image.depth)  # depth: uint16 mm
    >>> rig.close()                         # or `with CameraRig(...) as rig:`

The geometry (pixels, depth, poses, the OpenCV optical frame) is `robosoul_core.camera`'s,
the same for real and simulated cameras; this module reads a MuJoCo camera into a
`PinholeCamera` and renders what it sees:

- **Intrinsics** come from the frustum MuJoCo renders with (`mjvGLCamera`), so cameras
  given by `focal`/`sensorsize`/`principal` instead of `fovy` are right too. A `fovy`
  camera has fy = (h/2) / tan(fovy/2), fx = fy, cx = (w-1)/2, cy = (h-1)/2: MuJoCo's
  image plane spans the frustum edge to edge (measured, not assumed).
- **Extrinsics** are the pose of the camera's optical frame in the robot's base frame,
  which is the model's world frame: RoboSoul's arms (rs-arm4, the generated ones) have
  their base body at the origin, and motion goals are given in the same frame.
- **Depth** (`CameraImage.depth`) is float32 metres along the optical axis, 0 where no
  surface lies within the far clipping plane (as RGB-D sensors report "no return").
  On the wire (`depth_frame`) it is uint16 millimetres by default.
- The camera sees geoms of groups 0-2 (MuJoCo's default) and no sites: the reach
  target and end-effector markers are debugging aids, not scenery.

Rendering needs an OpenGL context without a display. MuJoCo picks its backend from
``MUJOCO_GL`` when ``mujoco`` is first imported, so this module opens the context
itself: EGL when ``MUJOCO_GL`` is unset or ``egl`` (it sets ``MUJOCO_GL=egl`` then,
for child processes), else the backend named. Software Mesa EGL works on machines
without a GPU. A machine that cannot open a context gets `FailedPrecondition` naming
the backend and the cause.

One `CameraRig` may be used from any thread, one render at a time (it holds a lock
and makes its context current only while rendering).
"""

from __future__ import annotations

import io
import math
import os
import threading
from dataclasses import dataclass

import mujoco
import numpy as np
from google.protobuf import timestamp_pb2

from robosoul.v1 import robot_pb2, session_pb2
from robosoul_core.camera import PinholeCamera, depth_to_millimetres
from robosoul_core.errors import FailedPrecondition, InvalidArgument
from robosoul_core.tensors import from_numpy

DEFAULT_WIDTH, DEFAULT_HEIGHT, DEFAULT_FPS = 640, 480, 5.0
ENCODINGS = {
    "jpeg": session_pb2.IMAGE_ENCODING_JPEG,
    "png": session_pb2.IMAGE_ENCODING_PNG,
    "rgb8": session_pb2.IMAGE_ENCODING_RGB8,
}
# Depth on the wire: uint16 millimetres (2 bytes a pixel: 600 KiB at 640x480, under the
# gateway's frame limit) or float32 metres (1.2 MB at 640x480: over it).
DEPTH_DTYPES = ("uint16", "float32")
_BACKENDS = ("egl", "osmesa", "glfw")


@dataclass(frozen=True)
class CameraImage:
    """One rendered view: `rgb` uint8 [h, w, 3] and `depth` float32 metres [h, w] (0: nothing there)."""

    rgb: np.ndarray
    depth: np.ndarray


# -- the camera's geometry: no OpenGL needed -------------------------------------------------


def camera_id(model: mujoco.MjModel, camera: str) -> int:
    cam = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, camera)
    if cam < 0:
        known = [model.camera(c).name for c in range(model.ncam)]
        raise InvalidArgument(f"the model has no camera named {camera!r}; its cameras: {known or 'none'}")
    return cam


def _check_size(width: int, height: int) -> None:
    for what, v in (("width", width), ("height", height)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
            raise InvalidArgument(f"camera image {what} must be a positive integer, got {v!r}")


def _check_fps(fps: float) -> None:
    if isinstance(fps, bool) or not (isinstance(fps, (int, float)) and math.isfinite(fps) and fps > 0):
        raise InvalidArgument(f"camera fps must be a positive number, got {fps!r}")


def _frustum(model: mujoco.MjModel, cam: int, camera: str, width: int, height: int) -> dict[str, float]:
    """The frustum MuJoCo renders camera `cam` with at width x height: near, left, right, bottom, top."""
    if int(model.cam_projection[cam]) == int(mujoco.mjtProjection.mjPROJ_ORTHOGRAPHIC):
        raise InvalidArgument(f"camera {camera!r} is orthographic; only perspective cameras have pinhole intrinsics")
    scene = mujoco.MjvScene(model, maxgeom=1)
    data = mujoco.MjData(model)
    mujoco.mj_kinematics(model, data)
    mujoco.mjv_updateCamera(model, data, _fixed_camera(cam), scene)
    gl = scene.camera[0]
    # fovy cameras give top/bottom and a zero (half) width, which the viewport's aspect
    # decides; focal/sensorsize cameras give all four, about an off-axis centre.
    top, bottom, centre = float(gl.frustum_top), float(gl.frustum_bottom), float(gl.frustum_center)
    half_width = float(gl.frustum_width) or 0.5 * (top - bottom) * width / height
    left, right = centre - half_width, centre + half_width
    return {"near": float(gl.frustum_near), "left": left, "right": right, "bottom": bottom, "top": top}


def _pinhole(data: mujoco.MjData, cam: int, camera: str, width: int, height: int, frustum: dict[str, float]) -> PinholeCamera:
    xmat = data.cam_xmat[cam].reshape(3, 3)
    return PinholeCamera.from_opengl_frustum(data.cam_xpos[cam], xmat, width=width, height=height, name=camera, **frustum)


def pinhole_camera(
    model: mujoco.MjModel,
    camera: str,
    width: int = DEFAULT_WIDTH,
    height: int = DEFAULT_HEIGHT,
    data: mujoco.MjData | None = None,
) -> PinholeCamera:
    """A MuJoCo camera rendered at width x height as a `PinholeCamera`, posed at `data` (else at qpos0)."""
    _check_size(width, height)
    cam = camera_id(model, camera)
    frustum = _frustum(model, cam, camera, width, height)
    if data is None:
        data = mujoco.MjData(model)
        mujoco.mj_forward(model, data)  # camera poses come from mj_camlight, not mj_kinematics
    return _pinhole(data, cam, camera, int(width), int(height), frustum)


def camera_spec(
    model: mujoco.MjModel,
    camera: str,
    width: int = DEFAULT_WIDTH,
    height: int = DEFAULT_HEIGHT,
    fps: float = DEFAULT_FPS,
    data: mujoco.MjData | None = None,
    *,
    has_depth: bool = True,
) -> robot_pb2.CameraSpec:
    """The `robosoul.v1.CameraSpec` of a MuJoCo camera (the pose at `data`, else at qpos0)."""
    _check_fps(fps)
    return pinhole_camera(model, camera, width, height, data).to_spec(fps=float(fps), has_depth=has_depth)


def _scene_option() -> mujoco.MjvOption:
    opt = mujoco.MjvOption()
    opt.sitegroup[:] = 0
    return opt


def _fixed_camera(cam: int) -> mujoco.MjvCamera:
    c = mujoco.MjvCamera()
    c.type = mujoco.mjtCamera.mjCAMERA_FIXED
    c.fixedcamid = cam
    return c


# -- rendering ------------------------------------------------------------------------------


def _open_gl_context(width: int, height: int):
    """An offscreen OpenGL context from the backend MUJOCO_GL names (default EGL)."""
    backend = os.environ.get("MUJOCO_GL", "").strip().lower() or "egl"
    if backend not in _BACKENDS:
        raise FailedPrecondition(
            f"MUJOCO_GL={backend!r} is not an offscreen OpenGL backend; use one of {list(_BACKENDS)} (egl without a display)"
        )
    os.environ.setdefault("MUJOCO_GL", backend)
    try:
        if backend == "egl":
            from mujoco.egl import GLContext
        elif backend == "osmesa":
            from mujoco.osmesa import GLContext
        else:
            from mujoco.glfw import GLContext
        return GLContext(width, height)
    except Exception as exc:  # ImportError, OSError, RuntimeError, GLError: all mean "no context"
        raise FailedPrecondition(
            f"offscreen rendering is unavailable: MUJOCO_GL={backend} could not open an OpenGL context "
            f"({type(exc).__name__}: {exc}). Without a display use MUJOCO_GL=egl with libEGL and an EGL driver "
            "(Debian: libegl1 libgl1-mesa-dri for software rendering, or the NVIDIA driver)."
        ) from exc


class CameraRig:
    """Renders one MuJoCo camera offscreen: RGB and metric depth in one pass.

    `model` must allow the size in its offscreen buffer (``<visual><global
    offwidth offheight>``). Holds an OpenGL context: close it (or use ``with``).
    """

    def __init__(
        self,
        model: mujoco.MjModel,
        camera: str,
        width: int = DEFAULT_WIDTH,
        height: int = DEFAULT_HEIGHT,
        *,
        fps: float = DEFAULT_FPS,
    ):
        _check_size(width, height)
        self._cam = camera_id(model, camera)
        self._frustum = _frustum(model, self._cam, camera, width, height)
        self.model = model
        self.name = camera
        self.width, self.height, self.fps = int(width), int(height), float(fps)
        buf_w, buf_h = int(model.vis.global_.offwidth), int(model.vis.global_.offheight)
        if width > buf_w or height > buf_h:
            raise InvalidArgument(
                f"camera image {width}x{height} exceeds the model's offscreen buffer {buf_w}x{buf_h}; "
                f'raise it in the MJCF with <visual><global offwidth="{max(width, buf_w)}" offheight="{max(height, buf_h)}"/></visual>'
            )
        _check_fps(fps)
        self._lock = threading.Lock()
        self._option = _scene_option()
        self._camera = _fixed_camera(self._cam)
        self._scene = mujoco.MjvScene(model, maxgeom=max(1000, 2 * model.ngeom + 200))
        self._rect = mujoco.MjrRect(0, 0, self.width, self.height)
        self._rgb = np.empty((self.height, self.width, 3), dtype=np.uint8)
        self._raw = np.empty((self.height, self.width), dtype=np.float32)
        self._gl = _open_gl_context(self.width, self.height)
        self._context: mujoco.MjrContext | None = None
        with self._gl.as_current():
            self._context = mujoco.MjrContext(model, int(mujoco.mjtFontScale.mjFONTSCALE_100))
            mujoco.mjr_setBuffer(int(mujoco.mjtFramebuffer.mjFB_OFFSCREEN), self._context)
            # Reversed z: 1 at the near plane, 0 at the far one (what the conversion below undoes).
            self._context.readDepthMap = mujoco.mjtDepthMap.mjDEPTH_ZEROFAR

    def pinhole(self, data: mujoco.MjData) -> PinholeCamera:
        """The camera's geometry at `data` (its pose matters for a camera on a moving body)."""
        return _pinhole(data, self._cam, self.name, self.width, self.height, self._frustum)

    def spec(self, data: mujoco.MjData | None = None) -> robot_pb2.CameraSpec:
        """This camera's CameraSpec (pose at `data`, else at qpos0)."""
        return camera_spec(self.model, self.name, self.width, self.height, self.fps, data)

    def render(self, data: mujoco.MjData) -> CameraImage:
        """RGB and depth of the scene in `data` (kinematics must be current: after mj_forward or mj_step)."""
        with self._lock:
            if self._context is None:
                raise FailedPrecondition(f"camera {self.name!r}: render called after close()")
            mujoco.mjv_updateScene(
                self.model, data, self._option, None, self._camera, int(mujoco.mjtCatBit.mjCAT_ALL), self._scene
            )
            with self._gl.as_current():
                mujoco.mjr_render(self._rect, self._scene, self._context)
                mujoco.mjr_readPixels(self._rgb, self._raw, self._rect, self._context)
            gl = self._scene.camera[0]
            near, far = float(gl.frustum_near), float(gl.frustum_far)
            raw = np.flipud(self._raw).astype(np.float64)  # OpenGL's rows run bottom-up
            with np.errstate(divide="ignore"):
                depth = near * far / (near + raw * (far - near))
            depth[raw <= 0.0] = 0.0  # the far plane: nothing there
            return CameraImage(rgb=np.flipud(self._rgb).copy(), depth=depth.astype(np.float32))

    def close(self) -> None:
        with self._lock:
            if self._context is not None:
                with self._gl.as_current():
                    self._context.free()
                self._context = None
                self._gl.free()

    def __enter__(self) -> CameraRig:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_context", None) is not None:
            self.close()


# -- to the wire -----------------------------------------------------------------------------


def _check_rgb(rgb: np.ndarray) -> np.ndarray:
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise InvalidArgument(f"an RGB image is uint8 [height, width, 3]; got {rgb.dtype} {list(rgb.shape)}")
    return np.ascontiguousarray(rgb)


def _pillow():
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError as exc:
        raise FailedPrecondition(f"JPEG/PNG coding needs Pillow (pip install pillow): {exc}") from exc
    return Image, UnidentifiedImageError


def encode_rgb(rgb: np.ndarray, encoding: str = "jpeg", *, quality: int = 90) -> bytes:
    """JPEG or PNG bytes of a uint8 [h, w, 3] RGB image."""
    rgb = _check_rgb(rgb)
    if encoding not in ("jpeg", "png"):
        raise InvalidArgument(f"image encoding {encoding!r} is not one of ['jpeg', 'png']")
    if not 1 <= quality <= 100:
        raise InvalidArgument(f"JPEG quality must be 1-100, got {quality}")
    Image, _ = _pillow()
    out = io.BytesIO()
    if encoding == "jpeg":
        Image.fromarray(rgb, "RGB").save(out, format="JPEG", quality=quality)
    else:
        Image.fromarray(rgb, "RGB").save(out, format="PNG", compress_level=1)
    return out.getvalue()


def decode_rgb(encoded: bytes) -> np.ndarray:
    """uint8 [h, w, 3] RGB from JPEG or PNG bytes."""
    Image, UnidentifiedImageError = _pillow()
    try:
        with Image.open(io.BytesIO(encoded)) as image:
            return np.asarray(image.convert("RGB"))
    except (UnidentifiedImageError, OSError) as exc:
        raise InvalidArgument(f"not a JPEG or PNG image: {exc}") from None


def _timestamp(stamp: timestamp_pb2.Timestamp | float | None) -> timestamp_pb2.Timestamp | None:
    if stamp is None or isinstance(stamp, timestamp_pb2.Timestamp):
        return stamp
    ts = timestamp_pb2.Timestamp()
    ts.FromNanoseconds(int(round(float(stamp) * 1e9)))
    return ts


def camera_frame(
    camera: str,
    rgb: np.ndarray,
    encoding: str = "jpeg",
    *,
    timestamp: timestamp_pb2.Timestamp | float | None = None,
    quality: int = 90,
) -> session_pb2.CameraFrame:
    """A `robosoul.v1.CameraFrame`: JPEG/PNG in `encoded`, or raw RGB8 in `raw`. `timestamp`: a Timestamp or Unix seconds."""
    rgb = _check_rgb(rgb)
    if encoding not in ENCODINGS:
        raise InvalidArgument(f"image encoding {encoding!r} is not one of {list(ENCODINGS)}")
    frame = session_pb2.CameraFrame(
        timestamp=_timestamp(timestamp), camera=camera, encoding=ENCODINGS[encoding], width=rgb.shape[1], height=rgb.shape[0]
    )
    if encoding == "rgb8":
        frame.raw.CopyFrom(from_numpy(rgb))
    else:
        frame.encoded = encode_rgb(rgb, encoding, quality=quality)
    return frame


def depth_frame(
    camera: str,
    depth: np.ndarray,
    *,
    dtype: str = "uint16",
    timestamp: timestamp_pb2.Timestamp | float | None = None,
) -> session_pb2.DepthFrame:
    """A `robosoul.v1.DepthFrame` of a depth image in float metres [h, w] (0 where nothing was seen).

    `dtype` "uint16" (the default) sends millimetres, rounded, 0 still meaning no reading
    (a surface nearer than 0.5 mm reads 1 mm) and anything beyond 65.535 m clipped to it:
    640x480 is 600 KiB, within the gateway's frame limit. "float32" sends metres as they
    are (1.2 MB at 640x480, which the gateway refuses; for smaller images).
    """
    if dtype not in DEPTH_DTYPES:
        raise InvalidArgument(f"depth dtype {dtype!r} is not one of {list(DEPTH_DTYPES)} (uint16 millimetres, float32 metres)")
    depth = np.asarray(depth)
    if depth.ndim != 2 or depth.dtype.kind != "f" or 0 in depth.shape:
        raise InvalidArgument(f"a depth image is float [height, width] in metres; got {depth.dtype} {list(depth.shape)}")
    if not np.isfinite(depth).all() or (depth < 0).any():
        raise InvalidArgument("depth must be finite and >= 0 metres (0 for no return)")
    if dtype == "float32":
        wire = depth.astype(np.float32)
    else:
        wire = depth_to_millimetres(depth)
    return session_pb2.DepthFrame(timestamp=_timestamp(timestamp), camera=camera, depth=from_numpy(wire))
