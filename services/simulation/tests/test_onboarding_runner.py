"""The onboarding job runner against a real NATS (JetStream work queue + KV).

The heavy stages are a scripted pipeline here, to test the runner itself:
records and progress, the success gate, resumption after a crash or a restart,
and failing cleanly. tests/integration runs the real pipeline end to end.
"""

import asyncio
import threading
import uuid
from pathlib import Path

import pytest

from robosoul.v1 import onboarding_pb2 as ob
from robosoul.v1 import robot_pb2
from robosoul_core import bus, subjects
from robosoul_core.config import NatsConfig
from robosoul_core.errors import InvalidArgument
from robosoul_core.jobs import JOBS_BUCKET, JobStore, ensure_stream
from robosoul_core.registry import RobotRegistry
from robosoul_simulation.onboarding import Adapted, OnboardingRunner

DEFAULTS = {"demo_episodes": 10, "eval_episodes": 5, "min_success": 0.9}


class ScriptedPipeline:
    def __init__(self, success=1.0, adapt_failures=0, adapt_blocks: threading.Event | None = None, invalid=False, tuned_success=None):
        self.calls: list[str] = []
        self.success = success
        self.tuned_success = tuned_success
        self.adapt_failures = adapt_failures
        self.adapt_blocks = adapt_blocks
        self.invalid = invalid

    def validate(self, emb):
        self.calls.append("validate")
        if self.invalid:
            raise InvalidArgument("joint 'elbow' of the registered robot is not in the MJCF")
        return ob.ModelReport()

    def demonstrate(self, emb, out: Path, *, tag, episodes, skills, progress):
        self.calls.append("demonstrate")
        for i in range(5):
            progress((i + 1) / 5, f"episode {i}")
        out.write_bytes(b"demos")
        return out

    def adapt(self, base, demos, tag, out: Path, *, fine_tune, progress):
        self.calls.append("fine-tune" if fine_tune else "adapt")
        if self.adapt_blocks is not None:
            self.adapt_blocks.wait(10)
        if self.adapt_failures > 0:
            self.adapt_failures -= 1
            raise RuntimeError("trainer crashed")
        out.mkdir(parents=True, exist_ok=True)
        progress(1.0, "trained")
        return Adapted(onnx=out / "policy.onnx", sidecar=out / "policy.json", checkpoint=out / "policy.pt", tag=tag)

    def evaluate(self, adapted, emb, *, episodes, skills, progress):
        self.calls.append("evaluate")
        tuned = adapted.onnx.parent.name == "fine-tuned"
        return ob.EvaluationReport(episodes=episodes, success_rate=self.tuned_success if tuned else self.success)

    def publish(self, adapted):
        self.calls.append("publish")
        return "robosoul_policy/7"


@pytest.fixture
async def env(nats_server, tmp_path):
    nc = await bus.connect(NatsConfig(url=nats_server), "runner-tests")
    js = nc.jetstream(timeout=2)
    await ensure_stream(js)
    jobs = JobStore(await bus.key_value(nc, JOBS_BUCKET, timeout=2), js)
    registry = RobotRegistry(await bus.key_value(nc, subjects.ROBOTS_BUCKET, timeout=2))
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    joint = robot_pb2.Joint(name="j", type=1, position_limits={"min": -1, "max": 1}, max_velocity=1)
    await registry.create(tenant, robot_pb2.Robot(robot_id="newbie", embodiment=robot_pb2.Embodiment(joints=[joint], control_rate_hz=50)))
    runners = []

    def runner(pipeline, **kw):
        r = OnboardingRunner(nc=nc, jobs=jobs, registry=registry, pipeline=pipeline, work_dir=tmp_path,
                             base_checkpoint=lambda: tmp_path / "base.pt", defaults=DEFAULTS, **kw)
        runners.append(r)
        return r

    yield {"nc": nc, "jobs": jobs, "registry": registry, "tenant": tenant, "runner": runner}
    for r in runners:
        await r.stop()
    # leave no queued work for the next test
    await js.purge_stream("RS_ONBOARDING")
    await nc.close()


async def until_final(jobs: JobStore, tenant: str, job_id: str, start=None) -> tuple[ob.OnboardingJob, list[ob.OnboardingJob]]:
    """Watch the job from now until it ends (calling `start` once the watch is on)."""
    seen = []

    async def watch():
        async for job in jobs.watch(tenant, job_id):
            seen.append(job)
            if start is not None and len(seen) == 1:
                await start()

    await asyncio.wait_for(watch(), 30)
    return seen[-1], seen


async def test_a_job_runs_its_stages_in_order_and_publishes(env):
    pipeline = ScriptedPipeline(success=0.95)
    job = await env["jobs"].submit(env["tenant"], "newbie", ob.OnboardingOptions())
    final, seen = await until_final(env["jobs"], env["tenant"], job.job_id, start=env["runner"](pipeline).start)
    assert final.state == ob.ONBOARDING_STATE_SUCCEEDED and final.model_version == "robosoul_policy/7"
    assert final.embodiment_tag == f"{env['tenant']}.newbie" and final.progress == 1.0
    assert pipeline.calls == ["validate", "demonstrate", "adapt", "evaluate", "publish"]
    stages = [j.stage for j in seen]
    assert stages == sorted(stages), "stages only move forward"
    assert {ob.ONBOARDING_STAGE_DEMONSTRATE, ob.ONBOARDING_STAGE_ADAPT, ob.ONBOARDING_STAGE_EVALUATE} <= set(stages)
    progresses = [j.progress for j in seen]
    assert progresses == sorted(progresses), "overall progress never goes back"
    robot = await env["registry"].get(env["tenant"], "newbie")
    assert robot.embodiment.embodiment_tag == f"{env['tenant']}.newbie"


async def test_below_the_threshold_nothing_is_published(env):
    pipeline = ScriptedPipeline(success=0.5)
    await env["runner"](pipeline).start()
    job = await env["jobs"].submit(env["tenant"], "newbie", ob.OnboardingOptions(min_success=0.9))
    final, _ = await until_final(env["jobs"], env["tenant"], job.job_id)
    assert final.state == ob.ONBOARDING_STATE_REJECTED and "below the threshold 90%" in final.message
    assert final.report.success_rate == 0.5 and "publish" not in pipeline.calls
    assert (await env["registry"].get(env["tenant"], "newbie")).embodiment.embodiment_tag == ""


@pytest.mark.parametrize("tuned, state", [(0.95, ob.ONBOARDING_STATE_SUCCEEDED), (0.4, ob.ONBOARDING_STATE_REJECTED)])
async def test_below_the_threshold_fine_tuning_is_tried_when_allowed_and_the_better_kept(env, tuned, state):
    pipeline = ScriptedPipeline(success=0.6, tuned_success=tuned)
    await env["runner"](pipeline).start()
    job = await env["jobs"].submit(env["tenant"], "newbie", ob.OnboardingOptions(min_success=0.9, allow_fine_tune=True))
    final, seen = await until_final(env["jobs"], env["tenant"], job.job_id)
    assert final.state == state and final.report.success_rate == max(0.6, tuned)
    assert pipeline.calls[:6] == ["validate", "demonstrate", "adapt", "evaluate", "fine-tune", "evaluate"]
    assert ("publish" in pipeline.calls) == (state == ob.ONBOARDING_STATE_SUCCEEDED)
    progresses = [j.progress for j in seen]
    assert progresses == sorted(progresses)


async def test_a_crash_is_retried_and_resumes_after_the_stages_already_done(env):
    pipeline = ScriptedPipeline(adapt_failures=1)
    await env["runner"](pipeline, ack_wait_s=1.0, max_deliver=3).start()
    job = await env["jobs"].submit(env["tenant"], "newbie", ob.OnboardingOptions())
    final, _ = await until_final(env["jobs"], env["tenant"], job.job_id)
    assert final.state == ob.ONBOARDING_STATE_SUCCEEDED and final.attempts == 2
    assert pipeline.calls.count("demonstrate") == 1 and pipeline.calls.count("adapt") == 2


async def test_a_job_that_keeps_crashing_fails_cleanly_not_silently(env):
    pipeline = ScriptedPipeline(adapt_failures=99)
    await env["runner"](pipeline, ack_wait_s=1.0, max_deliver=2).start()
    job = await env["jobs"].submit(env["tenant"], "newbie", ob.OnboardingOptions())
    final, _ = await until_final(env["jobs"], env["tenant"], job.job_id)
    assert final.state == ob.ONBOARDING_STATE_FAILED and "after 2 attempts" in final.message and "trainer crashed" in final.message


async def test_an_invalid_model_fails_at_once_with_the_reason(env):
    await env["runner"](ScriptedPipeline(invalid=True)).start()
    job = await env["jobs"].submit(env["tenant"], "newbie", ob.OnboardingOptions())
    final, _ = await until_final(env["jobs"], env["tenant"], job.job_id)
    assert final.state == ob.ONBOARDING_STATE_FAILED and "joint 'elbow'" in final.message and final.attempts == 1


async def test_a_worker_restart_mid_job_resumes_it(env):
    gate = threading.Event()
    first = env["runner"](ScriptedPipeline(adapt_blocks=gate), ack_wait_s=1.0)
    await first.start()
    job = await env["jobs"].submit(env["tenant"], "newbie", ob.OnboardingOptions())
    for _ in range(200):
        if (await env["jobs"].get(env["tenant"], job.job_id)).stage == ob.ONBOARDING_STAGE_ADAPT:
            break
        await asyncio.sleep(0.05)
    await first.stop()  # the worker goes away mid-adapt, its delivery unacknowledged
    gate.set()
    second_pipeline = ScriptedPipeline()
    await env["runner"](second_pipeline, ack_wait_s=1.0).start()
    final, _ = await until_final(env["jobs"], env["tenant"], job.job_id)
    assert final.state == ob.ONBOARDING_STATE_SUCCEEDED and final.attempts == 2
    assert "demonstrate" not in second_pipeline.calls  # resumed after the finished stage


class FlakyRegistry:
    """The real registry, except that its first `modify` dies (a crash right after publishing)."""

    def __init__(self, registry):
        self._registry = registry
        self.failures = 1

    def __getattr__(self, name):
        return getattr(self._registry, name)

    async def modify(self, *args, **kwargs):
        if self.failures:
            self.failures -= 1
            raise RuntimeError("worker died after publishing")
        return await self._registry.modify(*args, **kwargs)


async def test_a_job_resumed_after_publishing_does_not_publish_again(env):
    pipeline = ScriptedPipeline()
    runner = env["runner"](pipeline, ack_wait_s=1.0, max_deliver=3)
    runner.registry = FlakyRegistry(env["registry"])
    await runner.start()
    job = await env["jobs"].submit(env["tenant"], "newbie", ob.OnboardingOptions())
    final, _ = await until_final(env["jobs"], env["tenant"], job.job_id)
    assert final.state == ob.ONBOARDING_STATE_SUCCEEDED and final.attempts == 2
    assert pipeline.calls.count("publish") == 1 and final.model_version == "robosoul_policy/7"
