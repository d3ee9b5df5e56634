"""Track ids that stay with an object from frame to frame: "red-cube-1".

Each frame's detections are matched to the live tracks greedily, cheapest pair first.
A pair must share the colour; labels must agree unless either is "unknown" (the shape
of a half-hidden object flickers). The cost is the distance between centres in metres
when both have a 3-D position, otherwise between image centroids in pixels (scaled to
compare with metres: `pixels_per_metre`). Pairs farther than the gate never match.

A new object's track is tentative until seen in `confirm_hits` frames, and only then
gets an id: `<colour>-<label>-<n>` with n counting up per colour and label, never reused,
so a name the person heard keeps meaning one object. A track missed for more than
`max_misses` frames in a row expires. A track's label is the most frequent one seen.

    >>> import numpy as np
    >>> from robosoul_perception.objects import Detection
    >>> def cube(x):
    ...     return Detection("red", "cube", 0.9, (0, 0, 10, 10), (5.0, 5.0), 100, np.array([x, 0.0, 0.02]), 0.04)
    >>> tracker = Tracker(TrackerConfig(confirm_hits=1))
    >>> [t.track_id for t in tracker.update([cube(0.40)])]
    ['red-cube-1']
    >>> [t.track_id for t in tracker.update([cube(0.41), cube(0.60)])]
    ['red-cube-1', 'red-cube-2']
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from robosoul_core.errors import InvalidArgument
from robosoul_perception.objects import Detection


@dataclass(frozen=True)
class TrackerConfig:
    # A detection farther than this from a track's last position starts a new track.
    max_jump_m: float = 0.08
    max_jump_px: float = 60.0
    # Frames in a row a track may go unseen before it expires.
    max_misses: int = 5
    # Frames a new object must be seen in before it gets an id and is reported.
    confirm_hits: int = 2
    # Image distances are divided by this to compare with metres (only used without depth).
    pixels_per_metre: float = 1000.0

    def __post_init__(self) -> None:
        for key in ("max_jump_m", "max_jump_px", "pixels_per_metre"):
            value = getattr(self, key)
            if not (math.isfinite(value) and value > 0):
                raise InvalidArgument(f"TrackerConfig.{key} must be a finite number > 0, got {value}")
        if self.max_misses < 0:
            raise InvalidArgument(f"TrackerConfig.max_misses must be >= 0, got {self.max_misses}")
        if self.confirm_hits < 1:
            raise InvalidArgument(f"TrackerConfig.confirm_hits must be >= 1, got {self.confirm_hits}")


@dataclass
class Track:
    """One object followed across frames; `detection` is its latest sighting."""

    detection: Detection
    # Empty while tentative.
    track_id: str = ""
    hits: int = 1
    misses: int = 0
    labels: Counter[str] = field(default_factory=Counter)

    @property
    def color(self) -> str:
        return self.detection.color

    @property
    def label(self) -> str:
        """The most frequent label seen, a known shape winning ties with "unknown"."""
        if not self.labels:
            return self.detection.label
        return max(self.labels.items(), key=lambda kv: (kv[1], kv[0] != "unknown"))[0]

    @property
    def position(self) -> np.ndarray | None:
        return self.detection.position

    @property
    def confirmed(self) -> bool:
        return bool(self.track_id)


class Tracker:
    """Assigns stable ids to one camera's detections; call `update` once per frame."""

    def __init__(self, config: TrackerConfig | None = None):
        self.config = config or TrackerConfig()
        self._tracks: list[Track] = []
        self._counters: Counter[str] = Counter()

    @property
    def tracks(self) -> list[Track]:
        """Every live track, tentative ones included."""
        return list(self._tracks)

    def update(self, detections: Sequence[Detection]) -> list[Track]:
        """Match one frame's detections; returns the confirmed live tracks by id (`misses` > 0: unseen this frame)."""
        pairs = sorted(
            (cost, ti, di)
            for ti, track in enumerate(self._tracks)
            for di, det in enumerate(detections)
            if (cost := self._cost(track, det)) is not None
        )
        used_t: set[int] = set()
        used_d: set[int] = set()
        for _, ti, di in pairs:
            if ti in used_t or di in used_d:
                continue
            used_t.add(ti)
            used_d.add(di)
            track = self._tracks[ti]
            track.detection = detections[di]
            track.hits += 1
            track.misses = 0
            track.labels[detections[di].label] += 1
        kept = []
        for ti, track in enumerate(self._tracks):
            if ti not in used_t:
                track.misses += 1
            if track.misses <= self.config.max_misses and (track.confirmed or track.misses == 0):
                kept.append(track)
        for di, det in enumerate(detections):
            if di not in used_d:
                kept.append(Track(detection=det, labels=Counter([det.label])))
        for track in kept:
            if not track.confirmed and track.hits >= self.config.confirm_hits:
                track.track_id = self._new_id(track)
        self._tracks = kept
        return sorted((t for t in kept if t.confirmed), key=lambda t: t.track_id)

    def reset(self) -> None:
        """Forget every track (ids keep counting up)."""
        self._tracks = []

    def _new_id(self, track: Track) -> str:
        label = track.label if track.label != "unknown" else "object"
        prefix = f"{track.color}-{label}"
        self._counters[prefix] += 1
        return f"{prefix}-{self._counters[prefix]}"

    def _cost(self, track: Track, det: Detection) -> float | None:
        last = track.detection
        if det.color != last.color:
            return None
        if det.label != "unknown" and track.label != "unknown" and det.label != track.label:
            return None
        if det.position is not None and last.position is not None:
            dist = float(np.linalg.norm(det.position - last.position))
            return dist if dist <= self.config.max_jump_m else None
        dist_px = math.dist(det.centroid_px, last.centroid_px)
        return dist_px / self.config.pixels_per_metre if dist_px <= self.config.max_jump_px else None
