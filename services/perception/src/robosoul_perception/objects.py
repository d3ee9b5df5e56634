"""Coloured objects from an RGB image (and depth): colour, shape, and centre in the base frame.

Classic vision, no learned model (no package here bundles a general detector):

1. Colour: each pixel's hue names a colour (red, orange, yellow, green, blue, purple;
   an orange or yellow object that stays dim even where lit is brown); pixels with
   little saturation or light (grey table, white or black things, shadows) are
   background, and so are pixels the caller excludes (the robot's own body: the
   generated arms have blue joint rings). With depth, the far side of every depth jump
   is cut out, so two objects of one colour that overlap in the image come apart.
2. Objects: connected components of each colour's mask (opened, then holes such as
   specular highlights filled), between `min_area_px` and `max_area_fraction` of the image.
3. Shape (`shapes`): "cube", "ball" or "unknown". With depth, the visible surface points are fitted
   both by a sphere and by up to three planes; the model with the clearly smaller error
   wins (noise-free sensors decide this exactly). When the errors are alike (noise as large
   as the curvature) the silhouette decides: a ball's outline fills its enclosing circle
   and keeps a constant radius; a cube's fills its minimum-area rectangle (seen square
   on) or is a hexagon (seen across a corner).
4. Centre (with depth and a camera): the visible surface is only the front of an
   object, so its points are not used directly. A ball's centre is the fitted sphere's.
   A cube's is the centre of its best-seen face (the minimum-area rectangle of the face's
   points, in the face's plane) pushed half an edge inwards along the face's normal: for a
   cube on a table seen from above, the top face's centre minus half the edge in z.
   Anything else: the median surface point pushed a third of its size along the view ray.

    >>> from robosoul_core.camera import PinholeCamera
    >>> from robosoul_perception.synthetic import Box, render
    >>> cam = PinholeCamera.look_at((0.0, 0.0, 0.6), (0.5, 0.0, 0.0), width=640, height=480, fov_y_deg=60)
    >>> rgb, depth = render(cam, [Box(center=(0.45, 0.05, 0.02), size=0.04, color=(220, 30, 30))])
    >>> [obj] = ObjectDetector().detect(rgb, depth, cam)
    >>> obj.color, obj.label, np.round(obj.position, 2).tolist(), round(obj.size_m, 2)
    ('red', 'cube', [0.45, 0.05, 0.02], 0.04)
    >>> bool(np.linalg.norm(obj.position - (0.45, 0.05, 0.02)) < 0.002)
    True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import cv2
import numpy as np

from robosoul_core.camera import MAX_SIDE, PinholeCamera
from robosoul_core.errors import InvalidArgument
from robosoul_perception.shapes import SurfaceModels, silhouette_shape

# A blob whose centre is closer than this share of a bigger blob's size to that blob's centre
# is part of the same object (see _one_per_object).
SAME_OBJECT_SHARE = 0.75
# OpenCV hue (degrees / 2, 0..179), half-open [lo, hi) ranges per colour name. The names are
# the language service's (robosoul_language.grounding.COLORS); cyan counts as blue, magenta as purple.
COLOR_HUES: dict[str, tuple[tuple[int, int], ...]] = {
    "red": ((0, 8), (165, 180)),
    "orange": ((8, 22),),
    "yellow": ((22, 35),),
    "green": ((35, 85),),
    "blue": ((85, 130),),
    "purple": ((130, 165),),
}
LABELS = ("cube", "ball", "unknown")


@dataclass(frozen=True)
class DetectorConfig:
    """Thresholds of the object detector; the defaults suit 640x480 tabletop views at 0.3-1.5 m."""

    colors: Mapping[str, tuple[tuple[int, int], ...]] = field(default_factory=lambda: dict(COLOR_HUES))
    # Background: pixels below either (0..255) belong to no object.
    min_saturation: int = 90
    min_value: int = 40
    # An orange or yellow object whose brightest tenth stays below this value (0..255) is brown; 0: never.
    brown_max_value: int = 190
    min_area_px: int = 60
    # A blob larger than this share of the image is a surface (a wooden table), not an object.
    max_area_fraction: float = 0.25
    # Opening kernel (pixels) that removes specks; 1 disables it.
    open_px: int = 3
    # Neighbouring pixels whose depths differ by more than this belong to different surfaces.
    depth_jump_m: float = 0.015
    max_depth_m: float = 10.0
    # Plane inlier tolerance: the larger of an absolute floor (sensor noise) and a share of the object's size.
    plane_tolerance_m: float = 0.002
    plane_tolerance_rel: float = 0.05
    # One model's error must be below this share of the other's to decide the shape from depth.
    model_margin: float = 0.7
    max_fit_points: int = 1000
    ransac_iterations: int = 64
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.colors:
            raise InvalidArgument("DetectorConfig.colors: name at least one colour")
        for name, ranges in self.colors.items():
            if not ranges or any(not (0 <= lo < hi <= 180) for lo, hi in ranges):
                raise InvalidArgument(f"DetectorConfig.colors[{name!r}]: hue ranges must be non-empty [lo, hi) within 0..180, got {ranges}")
        taken: dict[int, str] = {}
        for name, ranges in self.colors.items():
            for lo, hi in ranges:
                for hue in range(lo, hi):
                    if hue in taken and taken[hue] != name:
                        raise InvalidArgument(f"DetectorConfig.colors: {name!r} and {taken[hue]!r} both claim hue {hue}")
                    taken[hue] = name
        if len(self.colors) > 254:
            raise InvalidArgument("DetectorConfig.colors: at most 254 colour names")
        for key in ("min_saturation", "min_value", "brown_max_value"):
            if not 0 <= getattr(self, key) <= 255:
                raise InvalidArgument(f"DetectorConfig.{key} must be in 0..255, got {getattr(self, key)}")
        if self.min_area_px < 4:
            raise InvalidArgument(f"DetectorConfig.min_area_px must be >= 4, got {self.min_area_px}")
        if not 0 < self.max_area_fraction <= 1:
            raise InvalidArgument(f"DetectorConfig.max_area_fraction must be in (0, 1], got {self.max_area_fraction}")
        if self.open_px < 1:
            raise InvalidArgument(f"DetectorConfig.open_px must be >= 1, got {self.open_px}")
        for key in ("depth_jump_m", "max_depth_m", "plane_tolerance_m", "plane_tolerance_rel"):
            if not (math.isfinite(getattr(self, key)) and getattr(self, key) > 0):
                raise InvalidArgument(f"DetectorConfig.{key} must be a finite number > 0, got {getattr(self, key)}")
        if not 0 < self.model_margin < 1:
            raise InvalidArgument(f"DetectorConfig.model_margin must be in (0, 1), got {self.model_margin}")
        if self.max_fit_points < 50 or self.ransac_iterations < 8:
            raise InvalidArgument("DetectorConfig: max_fit_points must be >= 50 and ransac_iterations >= 8")


@dataclass(frozen=True, eq=False)
class Detection:
    """One object in one frame (compared by identity: it holds an array)."""

    color: str
    label: str
    confidence: float
    # (x, y, width, height) in pixels.
    bbox: tuple[int, int, int, int]
    centroid_px: tuple[float, float]
    area_px: int
    # The object's centre in the base frame (metres); None without depth or a camera.
    position: np.ndarray | None = None
    # Largest extent (metres): a cube's edge, a ball's diameter; 0 if unknown.
    size_m: float = 0.0
    # What decided the label: "depth" (surface models) or "silhouette".
    shape_from: str = "silhouette"


def depth_in_metres(depth: np.ndarray) -> np.ndarray:
    """float32 metres from float metres or uint16 millimetres (0 = no reading -> NaN)."""
    depth = np.asarray(depth)
    if depth.dtype == np.uint16:
        out = depth.astype(np.float32) / 1000.0
        out[depth == 0] = np.nan
        return out
    if depth.dtype.kind == "f":
        return depth.astype(np.float32, copy=False)
    raise InvalidArgument(f"depth must be float metres or uint16 millimetres, got dtype {depth.dtype}")


def check_rgb(rgb: object) -> np.ndarray:
    """The image as a uint8 (H, W, 3) array, or InvalidArgument saying what is wrong."""
    if not isinstance(rgb, np.ndarray):
        raise InvalidArgument(f"rgb must be a numpy array, got {type(rgb).__name__}")
    if rgb.dtype != np.uint8:
        raise InvalidArgument(f"rgb must be uint8, got dtype {rgb.dtype}")
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise InvalidArgument(f"rgb must have shape (height, width, 3), got {rgb.shape}")
    h, w = rgb.shape[:2]
    if not (0 < h <= MAX_SIDE and 0 < w <= MAX_SIDE):
        raise InvalidArgument(f"rgb is {w}x{h}; width and height must be in 1..{MAX_SIDE}")
    return np.ascontiguousarray(rgb)


def _one_per_object(found: list[Detection]) -> list[Detection]:
    """Drop blobs whose 3-D centre lies inside a bigger blob's object: one object seen in two
    hues (an orange cube's lit face read as yellow), not a second object. Two real objects
    cannot be that close: touching, their centres are half their sizes apart."""
    kept: list[Detection] = []
    for det in sorted(found, key=lambda d: -d.area_px):
        if det.position is not None and any(
            k.position is not None and float(np.linalg.norm(det.position - k.position)) < SAME_OBJECT_SHARE * k.size_m for k in kept
        ):
            continue
        kept.append(det)
    return kept


class ObjectDetector:
    """Finds coloured objects; stateless between frames (see `tracking.Tracker` for ids)."""

    def __init__(self, config: DetectorConfig | None = None):
        self.config = config or DetectorConfig()
        c = self.config
        self._kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (c.open_px, c.open_px)) if c.open_px > 1 else None
        self._names = list(c.colors)
        # One lookup table: hue -> 1 + index of its colour name (0 = none).
        self._classes = np.zeros(256, dtype=np.uint8)
        for k, ranges in enumerate(c.colors.values(), start=1):
            for lo, hi in ranges:
                self._classes[lo:hi] = k

    def detect(
        self,
        rgb: np.ndarray,
        depth: np.ndarray | None = None,
        camera: PinholeCamera | None = None,
        *,
        exclude: np.ndarray | None = None,
    ) -> list[Detection]:
        """Objects in an RGB image (uint8, H x W x 3) with optional depth (float metres or uint16 mm, H x W).

        Positions need both depth and the camera; without them they are None. `exclude`
        (bool, H x W) marks pixels that are never objects, such as the robot's own body.
        Raises InvalidArgument for a malformed image, depth, mask or camera.
        """
        rgb = check_rgb(rgb)
        h, w = rgb.shape[:2]
        if camera is not None and (camera.width, camera.height) != (w, h):
            raise InvalidArgument(f"rgb is {w}x{h} but camera {camera.name!r} is {camera.width}x{camera.height}")
        z = None
        if depth is not None:
            if camera is None:
                raise InvalidArgument("depth needs the camera it came from (intrinsics and pose) to place objects")
            if not isinstance(depth, np.ndarray):
                raise InvalidArgument(f"depth must be a numpy array, got {type(depth).__name__}")
            if depth.shape != (h, w):
                raise InvalidArgument(f"depth has shape {depth.shape}; expected ({h}, {w}) like rgb")
            z = depth_in_metres(depth)
            z = np.where((z > 0) & (z < self.config.max_depth_m), z, np.nan).astype(np.float32)

        if exclude is not None:
            if not isinstance(exclude, np.ndarray) or exclude.dtype != np.bool_ or exclude.shape != (h, w):
                got = f"{exclude.dtype} {exclude.shape}" if isinstance(exclude, np.ndarray) else type(exclude).__name__
                raise InvalidArgument(f"exclude must be a bool mask of shape ({h}, {w}), got {got}")

        c = self.config
        hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
        hue, sat, val = hsv[..., 0], hsv[..., 1], hsv[..., 2]
        chroma = (sat >= c.min_saturation) & (val >= c.min_value)
        if exclude is not None:
            chroma &= ~exclude
        if z is not None:
            chroma &= ~self._far_side_of_jumps(z)
        classes = cv2.LUT(hue, self._classes)
        classes[~chroma] = 0
        # Components of all coloured pixels first (one pass over the image), then each colour inside them.
        n, labels, stats, _ = cv2.connectedComponentsWithStats((classes > 0).astype(np.uint8), connectivity=8)
        pad = c.open_px
        found: list[Detection] = []
        for i in range(1, n):
            x, y, bw, bh, area = (int(s) for s in stats[i])
            if area < c.min_area_px:
                continue
            x0, y0, x1, y1 = max(x - pad, 0), max(y - pad, 0), min(x + bw + pad, w), min(y + bh + pad, h)
            crop = np.where(labels[y0:y1, x0:x1] == i, classes[y0:y1, x0:x1], 0)
            for k in np.unique(crop[crop > 0]):
                found.extend(self._blobs(self._names[k - 1], (crop == k).astype(np.uint8), (x0, y0), hsv, z, camera))
        found = _one_per_object(found)
        found.sort(key=lambda d: (d.color, d.centroid_px[0], d.centroid_px[1]))
        return found

    def _blobs(
        self, color: str, mask: np.ndarray, origin: tuple[int, int], hsv: np.ndarray, z: np.ndarray | None, camera: PinholeCamera | None
    ) -> list[Detection]:
        c = self.config
        if self._kernel is not None:
            mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, self._kernel)
        n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        max_area = c.max_area_fraction * hsv.shape[0] * hsv.shape[1]
        out = []
        for i in range(1, n):
            x, y, bw, bh, area = (int(s) for s in stats[i])
            if area < c.min_area_px or area > max_area:
                continue
            x, y = x + origin[0], y + origin[1]
            blob = (labels[y - origin[1] : y - origin[1] + bh, x - origin[0] : x - origin[0] + bw] == i).astype(np.uint8)
            det = self._describe(color, blob, (x, y), hsv[y : y + bh, x : x + bw], z, camera)
            if det is not None:
                out.append(det)
        return out

    def _far_side_of_jumps(self, z: np.ndarray) -> np.ndarray:
        jump = self.config.depth_jump_m
        far = np.zeros(z.shape, dtype=bool)
        with np.errstate(invalid="ignore"):
            dx = z[:, 1:] - z[:, :-1]
            far[:, 1:] |= dx > jump
            far[:, :-1] |= dx < -jump
            dy = z[1:, :] - z[:-1, :]
            far[1:, :] |= dy > jump
            far[:-1, :] |= dy < -jump
        return far

    # ---------------------------------------------------------------- one blob

    def _describe(
        self,
        color: str,
        blob: np.ndarray,
        origin: tuple[int, int],
        hsv: np.ndarray,
        z: np.ndarray | None,
        camera: PinholeCamera | None,
    ) -> Detection | None:
        contours, _ = cv2.findContours(blob, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        contour = max(contours, key=cv2.contourArea)
        filled = np.zeros_like(blob)
        cv2.drawContours(filled, [contour], -1, 1, thickness=cv2.FILLED)
        ys, xs = np.nonzero(filled)
        area = int(len(xs))
        if area < self.config.min_area_px:
            return None
        ox, oy = origin
        u, v = xs + ox, ys + oy
        shape2d, margin2d = silhouette_shape(contour)
        inside = hsv[filled > 0]
        purity = float(inside[:, 1].mean()) / 255.0
        # Brown is dark orange: even its best-lit face stays dim.
        if color in ("orange", "yellow") and "brown" not in self.config.colors and np.percentile(inside[:, 2], 90) < self.config.brown_max_value:
            color = "brown"
        bx, by, bw, bh = cv2.boundingRect(contour)
        det = dict(
            color=color, bbox=(bx + ox, by + oy, bw, bh), centroid_px=(float(u.mean()), float(v.mean())), area_px=area,
        )
        label, shape_conf, shape_from, position, size = shape2d, 0.55 + 0.3 * margin2d, "silhouette", None, 0.0
        if z is not None and camera is not None:
            solid = self._solid(filled, contour, origin, z, camera)
            if solid is not None:
                label, shape_from, position, size, shape_conf = solid.resolve(shape2d, margin2d)
        if label == "unknown":
            shape_conf = min(shape_conf, 0.5)
        area_factor = min(1.0, area / (3.0 * self.config.min_area_px))
        confidence = float(np.clip(shape_conf * (0.7 + 0.3 * purity) * area_factor, 0.0, 1.0))
        return Detection(label=label, confidence=round(confidence, 3), position=position, size_m=size, shape_from=shape_from, **det)

    def _solid(
        self, filled: np.ndarray, contour: np.ndarray, origin: tuple[int, int], z: np.ndarray, camera: PinholeCamera
    ) -> SurfaceModels | None:
        ys, xs = np.nonzero(filled)
        u, v = xs + origin[0], ys + origin[1]
        d = z[v, u]
        ok = np.isfinite(d)
        if ok.sum() < 20:
            return None
        med = float(np.median(d[ok]))
        # Silhouette extent in metres at the median depth: the scale for tolerances and sanity checks.
        (_, _), (rw, rh), _ = cv2.minAreaRect(contour)
        extent = max(rw, rh, 1.0) * med / math.sqrt(camera.fx * camera.fy)
        # Drop stray readings (mixed pixels at the outline) far from the object's depth.
        ok &= np.abs(d - med) <= max(extent, 0.01)
        if ok.sum() < 20:
            return None
        points = camera.deproject(u[ok], v[ok], d[ok])
        # Models are fitted to the interior (outline pixels mix surfaces); face extents use every point.
        inner = cv2.erode(filled, np.ones((3, 3), np.uint8))[ys[ok], xs[ok]] > 0
        c = self.config
        return SurfaceModels.fit(
            points, points[inner] if inner.sum() >= 20 else points, camera, extent,
            tolerance=max(c.plane_tolerance_m, c.plane_tolerance_rel * extent), margin=c.model_margin,
            max_points=c.max_fit_points, iterations=c.ransac_iterations, seed=c.seed,
        )
