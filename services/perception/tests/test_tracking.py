from __future__ import annotations

import math

import numpy as np
import pytest

from robosoul_core.errors import InvalidArgument
from robosoul_core.validation import validate_scene
from robosoul_perception.objects import Detection, ObjectDetector
from robosoul_perception.scene import build_scene
from robosoul_perception.synthetic import Box, Sphere, render
from robosoul_perception.tracking import Tracker, TrackerConfig


def _det(color="red", label="cube", xyz=(0.5, 0.0, 0.02), px=(100.0, 100.0), depth=True) -> Detection:
    position = np.array(xyz, dtype=float) if depth else None
    return Detection(color, label, 0.9, (0, 0, 10, 10), px, 100, position, 0.04 if depth else 0.0)


def _ids(tracks) -> list[str]:
    return [t.track_id for t in tracks]


def test_ids_follow_rendered_objects_that_move_and_one_that_appears(table_camera):
    detector, tracker = ObjectDetector(), Tracker()
    cube_ids, ball_ids = set(), set()
    for frame in range(8):
        shapes = [
            Box(center=(0.4 + 0.01 * frame, 0.05, 0.02), size=0.04, color=(220, 30, 30), yaw=0.1 * frame),
            Box(center=(0.6, -0.1 + 0.01 * frame, 0.02), size=0.04, color=(220, 30, 30)),
        ]
        if frame >= 4:
            shapes.append(Sphere(center=(0.5, 0.15, 0.025), radius=0.025, color=(30, 60, 220)))
        rgb, depth = render(table_camera, shapes)
        tracks = tracker.update(detector.detect(rgb, depth, table_camera))
        if frame == 0:
            assert tracks == []  # tentative until seen twice
            continue
        by_x = sorted((t for t in tracks if t.color == "red"), key=lambda t: t.position[0])
        assert len(by_x) == 2
        cube_ids.add((by_x[0].track_id, by_x[1].track_id))
        ball_ids.update(t.track_id for t in tracks if t.color == "blue")
    assert cube_ids == {("red-cube-1", "red-cube-2")}
    assert ball_ids == {"blue-ball-1"}


def test_a_track_survives_short_gaps_and_expires_after_max_misses():
    tracker = Tracker(TrackerConfig(confirm_hits=1, max_misses=2))
    assert _ids(tracker.update([_det()])) == ["red-cube-1"]
    for missed in (1, 2):
        [track] = tracker.update([])
        assert (track.track_id, track.misses) == ("red-cube-1", missed)
    assert _ids(tracker.update([_det()])) == ["red-cube-1"]  # back within the limit
    for _ in range(3):
        tracker.update([])
    assert tracker.tracks == []
    # The same object after expiry is a new track, and ids are never reused.
    assert _ids(tracker.update([_det()])) == ["red-cube-2"]


def test_colour_never_matches_across_and_labels_only_with_unknown():
    tracker = Tracker(TrackerConfig(confirm_hits=1))
    tracker.update([_det("red", "cube")])
    assert _ids(tracker.update([_det("green", "cube")])) == ["green-cube-1", "red-cube-1"]
    tracker = Tracker(TrackerConfig(confirm_hits=1))
    tracker.update([_det("red", "cube")])
    assert _ids(tracker.update([_det("red", "unknown")])) == ["red-cube-1"]
    assert _ids(tracker.update([_det("red", "ball")])) == ["red-ball-1", "red-cube-1"]


def test_the_majority_label_wins_and_an_unknown_start_is_an_object():
    tracker = Tracker(TrackerConfig(confirm_hits=1))
    assert _ids(tracker.update([_det(label="unknown")])) == ["red-object-1"]
    for _ in range(2):
        [track] = tracker.update([_det(label="ball")])
    assert track.label == "ball" and track.track_id == "red-object-1"


def test_nearest_pairs_win_and_far_jumps_start_new_tracks():
    tracker = Tracker(TrackerConfig(confirm_hits=1, max_jump_m=0.05))
    tracker.update([_det(xyz=(0.4, 0.0, 0.02)), _det(xyz=(0.5, 0.0, 0.02))])
    tracks = tracker.update([_det(xyz=(0.49, 0.0, 0.02)), _det(xyz=(0.42, 0.0, 0.02))])
    assert {t.track_id: round(float(t.position[0]), 2) for t in tracks} == {"red-cube-1": 0.42, "red-cube-2": 0.49}
    tracks = tracker.update([_det(xyz=(0.42, 0.0, 0.02)), _det(xyz=(0.7, 0.0, 0.02))])
    assert _ids(tracks) == ["red-cube-1", "red-cube-2", "red-cube-3"]
    assert [t.misses for t in tracks] == [0, 1, 0]


def test_without_depth_image_centroids_match():
    tracker = Tracker(TrackerConfig(confirm_hits=1, max_jump_px=30))
    tracker.update([_det(px=(100, 100), depth=False)])
    assert _ids(tracker.update([_det(px=(120, 110), depth=False)])) == ["red-cube-1"]
    assert _ids(tracker.update([_det(px=(200, 110), depth=False)])) == ["red-cube-1", "red-cube-2"]


def test_tracks_become_a_valid_scene(table_camera):
    rgb, depth = render(table_camera, [
        Box(center=(0.45, 0.05, 0.02), size=0.04, color=(220, 30, 30)),
        Sphere(center=(0.55, -0.1, 0.03), radius=0.03, color=(40, 180, 60)),
    ])
    tracker, detector = Tracker(), ObjectDetector()
    for _ in range(2):
        tracks = tracker.update(detector.detect(rgb, depth, table_camera))
    scene = build_scene("head", 1_700_000_000.5, tracks)
    validate_scene(scene)
    got = {o.object_id: (o.label, o.color, round(o.position.x, 2), round(o.position.y, 2), round(o.size_m, 2)) for o in scene.objects}
    assert got == {"red-cube-1": ("cube", "red", 0.45, 0.05, 0.04), "green-ball-1": ("ball", "green", 0.55, -0.1, 0.06)}
    assert scene.timestamp.seconds == 1_700_000_000 and scene.timestamp.nanos == 500_000_000


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_jump_m": 0.0}, "max_jump_m must be a finite number > 0"),
        ({"max_jump_px": math.inf}, "max_jump_px must be a finite number > 0"),
        ({"max_misses": -1}, "max_misses must be >= 0"),
        ({"confirm_hits": 0}, "confirm_hits must be >= 1"),
    ],
)
def test_bad_tracker_configs_are_refused_precisely(kwargs, message):
    with pytest.raises(InvalidArgument) as err:
        TrackerConfig(**kwargs)
    assert message in str(err.value)
