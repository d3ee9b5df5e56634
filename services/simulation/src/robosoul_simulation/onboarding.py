"""The onboarding job runner: validate -> demonstrate -> adapt -> evaluate -> publish.

Jobs come from the JetStream work queue (robosoul_core.jobs) and their record
in KV is updated as they run, so the vendor sees stage, progress and ETA live.
Demonstration, adaptation and publishing leave their output under
`<work_dir>/jobs/<job_id>/` with a marker file; a job delivered again after a crash
skips them (validation and evaluation run again: they are quick, and a resumed job
never publishes a second version).
Nothing is published unless the evaluation reaches the job's success threshold.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import nats.js.errors
from nats.aio.client import Client
from nats.js.api import AckPolicy, ConsumerConfig

from robosoul.bus.v1 import simulation_pb2
from robosoul.v1 import onboarding_pb2, robot_pb2, session_pb2
from robosoul_core import jobs as jobstore
from robosoul_core.errors import RoboSoulError
from robosoul_core.jobs import JobStore
from robosoul_core.registry import RobotRegistry

log = logging.getLogger(__name__)

Stage = onboarding_pb2.OnboardingStage
S = onboarding_pb2
# Share of the whole job each stage takes (for the overall progress bar).
WEIGHTS = {S.ONBOARDING_STAGE_VALIDATE: 0.02, S.ONBOARDING_STAGE_DEMONSTRATE: 0.33, S.ONBOARDING_STAGE_ADAPT: 0.45,
           S.ONBOARDING_STAGE_EVALUATE: 0.15, S.ONBOARDING_STAGE_PUBLISH: 0.05}
ORDER = list(WEIGHTS)
CONSUMER = "onboarding-workers"

Progress = Callable[[float, str], None]  # (fraction of the stage, message)


@dataclass(frozen=True)
class Adapted:
    onnx: Path
    sidecar: Path
    checkpoint: Path
    tag: str


class Pipeline(Protocol):
    """The stages' work; the runner around it handles records, checkpoints and delivery."""

    def validate(self, embodiment: robot_pb2.Embodiment) -> onboarding_pb2.ModelReport: ...

    def demonstrate(self, embodiment: robot_pb2.Embodiment, out: Path, *, tag: str, episodes: int, skills: list[int], progress: Progress) -> Path: ...

    def adapt(self, base_checkpoint: Path, demos: Path, tag: str, out: Path, *, fine_tune: bool, progress: Progress) -> Adapted: ...

    def evaluate(self, adapted: Adapted, embodiment: robot_pb2.Embodiment, *, episodes: int, skills: list[int],
                 progress: Progress) -> onboarding_pb2.EvaluationReport: ...

    def publish(self, adapted: Adapted) -> str:
        """Make the adapted policy the served one; returns the new model version."""
        ...


def embodiment_tag(tenant: str, robot_id: str) -> str:
    """A tenant's body gets a tag of its own (policy_io tables are global)."""
    return f"{tenant}.{robot_id}"


class _Reporter:
    """Turns stage progress into job record updates: one writer, latest state wins,
    so updates land in order and at most a few per second."""

    def __init__(self, runner: OnboardingRunner, tenant: str, job_id: str, loop: asyncio.AbstractEventLoop):
        self._runner, self._tenant, self._job_id, self._loop = runner, tenant, job_id, loop
        self._stage = S.ONBOARDING_STAGE_QUEUED
        self._stage_started = time.monotonic()
        self._latest: tuple | None = None
        self._dirty = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._writer = asyncio.create_task(self._write_forever())

    async def stage(self, stage: int) -> Progress:
        self._stage = stage
        self._stage_started = time.monotonic()
        self._set(0.0, S.OnboardingStage.Name(stage)[17:].lower())
        await self.flush()
        return self.progress

    def progress(self, fraction: float, message: str) -> None:
        """Thread-safe: stages run in worker threads."""
        self._loop.call_soon_threadsafe(self._set, fraction, message)

    def _set(self, fraction: float, message: str) -> None:
        now = time.monotonic()
        fraction = min(max(fraction, 0.0), 1.0)
        done = sum(WEIGHTS[s] for s in ORDER[: ORDER.index(self._stage)]) if self._stage in WEIGHTS else 0.0
        overall = done + WEIGHTS.get(self._stage, 0.0) * fraction
        elapsed = now - self._stage_started
        eta = 0.0
        if fraction > 0.02 and self._stage in WEIGHTS:
            # This stage's remainder, plus the later stages at this stage's pace per unit of weight.
            per_weight = (elapsed / fraction) / WEIGHTS[self._stage]
            eta = elapsed * (1 - fraction) / fraction + per_weight * sum(WEIGHTS[s] for s in ORDER[ORDER.index(self._stage) + 1 :])
        self._latest = (self._stage, fraction, overall, eta, message)
        self._idle.clear()
        self._dirty.set()

    async def _write_forever(self) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            stage, fraction, overall, eta, message = self._latest

            def change(job: onboarding_pb2.OnboardingJob, state=(stage, fraction, overall, eta, message)) -> None:
                job.stage, job.stage_progress, job.progress, job.eta_s, job.message = state

            try:
                await self._runner.jobs.update(self._tenant, self._job_id, change)
            except Exception:
                log.warning("could not record progress of job %s", self._job_id, exc_info=True)
            if not self._dirty.is_set():
                self._idle.set()
            await asyncio.sleep(0.25)  # at most four progress writes a second

    async def flush(self) -> None:
        await self._idle.wait()

    async def close(self) -> None:
        await self.flush()
        self._writer.cancel()


class OnboardingRunner:
    def __init__(self, *, nc: Client, jobs: JobStore, registry: RobotRegistry, pipeline: Pipeline, work_dir: Path,
                 base_checkpoint: Callable[[], Path], defaults: dict, ack_wait_s: float = 30.0, max_deliver: int = 3):
        self.nc = nc
        self.jobs = jobs
        self.registry = registry
        self.pipeline = pipeline
        self.work_dir = Path(work_dir)
        self.base_checkpoint = base_checkpoint
        self.defaults = defaults
        self.ack_wait_s = ack_wait_s
        self.max_deliver = max_deliver
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        js = self.nc.jetstream()
        await jobstore.ensure_stream(js)
        config = ConsumerConfig(
            durable_name=CONSUMER, ack_policy=AckPolicy.EXPLICIT, ack_wait=self.ack_wait_s, max_deliver=self.max_deliver,
            max_ack_pending=1,
        )
        with contextlib.suppress(nats.js.errors.NotFoundError):
            info = await js.consumer_info(jobstore.STREAM, CONSUMER)
            if (info.config.ack_wait, info.config.max_deliver) != (self.ack_wait_s, self.max_deliver):
                # Settings changed: recreate. Unacknowledged jobs stay in the work queue.
                await js.delete_consumer(jobstore.STREAM, CONSUMER)
        self._sub = await js.pull_subscribe(jobstore.SUBJECT, durable=CONSUMER, stream=jobstore.STREAM, config=config)
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _loop(self) -> None:
        while True:
            try:
                msgs = await self._sub.fetch(1, timeout=5)
            except TimeoutError:
                continue
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("fetching onboarding jobs failed; retrying", exc_info=True)
                await asyncio.sleep(1)
                continue
            for msg in msgs:
                await self._handle(msg)

    async def _handle(self, msg) -> None:
        try:
            task = simulation_pb2.OnboardingTask.FromString(msg.data)
        except Exception:
            log.error("dropping an onboarding task that is not an OnboardingTask")
            await msg.term()
            return
        heartbeat = asyncio.create_task(self._heartbeat(msg))
        delivery = msg.metadata.num_delivered
        try:
            await self.run_job(task.tenant, task.job_id, delivery=delivery)
            await msg.ack()
        except asyncio.CancelledError:
            raise  # shutting down: left unacknowledged, it is delivered again and resumes
        except Exception:
            # run_job re-raised to get the job retried: deliver it again after a back-off.
            with contextlib.suppress(Exception):
                await msg.nak(delay=min(2.0**delivery, 30.0))
        finally:
            heartbeat.cancel()

    async def _heartbeat(self, msg) -> None:
        while True:
            await asyncio.sleep(self.ack_wait_s / 3)
            with contextlib.suppress(Exception):
                await msg.in_progress()

    async def run_job(self, tenant: str, job_id: str, *, delivery: int = 1) -> onboarding_pb2.OnboardingJob:
        """Run (or resume) one job to its end; always leaves the record in a final state."""
        job = await self.jobs.update(tenant, job_id, lambda j: setattr(j, "attempts", j.attempts + 1))
        if job.state in jobstore.TERMINAL:
            return job
        reporter = _Reporter(self, tenant, job_id, asyncio.get_running_loop())
        try:
            return await self._stages(tenant, job, reporter)
        except asyncio.CancelledError:
            raise
        except RoboSoulError as err:
            final = (S.ONBOARDING_STATE_FAILED, f"{type(err).__name__}: {err}")
        except Exception as exc:
            log.exception("onboarding job %s failed", job_id)
            if delivery < self.max_deliver:
                raise  # unacknowledged: JetStream delivers it again and the job resumes
            final = (S.ONBOARDING_STATE_FAILED, f"failed after {delivery} attempts: {type(exc).__name__}: {exc}")
        finally:
            await reporter.close()

        def fail(j: onboarding_pb2.OnboardingJob) -> None:
            j.state, j.message = final

        return await self.jobs.update(tenant, job_id, fail)

    async def _stages(self, tenant: str, job: onboarding_pb2.OnboardingJob, reporter: _Reporter) -> onboarding_pb2.OnboardingJob:
        job_dir = self.work_dir / "jobs" / job.job_id
        job_dir.mkdir(parents=True, exist_ok=True)
        robot = await self.registry.get(tenant, job.robot_id)
        emb = robot.embodiment
        opts = job.options
        skills = list(opts.skills) or [session_pb2.SKILL_REACH]
        tag = embodiment_tag(tenant, job.robot_id)
        min_success = opts.min_success or self.defaults["min_success"]

        def done(stage: str) -> bool:
            return (job_dir / f"{stage}.done").exists()

        def mark(stage: str, payload: dict | None = None) -> None:
            (job_dir / f"{stage}.done").write_text(json.dumps(payload or {}))

        demos = job_dir / "demos.npz"
        if done("demonstrate"):
            # Resuming: check the model again (it may have been replaced), but the stages
            # the vendor already saw finish do not come back on the progress bar.
            await asyncio.to_thread(self.pipeline.validate, emb)
        else:
            await reporter.stage(S.ONBOARDING_STAGE_VALIDATE)
            await asyncio.to_thread(self.pipeline.validate, emb)
            progress = await reporter.stage(S.ONBOARDING_STAGE_DEMONSTRATE)
            episodes = opts.demo_episodes or self.defaults["demo_episodes"]
            await asyncio.to_thread(self.pipeline.demonstrate, emb, demos, tag=tag, episodes=episodes, skills=skills, progress=progress)
            mark("demonstrate")

        progress = await reporter.stage(S.ONBOARDING_STAGE_ADAPT)
        adapt_dir = job_dir / "adapted"
        if done("adapt"):
            adapted = Adapted(**{k: Path(v) if k != "tag" else v for k, v in json.loads((job_dir / "adapt.done").read_text()).items()})
        else:
            adapted = await asyncio.to_thread(
                self.pipeline.adapt, self.base_checkpoint(), demos, tag, adapt_dir, fine_tune=False, progress=progress,
            )
            mark("adapt", {"onnx": str(adapted.onnx), "sidecar": str(adapted.sidecar), "checkpoint": str(adapted.checkpoint), "tag": adapted.tag})

        progress = await reporter.stage(S.ONBOARDING_STAGE_EVALUATE)
        episodes = opts.eval_episodes or self.defaults["eval_episodes"]
        share = 0.5 if opts.allow_fine_tune else 1.0
        report = await asyncio.to_thread(
            self.pipeline.evaluate, adapted, emb, episodes=episodes, skills=skills, progress=lambda f, m: progress(share * f, m)
        )
        if report.success_rate < min_success and opts.allow_fine_tune:
            # Adapter-only fell short: also train the body's low-rank correction of the
            # trunk (the shared weights still never move) and keep whichever is better.
            progress(0.5, f"adapter only: success {report.success_rate:.0%} < {min_success:.0%}; fine-tuning")
            tuned = await asyncio.to_thread(
                self.pipeline.adapt, self.base_checkpoint(), demos, tag, job_dir / "fine-tuned", fine_tune=True,
                progress=lambda f, m: progress(0.5 + 0.3 * f, m),
            )
            tuned_report = await asyncio.to_thread(
                self.pipeline.evaluate, tuned, emb, episodes=episodes, skills=skills, progress=lambda f, m: progress(0.8 + 0.2 * f, m)
            )
            if tuned_report.success_rate > report.success_rate:
                adapted, report = tuned, tuned_report

        if report.success_rate < min_success:
            def reject(j: onboarding_pb2.OnboardingJob) -> None:
                j.state, j.stage = S.ONBOARDING_STATE_REJECTED, S.ONBOARDING_STAGE_DONE
                j.progress, j.eta_s = 1.0, 0.0
                j.report.CopyFrom(report)
                j.message = (f"success {report.success_rate:.0%} is below the threshold {min_success:.0%}: "
                             "nothing was published; try more demonstrations or allow_fine_tune")

            await reporter.close()
            return await self.jobs.update(tenant, job.job_id, reject)

        await reporter.stage(S.ONBOARDING_STAGE_PUBLISH)
        if done("publish"):
            version = json.loads((job_dir / "publish.done").read_text())["version"]
        else:
            version = await asyncio.to_thread(self.pipeline.publish, adapted)
            mark("publish", {"version": version})
        await self.registry.modify(tenant, job.robot_id, lambda r: setattr(r.embodiment, "embodiment_tag", tag))
        await reporter.close()

        def succeed(j: onboarding_pb2.OnboardingJob) -> None:
            j.state, j.stage = S.ONBOARDING_STATE_SUCCEEDED, S.ONBOARDING_STAGE_DONE
            j.progress, j.stage_progress, j.eta_s = 1.0, 1.0, 0.0
            j.report.CopyFrom(report)
            j.model_version, j.embodiment_tag = version, tag
            j.message = f"published {version}: success {report.success_rate:.0%}; live sessions switch over now"

        return await self.jobs.update(tenant, job.job_id, succeed)
