"""FrameStore against a real nats-server: a stored observation comes back whole, and every bad
reference is refused with an error naming what is wrong (never another robot's frame)."""

import asyncio

import numpy as np
import pytest

from robosoul.bus.v1 import control_pb2
from robosoul.v1 import session_pb2
from robosoul_core import bus
from robosoul_core.config import NatsConfig
from robosoul_core.errors import InvalidArgument, NotFound
from robosoul_core.frames import FrameStore
from robosoul_core.tensors import from_numpy, to_numpy


@pytest.fixture
async def nc(nats_server):
    conn = await bus.connect(NatsConfig(url=nats_server), "frames-test")
    yield conn
    await conn.close()


@pytest.fixture
async def store(nc):
    frames = FrameStore(nc, timeout_s=5, max_frame_bytes=4 << 20)
    await frames.create(ttl_s=2.0, max_bytes=64 << 20)
    return frames


def envelope(seq: int = 7, robot_id: str = "arm-1", session_id: str = "s1", values: int = 400_000) -> control_pb2.ObservationEnvelope:
    depth = np.arange(values, dtype=np.float32).reshape(-1, 1000)
    frame = session_pb2.DepthFrame(camera="head", depth=from_numpy(depth))
    return control_pb2.ObservationEnvelope(
        tenant="acme", robot_id=robot_id, session_id=session_id, observation=session_pb2.Observation(seq=seq, depth_frame=frame),
    )


async def test_a_stored_observation_comes_back_whole(store, nc):
    original = envelope()
    assert len(original.SerializeToString()) > store.inline_limit  # 1.6 MB: more than one NATS message
    reference = await store.put(original)
    ref = reference.stored_observation
    assert not reference.HasField("observation") and ref.bucket == "rs_frames" and ref.name == "acme/arm-1/s1/7"
    assert ref.size == len(original.observation.SerializeToString()) and len(reference.SerializeToString()) < 200
    # Another process (perception) needs only the bucket's name.
    back = await FrameStore(nc, timeout_s=5).resolve(reference)
    assert back == original
    assert np.array_equal(to_numpy(back.observation.depth_frame.depth), to_numpy(original.observation.depth_frame.depth))
    inline = envelope(values=1000)
    assert await store.resolve(inline) is inline


async def test_stored_observations_expire(store):
    reference = await store.put(envelope(seq=8))
    await asyncio.sleep(3.0)  # the bucket's TTL is 2 s
    with pytest.raises(NotFound, match=r"stored observation 'acme/arm-1/s1/8' is gone"):
        await store.resolve(reference)


def _with(ref: control_pb2.StoredObject, **changes) -> control_pb2.ObservationEnvelope:
    bad = control_pb2.StoredObject()
    bad.CopyFrom(ref)
    for key, value in changes.items():
        setattr(bad, key, value)
    return control_pb2.ObservationEnvelope(tenant="acme", robot_id="arm-1", session_id="s1", stored_observation=bad)


BAD_REFERENCES = [
    (dict(bucket="rs_robots"), InvalidArgument, "stored_observation.bucket 'rs_robots' is not 'rs_frames'"),
    (dict(name="other/arm-1/s1/9"), InvalidArgument, "stored_observation.name 'other/arm-1/s1/9' is not an observation of this robot session (acme/arm-1/s1/<seq>)"),
    (dict(name="acme/arm-2/s1/9"), InvalidArgument, "is not an observation of this robot session"),
    (dict(name="acme/arm-1/s2/9"), InvalidArgument, "is not an observation of this robot session"),
    (dict(name="acme/arm-1/s1/9/../x"), InvalidArgument, "is not an observation of this robot session"),
    (dict(size=0), InvalidArgument, "stored_observation.size is 0 bytes; must be 1.."),
    (dict(size=1 << 40), InvalidArgument, f"stored_observation.size is {1 << 40} bytes; must be 1..{(4 << 20) + (64 << 10)}"),
    (dict(size=123), InvalidArgument, "stored observation 'acme/arm-1/s1/9' is 1600028 bytes; its reference says 123"),
    (dict(name="acme/arm-1/s1/10"), NotFound, "stored observation 'acme/arm-1/s1/10' is gone"),
]


@pytest.mark.parametrize("changes, error, message", BAD_REFERENCES, ids=[m[:40] for _, _, m in BAD_REFERENCES])
async def test_bad_references_are_refused(store, changes, error, message):
    reference = await store.put(envelope(seq=9))
    with pytest.raises(error) as raised:
        await store.resolve(_with(reference.stored_observation, **changes))
    assert message in raised.value.message
    assert (await store.resolve(reference)).observation.seq == 9  # the real one is still there


async def test_an_envelope_with_both_is_refused_and_garbage_is_not_an_observation(store, nc):
    reference = await store.put(envelope(seq=11))
    both = _with(reference.stored_observation)
    both.observation.seq = 11
    with pytest.raises(InvalidArgument, match="carries both an observation and a stored one"):
        await store.resolve(both)
    # An object that is not an Observation (written straight into the bucket).
    raw = await nc.jetstream().object_store("rs_frames")
    await raw.put("acme/arm-1/s1/12", b"\xff" * 100)
    with pytest.raises(InvalidArgument, match=r"stored observation 'acme/arm-1/s1/12' is not an Observation"):
        await store.resolve(_with(reference.stored_observation, name="acme/arm-1/s1/12", size=100))


async def test_reading_before_the_bucket_exists_is_not_found(nats_server):
    conn = await bus.connect(NatsConfig(url=nats_server), "frames-test-empty")
    try:
        js = conn.jetstream()
        try:
            await js.delete_object_store("rs_frames")
        except Exception:  # noqa: BLE001 - not there yet is fine
            pass
        ref = control_pb2.StoredObject(bucket="rs_frames", name="acme/arm-1/s1/1", size=10)
        with pytest.raises(NotFound, match="the rs_frames object store does not exist"):
            await FrameStore(conn, timeout_s=5).resolve(control_pb2.ObservationEnvelope(tenant="acme", robot_id="arm-1", session_id="s1", stored_observation=ref))
    finally:
        await conn.close()
