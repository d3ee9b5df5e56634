"""Tracks and people -> the `robosoul.v1.Scene` the language service grounds words in.

    >>> import numpy as np
    >>> from robosoul_perception.objects import Detection
    >>> from robosoul_perception.tracking import Track
    >>> det = Detection("red", "cube", 0.9, (0, 0, 10, 10), (5.0, 5.0), 100, np.array([0.45, 0.05, 0.02]), 0.04)
    >>> scene = build_scene("head", 1700000000.0, [Track(det, track_id="red-cube-1")])
    >>> obj = scene.objects[0]
    >>> obj.object_id, obj.label, obj.color, round(obj.position.x, 2), round(obj.size_m, 2)
    ('red-cube-1', 'cube', 'red', 0.45, 0.04)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from google.protobuf.timestamp_pb2 import Timestamp

from robosoul.v1 import dialogue_pb2, tensor_pb2
from robosoul_core.validation import MAX_SCENE_OBJECTS, MAX_SCENE_PEOPLE
from robosoul_perception.people import Person
from robosoul_perception.tracking import Track

# Each frame a track goes unseen multiplies its reported confidence by this.
MISS_DECAY = 0.8


def _vec(p: np.ndarray | None) -> tensor_pb2.Vec3 | None:
    if p is None:
        return None
    return tensor_pb2.Vec3(x=float(p[0]), y=float(p[1]), z=float(p[2]))


def scene_object(track: Track) -> dialogue_pb2.SceneObject:
    det = track.detection
    confidence = det.confidence * MISS_DECAY**track.misses
    return dialogue_pb2.SceneObject(
        object_id=track.track_id, label=track.label, color=det.color, position=_vec(det.position),
        size_m=float(min(max(det.size_m, 0.0), 2.0)), confidence=float(min(max(confidence, 0.0), 1.0)),
    )


def build_scene(
    camera: str,
    timestamp_s: float,
    tracks: Sequence[Track],
    people: Sequence[tuple[str, Person, np.ndarray | None]] = (),
) -> dialogue_pb2.Scene:
    """A Scene of confirmed tracks (most confident first, at most 64) and people as (id, person, head position)."""
    ts = Timestamp()
    ts.FromNanoseconds(int(round(timestamp_s * 1e9)))
    objects = sorted((scene_object(t) for t in tracks if t.confirmed), key=lambda o: (-o.confidence, o.object_id))
    persons = [
        dialogue_pb2.ScenePerson(person_id=pid, position=_vec(head), facing_robot=person.facing_robot)
        for pid, person, head in people[:MAX_SCENE_PEOPLE]
    ]
    return dialogue_pb2.Scene(timestamp=ts, camera=camera, objects=objects[:MAX_SCENE_OBJECTS], people=persons)
