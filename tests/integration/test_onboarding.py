"""Onboarding a body the policy never saw, end to end: the vendor uploads its MJCF
through the gateway, the simulation service validates it, demonstrates, adapts,
evaluates and publishes a new policy version into the model repository Triton
serves (loaded live, no restart); the simulation service is killed mid-job and the
job resumes after the restart; a control session that was open all along switches
over to the new version without reconnecting.

Small settings keep the job short (a few hundred demonstration episodes, a few
hundred adapter steps): this test proves the machinery, bench/onboarding.py measures
the quality at full settings.
"""

import asyncio
import time

import pytest

from robosoul.v1 import onboarding_pb2 as ob
from robosoul.v1 import session_pb2
from robosoul_core.errors import InvalidArgument, NotFound
from robosoul_sdk import RoboSoulClient, reach
from robosoul_simulation.bodies import held_out_bodies
from robosoul_simulation.virtual_robot import VirtualRobot, reach_targets

NEW_BODY = "novel-s1-6dof"
SIMULATION_ENV = {"DEMO_EPISODES": "150", "EVAL_EPISODES": "10", "ADAPT_STEPS": "600", "WORKERS": "2", "ACK_WAIT_S": "5"}
ORDER = [
    ob.ONBOARDING_STAGE_QUEUED,
    ob.ONBOARDING_STAGE_VALIDATE,
    ob.ONBOARDING_STAGE_DEMONSTRATE,
    ob.ONBOARDING_STAGE_ADAPT,
    ob.ONBOARDING_STAGE_EVALUATE,
    ob.ONBOARDING_STAGE_PUBLISH,
    ob.ONBOARDING_STAGE_DONE,
]


@pytest.fixture(scope="module")
def simulation(stack):
    stack.config.simulation_env.update(SIMULATION_ENV)
    stack.start_simulation()
    yield stack
    stack.processes["simulation"].stop()


BAD_UPLOADS = [
    ("<mujoco><worldbody><body>", "not well-formed"),
    ('<mujoco><include file="../../etc/passwd"/></mujoco>', "leaves the upload"),
    ('<!DOCTYPE m [<!ENTITY a "aaaa">]><mujoco>&a;</mujoco>', "entit"),
    ("<mujoco><worldbody><body><geom size='0.1'/></body></worldbody></mujoco>", "actuat"),
]


@pytest.mark.parametrize("mjcf, message", BAD_UPLOADS, ids=["malformed", "include outside", "entities", "no actuators"])
async def test_a_broken_or_hostile_upload_is_refused_and_the_next_good_one_is_taken(simulation, keys, mjcf, message):
    async with RoboSoulClient(simulation.gateway_target, keys["alpha"]) as client:
        robot = VirtualRobot(client, "upload-check", tag=NEW_BODY)
        await robot.register(replace=True)
        with pytest.raises(InvalidArgument, match=message):
            await client.upload_model("upload-check", mjcf)
        report = await client.upload_model("upload-check", robot.arm.mjcf)
        assert [len(c.joints) for c in report.chains] == [6] and report.actuators >= 6


async def test_a_never_seen_body_is_onboarded_through_a_restart_and_a_live_session_switches_over(simulation, keys):
    assert NEW_BODY in held_out_bodies()
    stack = simulation
    async with RoboSoulClient(stack.gateway_target, keys["alpha"]) as client:
        robot = VirtualRobot(client, "newcomer", tag=NEW_BODY)
        await robot.register(replace=True)
        await client.upload_model("newcomer", robot.arm.mjcf)
        events: list[session_pb2.Event] = []
        refusals: list[Exception] = []
        robot.session.on_event = events.append
        robot.session.on_error = refusals.append
        async with robot:
            # Before onboarding the policy does not know the body: the session stays up and holds.
            target = robot.sample_targets(1, seed=5)[0]
            await robot.session.set_goal(reach(*target.tolist()))
            await _wait_for(lambda: any("onboard" in str(e) for e in refusals), 10, "the unknown body to be refused")

            updates: list[ob.OnboardingJob] = []
            killed_at = None
            job = await client.start_onboarding("newcomer", min_success=0.05, skills=[session_pb2.SKILL_REACH])
            assert job.stage == ob.ONBOARDING_STAGE_QUEUED and job.job_id
            async for update in client.watch_onboarding(job.job_id, timeout_s=600):
                updates.append(update)
                if killed_at is None and update.stage == ob.ONBOARDING_STAGE_ADAPT and update.stage_progress > 0.1:
                    # A crash mid-job: the record stays, JetStream delivers the job again.
                    killed_at = len(updates)
                    stack.processes["simulation"].kill()
                    stack.start_simulation()
            final = updates[-1]
            assert final.state == ob.ONBOARDING_STATE_SUCCEEDED, final.message
            assert killed_at is not None and final.attempts == 2
            stages = [ORDER.index(u.stage) for u in updates]
            assert stages == sorted(stages), "stages went backwards (a resumed job skips what it finished)"
            before_kill = [u.progress for u in updates[:killed_at]]
            assert before_kill == sorted(before_kill) and final.progress == 1.0
            assert any(u.eta_s > 0 for u in updates if u.stage == ob.ONBOARDING_STAGE_ADAPT)
            assert final.report.episodes >= 10 and 0.0 <= final.report.success_rate <= 1.0
            assert final.model_version.startswith("robosoul_policy/") and final.embodiment_tag

            # Switchover: the same session, never reconnected, is driven by the new version.
            await _wait_for(lambda: any(e.kind == "policy" and final.embodiment_tag in e.message for e in events), 15, "the policy event")
            chunks_before, refused_before = robot.session.stats.chunks, len(refusals)
            await reach_targets(robot.session, robot.driver, robot.sample_targets(2, seed=9), tolerance_m=0.02, timeout_s=3.0)
            stats = robot.session.stats.summary()
        assert stats["reconnects"] == 0, stats
        assert robot.session.stats.chunks > chunks_before + 5 and len(refusals) == refused_before
        registered = await client.get_robot("newcomer")
        assert registered.embodiment.embodiment_tag == final.embodiment_tag

    # The job is the tenant's own: another tenant cannot even see it.
    async with RoboSoulClient(stack.gateway_target, keys["beta"]) as other:
        with pytest.raises(NotFound):
            await other.get_onboarding(final.job_id)


async def _wait_for(predicate, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
