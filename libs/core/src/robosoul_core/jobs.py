"""Durable onboarding jobs: a JetStream work queue plus one KV record per job.

- Stream RS_ONBOARDING (work-queue retention), subject ``rs.jobs.onboard``:
  one OnboardingTask per job. A worker acknowledges it only when the job has
  ended; a worker that dies leaves it unacknowledged, and JetStream delivers
  it again (to this or another worker), which resumes from the job's record.
- KV bucket rs_jobs, key ``<tenant>.<job_id>``: the OnboardingJob itself, the
  single source of truth that the gateway serves and watches.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable

import nats.js.errors
from nats.js.api import RetentionPolicy, StreamConfig

from robosoul.bus.v1 import simulation_pb2
from robosoul.v1 import onboarding_pb2
from robosoul_core import bus
from robosoul_core.clock import now_timestamp
from robosoul_core.errors import Unavailable
from robosoul_core.subjects import check_id, check_tenant

JOBS_BUCKET = "rs_jobs"
STREAM = "RS_ONBOARDING"
SUBJECT = "rs.jobs.onboard"
TERMINAL = (
    onboarding_pb2.ONBOARDING_STATE_SUCCEEDED,
    onboarding_pb2.ONBOARDING_STATE_REJECTED,
    onboarding_pb2.ONBOARDING_STATE_FAILED,
)


def job_key(tenant: str, job_id: str) -> str:
    return f"{check_tenant(tenant)}.{check_id(job_id, 'job_id')}"


async def ensure_stream(js) -> None:
    """Create the work-queue stream if it is missing (idempotent)."""
    try:
        await js.stream_info(STREAM)
    except nats.js.errors.NotFoundError:
        await js.add_stream(StreamConfig(name=STREAM, subjects=[SUBJECT], retention=RetentionPolicy.WORK_QUEUE))


class JobStore:
    def __init__(self, kv, js, *, timeout_s: float = 2.0):
        self._kv = kv
        self._js = js
        self._timeout = timeout_s

    async def submit(self, tenant: str, robot_id: str, options: onboarding_pb2.OnboardingOptions) -> onboarding_pb2.OnboardingJob:
        """Record a new job and queue it for a worker."""
        job_id = uuid.uuid4().hex[:16]
        job = onboarding_pb2.OnboardingJob(
            job_id=job_id, robot_id=robot_id, state=onboarding_pb2.ONBOARDING_STATE_RUNNING,
            stage=onboarding_pb2.ONBOARDING_STAGE_QUEUED, message="waiting for a simulation worker",
            created_at=now_timestamp(), updated_at=now_timestamp(), options=options,
        )
        await asyncio.wait_for(self._kv.create(job_key(tenant, job_id), job.SerializeToString()), self._timeout)
        task = simulation_pb2.OnboardingTask(tenant=tenant, job_id=job_id)
        try:
            await self._js.publish(SUBJECT, task.SerializeToString(), timeout=self._timeout)
        except (nats.errors.TimeoutError, nats.js.errors.NoStreamResponseError):
            await self.update(tenant, job_id, lambda j: _fail(j, "could not queue the job: the work queue is unavailable"))
            raise Unavailable("the onboarding work queue is unavailable; retry") from None
        return job

    async def get(self, tenant: str, job_id: str) -> onboarding_pb2.OnboardingJob:
        job, _ = await bus.kv_read(
            self._kv, job_key(tenant, job_id), onboarding_pb2.OnboardingJob, timeout=self._timeout,
            missing=f"no onboarding job {job_id!r} in your tenant",
        )
        return job

    async def update(self, tenant: str, job_id: str, change: Callable[[onboarding_pb2.OnboardingJob], None]) -> onboarding_pb2.OnboardingJob:
        """Compare-and-set `change` on the job record (its updated_at set too)."""

        def stamped(job: onboarding_pb2.OnboardingJob) -> None:
            change(job)
            job.updated_at.CopyFrom(now_timestamp())

        return await bus.kv_modify(
            self._kv, job_key(tenant, job_id), onboarding_pb2.OnboardingJob, stamped, timeout=self._timeout,
            missing=f"no onboarding job {job_id!r}", what=f"job {job_id}", attempts=10,
        )

    async def watch(self, tenant: str, job_id: str) -> AsyncIterator[onboarding_pb2.OnboardingJob]:
        """The job now, then at every change, until it has ended."""
        await self.get(tenant, job_id)  # NotFound before watching
        watcher = await self._kv.watch(job_key(tenant, job_id))
        try:
            while True:
                entry = await watcher.updates(timeout=None)
                if entry is None or not entry.value:
                    continue
                job = onboarding_pb2.OnboardingJob.FromString(entry.value)
                yield job
                if job.state in TERMINAL:
                    return
        finally:
            await watcher.stop()


def _fail(job: onboarding_pb2.OnboardingJob, message: str) -> None:
    job.state = onboarding_pb2.ONBOARDING_STATE_FAILED
    job.message = message
