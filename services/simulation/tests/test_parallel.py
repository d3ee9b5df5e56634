"""Parallel simulation: jobs across processes, lockstep environments through shared memory."""

import numpy as np
import pytest

from robosoul_core.errors import InvalidArgument
from robosoul_simulation import parallel
from robosoul_simulation.bodies import body_source, load_body
from robosoul_simulation.parallel import VecSim, map_jobs
from robosoul_simulation.sim_arm import SimArm


def square(x: int) -> int:
    if x < 0:
        raise InvalidArgument(f"negative: {x}")
    return x * x


def test_jobs_come_back_in_order_with_progress_counted_by_weight():
    seen = []
    out = map_jobs(square, list(range(7)), workers=2, progress=lambda d, t: seen.append((d, t)), weights=[2] * 7)
    assert out == [x * x for x in range(7)]
    assert seen[-1] == (14, 14) and len(seen) == 7
    assert map_jobs(square, [3, 4], workers=1) == [9, 16]


def test_a_job_error_reaches_the_caller_as_itself():
    with pytest.raises(InvalidArgument, match="negative: -1"):
        map_jobs(square, [1, -1, 2], workers=2)
    with pytest.raises(InvalidArgument, match="workers must be >= 1"):
        map_jobs(square, [1], workers=0)


def test_default_workers_is_the_cpu_count():
    assert parallel.default_workers() >= 1


def test_vecsim_steps_exactly_like_one_simarm_per_environment():
    arm = load_body("rs-arm4")
    envs = 5
    rng = np.random.default_rng(0)
    starts = np.array([arm.sample_start(rng) for _ in range(envs)])
    targets = [np.clip(starts + rng.uniform(-0.3, 0.3, starts.shape), arm.lower, arm.upper) for _ in range(3)]
    sims = [SimArm(arm) for _ in range(envs)]
    for sim, q in zip(sims, starts, strict=True):
        sim.reset(q)
    with VecSim(body_source("rs-arm4"), envs=envs, workers=2) as vec:
        assert vec.workers == 2
        vec.reset(starts)
        for t in targets:
            q, qd = vec.step(t)
            for i, sim in enumerate(sims):
                sim.command(t[i])
                sim.advance(0.02)
                np.testing.assert_allclose(q[i], sim.joint_positions(), atol=1e-12)
                np.testing.assert_allclose(qd[i], sim.joint_velocities(), atol=1e-12)
        # A chunk of 3 periods per arm in one round trip, states after each.
        chunk = np.stack(targets, axis=1)
        q, qd = vec.step(chunk)
        assert q.shape == (envs, 3, arm.n)
        for j in range(3):
            for i, sim in enumerate(sims):
                sim.command(chunk[i, j])
                sim.advance(0.02)
                np.testing.assert_allclose(q[i, j], sim.joint_positions(), atol=1e-12)
        with pytest.raises(InvalidArgument, match=r"targets must be \[5, 4\] or \[5, 1..16, 4\]"):
            vec.step(np.zeros((5, 17, 4)))
        procs = list(vec._procs)
    assert all(not p.is_alive() for p in procs)


def test_vecsim_refuses_nonsense():
    with pytest.raises(InvalidArgument, match="envs must be >= 1"):
        VecSim(body_source("rs-arm4"), envs=0)
