"""People, faces and hands through the real mediapipe worker (in .venv-perception), on real photos.

skimage's astronaut faces the camera; in `camera` the photographer looks into his
camera, turned about 55 degrees away; `coffee` has nobody.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import numpy as np
import pytest
import pytest_asyncio

from robosoul_core.errors import DeadlineExceeded, FailedPrecondition, Internal, InvalidArgument, Unavailable
from robosoul_perception.people import PeopleConfig, PeopleDetector

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def people(worker_python):
    async with PeopleDetector(PeopleConfig(python=worker_python)) as detector:
        yield detector


async def test_the_astronaut_is_a_person_facing_the_robot(people, photo):
    frame = await people.detect(photo("astronaut"))
    [person] = frame.people
    [face] = frame.faces
    assert person.face is face and person.facing_robot
    assert abs(face.yaw_deg) < 15 and face.score > 0.8
    x, y, w, h = face.bbox
    assert 150 < x + w / 2 < 300 and 60 < y + h / 2 < 180  # her face is upper left of centre
    for name in ("nose", "left_shoulder", "right_shoulder"):
        assert person.landmarks[name][2] > 0.9
    nx, ny, _ = person.landmarks["nose"]
    assert x <= nx <= x + w and y <= ny <= y + h
    assert person.landmarks["left_shoulder"][0] > person.landmarks["right_shoulder"][0]  # she faces us: her left is image right


async def test_tracking_a_stream_finds_the_person_of_every_frame(worker_python, photo):
    # One camera's stream: after the first frame, pose follows the person instead of detecting her again.
    image, still = photo("astronaut"), None
    async with PeopleDetector(PeopleConfig(python=worker_python, tracking=True)) as tracker:
        for _ in range(4):
            frame = await tracker.detect(image)
            [person] = frame.people
            still = still or person.landmarks["nose"]
            assert person.landmarks["nose"][:2] == pytest.approx(still[:2], abs=8.0)  # pixels (her face is ~100 px wide)
    # (A cut to another scene is not a stream: mediapipe may keep the last track for a frame.)


async def test_a_mirrored_astronaut_still_faces_the_robot(people, photo):
    frame = await people.detect(np.ascontiguousarray(photo("astronaut")[:, ::-1]))
    assert [p.facing_robot for p in frame.people] == [True]


async def test_a_face_turned_away_is_not_facing_the_robot(people, photo):
    frame = await people.detect(photo("camera"))
    [person] = frame.people
    assert person.face is not None and abs(person.face.yaw_deg) > 40
    assert not person.facing_robot


async def test_a_photo_without_people_has_none(people, photo):
    frame = await people.detect(photo("coffee"))
    assert (frame.people, frame.faces, frame.hands) == ([], [], [])
    assert frame.worker_ms > 0


async def test_a_killed_worker_is_replaced_on_the_next_request(people, photo):
    old = people.pid
    os.kill(old, signal.SIGKILL)
    for _ in range(1000):  # until the event loop has seen the exit
        if people.pid is None:
            break
        await asyncio.sleep(0.01)
    frame = await people.detect(photo("astronaut"))
    assert people.pid not in (None, old)
    assert len(frame.faces) == 1


async def test_a_hung_worker_misses_the_deadline_and_is_replaced(people, photo):
    stuck = people.pid
    os.kill(stuck, signal.SIGSTOP)
    try:
        with pytest.raises(DeadlineExceeded, match="did not answer request"):
            await people.detect(photo("coffee"), timeout_s=0.5)
    finally:
        try:
            os.kill(stuck, signal.SIGCONT)
        except ProcessLookupError:
            pass  # killed by the detector, as it should be
    assert people.pid is None
    assert (await people.detect(photo("astronaut"))).faces
    assert people.pid != stuck
    assert await people.ping() > 0


async def test_a_cancelled_request_leaves_no_reply_behind(people, photo):
    stuck = people.pid
    os.kill(stuck, signal.SIGSTOP)
    request = asyncio.create_task(people.detect(photo("coffee")))
    await asyncio.sleep(0.2)
    request.cancel()
    with pytest.raises(asyncio.CancelledError):
        await request
    try:
        os.kill(stuck, signal.SIGCONT)
    except ProcessLookupError:
        pass
    frame = await people.detect(photo("astronaut"))
    assert len(frame.faces) == 1 and people.pid != stuck


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.zeros((48, 64, 3), np.float32), "rgb must be uint8"),
        (np.zeros((48, 64), np.uint8), "rgb must have shape (height, width, 3)"),
        (np.zeros((10, 5000, 3), np.uint8), "at most 4096 pixels a side"),
    ],
)
async def test_bad_images_are_refused_before_the_worker(people, image, message):
    pid = people.pid
    with pytest.raises(InvalidArgument) as err:
        await people.detect(image)
    assert message in str(err.value) and people.pid == pid


async def test_a_missing_environment_says_how_to_make_it(tmp_path):
    detector = PeopleDetector(PeopleConfig(python=tmp_path / "nowhere" / "python"))
    with pytest.raises(FailedPrecondition, match="does not exist; create it with: python3.11 -m venv .venv-perception"):
        await detector.start()
    broken = tmp_path / "python"
    broken.write_bytes(b"\x7fELF not really")
    broken.chmod(0o755)
    with pytest.raises(FailedPrecondition, match="cannot run .*Exec format error.*; create it with"):
        await PeopleDetector(PeopleConfig(python=broken)).start()


async def test_an_environment_without_mediapipe_fails_to_start_then_gives_up():
    # The platform's own interpreter has no mediapipe: the worker reports why and exits.
    detector = PeopleDetector(PeopleConfig(python=sys.executable, max_failures=1))
    with pytest.raises(Unavailable, match="loading mediapipe models failed: ModuleNotFoundError"):
        await detector.start()
    with pytest.raises(Unavailable, match="failed 1 times in a row"):
        await detector.detect(np.zeros((8, 8, 3), np.uint8))


async def test_a_worker_slower_than_the_start_timeout_is_not_used(worker_python):
    detector = PeopleDetector(PeopleConfig(python=worker_python, start_timeout_s=0.05))
    with pytest.raises(DeadlineExceeded, match="was not ready within 0.05 s"):
        await detector.start()
    assert detector.pid is None


async def test_a_worker_that_breaks_the_protocol_is_an_internal_error(tmp_path):
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\nprintf '\\377\\377\\377\\377\\0\\0\\0\\0'\nexec sleep 5\n")
    fake.chmod(0o755)
    detector = PeopleDetector(PeopleConfig(python=fake))
    with pytest.raises(Internal, match="broke the protocol: header length 4294967295"):
        await detector.start()
    assert detector.pid is None
