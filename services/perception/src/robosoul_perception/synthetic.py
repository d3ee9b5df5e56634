"""Tabletop scenes ray-cast with exact depth: ground truth for tests and benchmarks.

Boxes (yawed about z) and spheres on a plane at z = `floor_z`, seen by a `PinholeCamera`,
with Lambertian shading from one directional light. Every pixel's ray is cast through
its centre, so depth (along the optical axis) is exact and positions are known to the
micrometre; optional Gaussian noise imitates a depth sensor.

    >>> from robosoul_core.camera import PinholeCamera
    >>> cam = PinholeCamera.look_at((0.0, 0.0, 0.6), (0.5, 0.0, 0.0), width=64, height=48, fov_y_deg=60)
    >>> rgb, depth = render(cam, [Sphere(center=(0.5, 0.0, 0.03), radius=0.03, color=(30, 60, 220))])
    >>> rgb.shape, depth.dtype.name, tuple(int(c) for c in rgb[24, 32])
    ((48, 64, 3), 'float32', (14, 27, 99))
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from robosoul_core.camera import PinholeCamera

Color = tuple[int, int, int]


@dataclass(frozen=True)
class Box:
    center: Sequence[float]
    # Edge lengths (x, y, z) before the yaw, or one number for a cube.
    size: float | Sequence[float]
    color: Color
    yaw: float = 0.0

    def extents(self) -> np.ndarray:
        return np.broadcast_to(np.asarray(self.size, dtype=np.float64), (3,)).copy()


@dataclass(frozen=True)
class Sphere:
    center: Sequence[float]
    radius: float
    color: Color


def render(
    camera: PinholeCamera,
    shapes: Sequence[Box | Sphere],
    *,
    floor_z: float = 0.0,
    floor_color: Color = (128, 128, 128),
    background: Color = (100, 100, 100),
    light: Sequence[float] = (0.3, -0.4, 1.0),
    ambient: float = 0.45,
    depth_noise_m: float = 0.0,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """(rgb uint8 H x W x 3, depth float32 metres H x W; NaN where nothing is hit)."""
    h, w = camera.height, camera.width
    vv, uu = np.mgrid[0:h, 0:w]
    # Directions with camera-frame z = 1: the ray parameter t is then the depth itself.
    d_cam = np.stack([(uu.ravel() - camera.cx) / camera.fx, (vv.ravel() - camera.cy) / camera.fy, np.ones(h * w)], axis=1)
    d = d_cam @ camera.rotation.T
    o = camera.position
    depth = np.full(h * w, np.inf)
    normal = np.zeros((h * w, 3))
    color = np.tile(np.asarray(background, dtype=np.float64), (h * w, 1))
    lit = np.zeros(h * w, dtype=bool)

    def hit(t: np.ndarray, n: np.ndarray, c: Color) -> None:
        closer = np.isfinite(t) & (t > 1e-6) & (t < depth)
        depth[closer] = t[closer]
        normal[closer] = n[closer]
        color[closer] = c
        lit[closer] = True

    with np.errstate(divide="ignore", invalid="ignore"):
        t_floor = (floor_z - o[2]) / d[:, 2]
    hit(t_floor, np.tile([0.0, 0.0, 1.0], (h * w, 1)), floor_color)
    for shape in shapes:
        if isinstance(shape, Sphere):
            t, n = _sphere(o, d, np.asarray(shape.center, dtype=np.float64), shape.radius)
        else:
            t, n = _box(o, d, shape)
        hit(t, n, shape.color)

    lv = np.asarray(light, dtype=np.float64)
    lv /= np.linalg.norm(lv)
    shade = np.where(lit, ambient + (1 - ambient) * np.clip(normal @ lv, 0.0, 1.0), 1.0)
    rgb = np.clip(color * shade[:, None], 0, 255).round().astype(np.uint8).reshape(h, w, 3)
    out = np.where(np.isfinite(depth), depth, np.nan).reshape(h, w)
    if depth_noise_m > 0:
        out = out + np.random.default_rng(seed).normal(0.0, depth_noise_m, out.shape)
    return rgb, out.astype(np.float32)


def _sphere(o: np.ndarray, d: np.ndarray, c: np.ndarray, r: float) -> tuple[np.ndarray, np.ndarray]:
    oc = o - c
    a = (d * d).sum(axis=1)
    b = 2 * d @ oc
    disc = b * b - 4 * a * (oc @ oc - r * r)
    with np.errstate(invalid="ignore"):
        t = np.where(disc >= 0, (-b - np.sqrt(disc)) / (2 * a), np.inf)
    n = (o + t[:, None] * d - c) / r
    return t, n


def _box(o: np.ndarray, d: np.ndarray, box: Box) -> tuple[np.ndarray, np.ndarray]:
    cy, sy = math.cos(box.yaw), math.sin(box.yaw)
    rot = np.array([[cy, -sy, 0.0], [sy, cy, 0.0], [0.0, 0.0, 1.0]])  # box axes in the base frame
    lo_o = (o - np.asarray(box.center, dtype=np.float64)) @ rot
    lo_d = d @ rot
    half = box.extents() / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = (-half - lo_o) / lo_d
        t2 = (half - lo_o) / lo_d
    near = np.nan_to_num(np.minimum(t1, t2), nan=-np.inf)
    far = np.nan_to_num(np.maximum(t1, t2), nan=np.inf)
    t_in = near.max(axis=1)
    t_out = far.min(axis=1)
    t = np.where((t_in <= t_out) & (t_out > 0), t_in, np.inf)
    axis = near.argmax(axis=1)
    local_n = np.zeros_like(lo_d)
    rows = np.arange(len(d))
    local_n[rows, axis] = -np.sign(lo_d[rows, axis])
    return t, local_n @ rot.T
