"""Shapes from outlines and surfaces: "cube", "ball" or "unknown", and where the centre is.

`silhouette_shape` reads an outline: a ball's fills its enclosing circle and keeps a
constant radius; a cube's fills its minimum-area rectangle (seen square on) or is a
hexagon (seen across a corner). `SurfaceModels` fits a sphere and up to three planes
(RANSAC, then least squares with a threshold that shrinks to the points' own noise) to
an object's visible surface; the model with the clearly smaller error names the shape,
and gives the centre: the sphere's, or the best-seen face's centre pushed half an edge
inwards along its normal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from robosoul_core.camera import PinholeCamera


@dataclass
class SurfaceModels:
    """A sphere and up to three planes fitted to one object's visible surface (base-frame points)."""

    # Every point of the object, and the interior subset the models are fitted to.
    points: np.ndarray
    fit_points: np.ndarray
    camera: PinholeCamera
    # The outline's largest extent in metres (the scale for sanity checks).
    extent: float
    # Plane inlier distance (RANSAC) and the share of the other model's error that decides.
    tolerance: float
    margin: float
    iterations: int = 64
    sphere_center: np.ndarray | None = None
    sphere_radius: float = 0.0
    sphere_rms: float = math.inf
    # (unit normal towards the camera, a point, the fit's own inlier threshold)
    planes: list[tuple[np.ndarray, np.ndarray, float]] = field(default_factory=list)
    plane_rms: float = math.inf
    plane_coverage: float = 0.0

    @classmethod
    def fit(
        cls,
        points: np.ndarray,
        fit_points: np.ndarray,
        camera: PinholeCamera,
        extent: float,
        *,
        tolerance: float,
        margin: float,
        max_points: int = 2000,
        iterations: int = 64,
        seed: int = 0,
    ) -> SurfaceModels:
        rng = np.random.default_rng(seed)
        if len(fit_points) > max_points:
            fit_points = fit_points[rng.choice(len(fit_points), max_points, replace=False)]
        models = cls(points, fit_points, camera, extent, tolerance, margin, iterations)
        models._fit_sphere()
        models._fit_planes(rng)
        return models

    def _fit_sphere(self) -> None:
        p = self.fit_points
        mean = p.mean(axis=0)
        q = p - mean  # centred: the algebraic fit loses precision far from the origin
        a = np.column_stack([2 * q, np.ones(len(q))])
        sol, *_ = np.linalg.lstsq(a, (q * q).sum(axis=1), rcond=None)
        r2 = sol[3] + sol[:3] @ sol[:3]
        center = sol[:3] + mean
        if not (np.isfinite(r2) and r2 > 0):
            return
        radius = math.sqrt(r2)
        # A real ball's centre lies behind its visible surface, and its size matches the outline.
        behind = self.camera.depth_of(center[None])[0] > np.median(self.camera.depth_of(p))
        if not behind or not 0.25 * self.extent <= radius <= 1.0 * self.extent:
            return
        self.sphere_center, self.sphere_radius = center, radius
        self.sphere_rms = float(np.sqrt(np.mean((np.linalg.norm(p - center, axis=1) - radius) ** 2)))

    def _fit_planes(self, rng: np.random.Generator, max_planes: int = 3) -> None:
        p = self.fit_points
        left = np.arange(len(p))
        dist = np.full(len(p), np.inf)
        for _ in range(max_planes):
            if len(left) < max(10, 0.03 * len(p)):
                break
            plane = self._ransac_plane(p[left], rng)
            if plane is None:
                break
            normal, point, _ = plane
            d_all = np.abs((p - point) @ normal)
            inl = left[d_all[left] <= self.tolerance]
            if len(inl) < max(10, 0.03 * len(p)):
                break
            self.planes.append(plane)
            dist = np.minimum(dist, d_all)
            left = left[d_all[left] > self.tolerance]
        if self.planes:
            self.plane_rms = float(np.sqrt(np.mean(np.minimum(dist, 4 * self.tolerance) ** 2)))
            self.plane_coverage = float(np.mean(dist <= self.tolerance))

    def _ransac_plane(self, q: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, float] | None:
        n = len(q)
        idx = rng.integers(0, n, size=(self.iterations, 3))
        a, b, c = q[idx[:, 0]], q[idx[:, 1]], q[idx[:, 2]]
        normals = np.cross(b - a, c - a)
        norms = np.linalg.norm(normals, axis=1)
        good = norms > 1e-12
        if not good.any():
            return None
        normals, a = normals[good] / norms[good, None], a[good]
        offsets = (a * normals).sum(axis=1)
        # Candidates are scored on a few hundred points; the refinement below uses all of them.
        sample = q if n <= 400 else q[rng.choice(n, 400, replace=False)]
        counts = (np.abs(sample @ normals.T - offsets) <= self.tolerance).sum(axis=0)
        best = int(np.argmax(counts))
        inliers = q[np.abs(q @ normals[best] - offsets[best]) <= self.tolerance]
        if len(inliers) < 3:
            return None
        # Least-squares refinement with a threshold that shrinks to the points' own noise, so the
        # strip of a neighbouring face within the RANSAC tolerance does not tilt the plane.
        for _ in range(3):
            centroid = inliers.mean(axis=0)
            _, _, vt = np.linalg.svd(inliers - centroid, full_matrices=False)
            normal = vt[2]
            dist = np.abs((q - centroid) @ normal)
            near = dist[dist <= self.tolerance]
            if len(near) < 3:
                return None
            threshold = float(np.clip(3 * 1.4826 * np.median(near), 3e-4, self.tolerance))
            inliers = q[dist <= threshold]
            if len(inliers) < 3:
                return None
        centroid = inliers.mean(axis=0)
        if (self.camera.position - centroid) @ normal < 0:
            normal = -normal
        return normal, centroid, threshold

    # ---------------------------------------------------------------- decisions

    def resolve(self, shape2d: str, margin2d: float) -> tuple[str, str, np.ndarray, float, float]:
        """(label, shape_from, centre, size, shape confidence), the silhouette's verdict deciding close calls."""
        margin = self.margin
        label, source, conf = shape2d, "silhouette", 0.55 + 0.3 * margin2d
        if self.sphere_center is not None and self.sphere_rms < margin * self.plane_rms:
            label, source, conf = "ball", "depth", 0.9
        elif self.planes and self.plane_rms < margin * self.sphere_rms and self.plane_coverage >= 0.8:
            label, source, conf = "cube", "depth", 0.9
        if label == "ball":
            if self.sphere_center is not None:
                return label, source, self.sphere_center.copy(), 2 * self.sphere_radius, conf
            return label, source, self._pushed(self.extent / 3), self.extent, conf
        if label == "cube" and self.planes:
            face = self._best_face()
            if face is not None:
                center, sides, normal = face
                if max(sides) <= 1.6 * min(sides):
                    edge = float(np.mean(sides))
                    return label, source, center - normal * edge / 2, edge, conf
                label, conf = "unknown", 0.5
                return label, source, center - normal * min(sides) / 2, float(max(sides)), conf
        return label, source, self._pushed(self.extent / 3), self.extent, conf

    def _pushed(self, depth_m: float) -> np.ndarray:
        surface = np.median(self.points, axis=0)
        ray = surface - self.camera.position
        return surface + ray / np.linalg.norm(ray) * depth_m

    def _best_face(self) -> tuple[np.ndarray, tuple[float, float], np.ndarray] | None:
        """Centre, side lengths and outward normal of the face seen with the most points."""
        best = None
        for normal, point, threshold in self.planes:
            # The fit's own threshold: the neighbouring faces' strips within the RANSAC tolerance would
            # stretch the face up to its near edges only, and shift its centre towards the camera.
            on = self.points[np.abs((self.points - point) @ normal) <= threshold]
            if best is None or len(on) > best[0]:
                best = (len(on), on, normal, point)
        if best is None or best[0] < 10:
            return None
        _, on, normal, point = best
        e1 = np.cross(normal, [1.0, 0.0, 0.0] if abs(normal[0]) < 0.9 else [0.0, 1.0, 0.0])
        e1 /= np.linalg.norm(e1)
        e2 = np.cross(normal, e1)
        flat = np.stack([(on - point) @ e1, (on - point) @ e2], axis=1)
        # minAreaRect works in float32; millimetres keep its precision.
        rect = cv2.minAreaRect((flat * 1000.0).astype(np.float32))
        corners = cv2.boxPoints(rect).astype(np.float64) / 1000.0
        center = point + rect[0][0] / 1000.0 * e1 + rect[0][1] / 1000.0 * e2
        # The outermost pixel centres lie about one pixel's footprint inside the face's edges in total.
        sides = []
        for a, b in ((corners[0], corners[1]), (corners[1], corners[2])):
            length = float(np.linalg.norm(b - a))
            direction = (b - a) / max(length, 1e-12)
            axis = direction[0] * e1 + direction[1] * e2
            step = 1e-3
            uv, _ = self.camera.project(np.stack([center, center + step * axis]))
            pixels = float(np.linalg.norm(uv[1] - uv[0]))
            sides.append(length + (step / pixels if pixels > 0 else 0.0))
        return center, (sides[0], sides[1]), normal


def silhouette_shape(contour: np.ndarray) -> tuple[str, float]:
    """("ball" | "cube" | "unknown", margin 0..1) from an outline (OpenCV contour)."""
    area = cv2.contourArea(contour)
    if area < 4 or len(contour) < 5:
        return "unknown", 0.0
    hull = cv2.convexHull(contour)
    solidity = area / max(cv2.contourArea(hull), 1e-9)
    (_, _), (rw, rh), _ = cv2.minAreaRect(contour)
    rect_fill = area / max(rw * rh, 1e-9)
    _, radius = cv2.minEnclosingCircle(contour)
    circle_fill = area / (math.pi * radius * radius)
    # The hull's radial profile around the outline's centroid: flat for a circle, dips at a polygon's
    # edges. Nearest approach to each hull edge versus the farthest hull vertex.
    m = cv2.moments(contour)
    centre = np.array([m["m10"] / m["m00"], m["m01"] / m["m00"]])
    a = hull.reshape(-1, 2).astype(np.float64)
    b = np.roll(a, -1, axis=0)
    ab = b - a
    t = np.clip(((centre - a) * ab).sum(axis=1) / np.maximum((ab * ab).sum(axis=1), 1e-12), 0.0, 1.0)
    r_min = float(np.linalg.norm(a + t[:, None] * ab - centre, axis=1).min())
    r_max = float(np.linalg.norm(a - centre, axis=1).max())
    # Pixel outlines wobble by about half a pixel: allow for it on small blobs.
    roundness = (r_min + 0.5) / (r_max + 1e-9)
    if solidity < 0.85:
        return "unknown", 0.0
    if circle_fill >= 0.84 and roundness >= 0.9 and max(rw, rh) <= 1.3 * min(rw, rh):
        return "ball", float(min(1.0, (roundness - 0.9) / 0.08))
    if rect_fill >= 0.88 and max(rw, rh) <= 1.8 * min(rw, rh):
        return "cube", float(min(1.0, (rect_fill - 0.88) / 0.08))
    approx = cv2.approxPolyDP(hull, 0.04 * cv2.arcLength(hull, True), True)
    if 4 <= len(approx) <= 6 and roundness < 0.9:
        return "cube", 0.3
    return "unknown", 0.0

