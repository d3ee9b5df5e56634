"""Observations too large for one NATS message, carried through JetStream's object store.

NATS refuses a message above the server's `max_payload` (1 MiB by default); a
1280x720 raw colour frame is 2.8 MB and a float32 depth frame of that size 3.7 MB.
The gateway puts such an observation into the object store bucket `rs_frames`
(chunked by JetStream, checked by its SHA-256 digest) and publishes on the usual
subject a small `ObservationEnvelope` whose `stored_observation` names the object;
a reader (perception) calls `FrameStore.resolve` and gets the envelope back whole.

The bucket lives in memory and forgets: objects expire after `ttl_s`, and when the
bucket holds `max_bytes` the oldest chunks make room (frames are worth something
for a moment only; a reader that comes too late gets NotFound, never a stale frame
passed off as new). Nobody deletes objects by hand.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging

import nats.errors
import nats.js.errors
from google.protobuf.message import DecodeError
from nats.aio.client import Client
from nats.js import api
from nats.js.object_store import ObjectStore

from robosoul.bus.v1 import control_pb2
from robosoul.v1 import session_pb2
from robosoul_core import subjects
from robosoul_core.errors import DeadlineExceeded, InvalidArgument, NotFound, Unavailable
from robosoul_core.validation import Limits

log = logging.getLogger(__name__)

# NATS headers and the small envelope ride with a message; keep this far from the limit.
PAYLOAD_HEADROOM = 16 << 10
# JetStream chunks: as few round trips as the payload limit allows.
MAX_CHUNK_BYTES = 512 << 10
# A serialized observation is its frame's payload plus at most this much (ids, shape, timestamps).
OBSERVATION_OVERHEAD = 64 << 10


def stored_name(tenant: str, robot_id: str, session_id: str, seq: int) -> str:
    return f"{tenant}/{robot_id}/{session_id}/{seq}"


class FrameStore:
    """The `rs_frames` object store: `put` an oversize observation, `resolve` a reference to it."""

    def __init__(self, nc: Client, *, timeout_s: float, max_frame_bytes: int = Limits.max_frame_bytes):
        self._nc = nc
        self._timeout_s = timeout_s
        self._max_object_bytes = max_frame_bytes + OBSERVATION_OVERHEAD
        self._store: ObjectStore | None = None
        self._lock = asyncio.Lock()

    @property
    def inline_limit(self) -> int:
        """Envelopes up to this many bytes go as plain NATS messages."""
        return max(self._nc.max_payload - PAYLOAD_HEADROOM, 1 << 10)

    async def create(self, *, ttl_s: float, max_bytes: int) -> None:
        """Create the bucket, or bring an existing one to this TTL and size (the writer does this at start)."""
        js = self._nc.jetstream(timeout=self._timeout_s)
        bucket = subjects.FRAMES_BUCKET
        config = api.StreamConfig(
            name=f"OBJ_{bucket}",
            description="RoboSoul: camera and depth frames larger than one NATS message, kept briefly",
            subjects=[f"$O.{bucket}.C.>", f"$O.{bucket}.M.>"],
            max_age=ttl_s,
            max_bytes=max_bytes,
            storage=api.StorageType.MEMORY,
            discard=api.DiscardPolicy.OLD,
            allow_rollup_hdrs=True,
            allow_direct=True,
        )
        try:
            try:
                await js.stream_info(config.name)
            except nats.js.errors.NotFoundError:
                await js.add_stream(config)
            else:
                await js.update_stream(config)
        except (TimeoutError, nats.errors.TimeoutError):
            raise Unavailable(f"JetStream did not set up the {bucket} object store within {self._timeout_s:.1f} s") from None
        except nats.js.errors.APIError as err:
            raise Unavailable(f"JetStream refused the {bucket} object store: {err.description or err}") from None
        self._store = await js.object_store(bucket)

    async def _bucket(self) -> ObjectStore:
        if self._store is None:
            async with self._lock:
                if self._store is None:
                    js = self._nc.jetstream(timeout=self._timeout_s)
                    try:
                        self._store = await asyncio.wait_for(js.object_store(subjects.FRAMES_BUCKET), self._timeout_s)
                    except nats.js.errors.BucketNotFoundError:
                        raise NotFound(f"the {subjects.FRAMES_BUCKET} object store does not exist (the gateway creates it)") from None
                    except (TimeoutError, nats.errors.TimeoutError):
                        raise Unavailable(f"JetStream did not answer within {self._timeout_s:.1f} s") from None
        return self._store

    async def put(self, envelope: control_pb2.ObservationEnvelope) -> control_pb2.ObservationEnvelope:
        """Store the envelope's observation; the small envelope to publish in its place."""
        store = await self._bucket()
        obs = envelope.observation
        data = obs.SerializeToString()
        name = stored_name(envelope.tenant, envelope.robot_id, envelope.session_id, obs.seq)
        meta = api.ObjectMeta(name=name, options=api.ObjectMetaOptions(max_chunk_size=self._chunk_bytes()))
        try:
            await asyncio.wait_for(store.put(name, data, meta=meta), self._timeout_s)
        except (TimeoutError, nats.errors.TimeoutError):
            raise DeadlineExceeded(f"storing a {len(data)}-byte observation took over {self._timeout_s:.1f} s") from None
        except (nats.errors.Error, nats.js.errors.Error) as err:
            raise Unavailable(f"the {subjects.FRAMES_BUCKET} object store refused a {len(data)}-byte observation: {err}") from None
        return control_pb2.ObservationEnvelope(
            tenant=envelope.tenant, robot_id=envelope.robot_id, session_id=envelope.session_id,
            stored_observation=control_pb2.StoredObject(bucket=subjects.FRAMES_BUCKET, name=name, size=len(data)),
        )

    async def resolve(self, envelope: control_pb2.ObservationEnvelope) -> control_pb2.ObservationEnvelope:
        """The envelope with its observation in place, fetched if it was stored; an inline one as it is.

        Raises InvalidArgument for a reference that is not this robot's or too large, NotFound
        when the object has expired, DeadlineExceeded/Unavailable when JetStream does not answer."""
        if not envelope.HasField("stored_observation"):
            return envelope
        if envelope.HasField("observation"):
            raise InvalidArgument("observation envelope carries both an observation and a stored one")
        ref = envelope.stored_observation
        check_reference(envelope, self._max_object_bytes)
        try:
            data = await asyncio.wait_for(self._fetch(ref), self._timeout_s)
        except nats.js.errors.NotFoundError:
            raise NotFound(f"stored observation {ref.name!r} is gone (expired or pushed out of the bucket)") from None
        except (TimeoutError, nats.errors.TimeoutError):
            raise DeadlineExceeded(f"fetching stored observation {ref.name!r} took over {self._timeout_s:.1f} s") from None
        except (nats.errors.Error, nats.js.errors.Error) as err:
            raise Unavailable(f"could not fetch stored observation {ref.name!r}: {err}") from None
        try:
            obs = session_pb2.Observation.FromString(data)
        except DecodeError:
            raise InvalidArgument(f"stored observation {ref.name!r} is not an Observation") from None
        return control_pb2.ObservationEnvelope(
            tenant=envelope.tenant, robot_id=envelope.robot_id, session_id=envelope.session_id, observation=obs,
        )

    async def _fetch(self, ref: control_pb2.StoredObject) -> bytes:
        """The object's bytes, chunk by chunk with direct gets, its size and digest checked.

        (nats-py's `ObjectStore.get` reads through a push consumer whose flow-control replies
        are sent from a 250 ms polling loop: objects over ~2 MB stalled a quarter of a second.)"""
        store = await self._bucket()
        info = await store.get_info(ref.name)
        if info.size != ref.size:
            raise InvalidArgument(f"stored observation {ref.name!r} is {info.size} bytes; its reference says {ref.size}")
        js = self._nc.jetstream(timeout=self._timeout_s)
        stream, subject = f"OBJ_{subjects.FRAMES_BUCKET}", f"$O.{subjects.FRAMES_BUCKET}.C.{info.nuid}"
        digest, parts, seq = hashlib.sha256(), [], 1
        for _ in range(info.chunks or 0):
            msg = await js.get_msg(stream, seq=seq, subject=subject, direct=True, next=True)
            parts.append(msg.data or b"")
            digest.update(parts[-1])
            seq = msg.seq + 1
        data = b"".join(parts)
        want = (info.digest or "").removeprefix("SHA-256=")
        if len(data) != ref.size or base64.urlsafe_b64encode(digest.digest()).decode() != want:
            raise InvalidArgument(f"stored observation {ref.name!r} does not match its size and digest")
        return data

    def _chunk_bytes(self) -> int:
        return max(min(MAX_CHUNK_BYTES, self.inline_limit), 1 << 10)


def check_reference(envelope: control_pb2.ObservationEnvelope, max_object_bytes: int) -> None:
    """A reference must point into the frames bucket, at an object of the envelope's own robot, of a sane size."""
    ref = envelope.stored_observation
    if ref.bucket != subjects.FRAMES_BUCKET:
        raise InvalidArgument(f"stored_observation.bucket {ref.bucket!r} is not {subjects.FRAMES_BUCKET!r}")
    prefix = f"{envelope.tenant}/{envelope.robot_id}/{envelope.session_id}/"
    if not ref.name.startswith(prefix) or not ref.name[len(prefix):].isdigit():
        raise InvalidArgument(f"stored_observation.name {ref.name!r} is not an observation of this robot session ({prefix}<seq>)")
    if not 0 < ref.size <= max_object_bytes:
        raise InvalidArgument(f"stored_observation.size is {ref.size} bytes; must be 1..{max_object_bytes}")
