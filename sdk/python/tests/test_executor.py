"""The chunk executor: timing, blending, limits, watchdog and stop (no I/O, injected time)."""

import numpy as np
import pytest

from robosoul_sdk.executor import ChunkExecutor

LO, HI, VMAX = np.array([-1.0, -1.0]), np.array([1.0, 1.0]), np.array([10.0, 10.0])
STEP = 0.02


def ramp(start, slope, horizon=16):
    """A chunk moving both joints linearly: value(k) = start + slope*k."""
    k = np.arange(horizon)[:, None]
    return np.asarray(start, float) + slope * k * np.ones((1, 2))


def make(**kw):
    args = dict(watchdog_s=0.25, blend_s=0.06)
    args.update(kw)
    return ChunkExecutor(LO, HI, VMAX, **args)


def test_holds_at_measured_position_until_a_chunk_arrives():
    ex = make()
    cmd = ex.command(0.0, np.array([0.3, -0.2]))
    assert cmd.holding and cmd.reason == "no-actions"
    np.testing.assert_allclose(cmd.positions, [0.3, -0.2])


def test_steps_already_due_are_skipped_latency_compensation():
    ex = make(blend_s=0.0)
    # observation taken at t=1.0, chunk arrives 50 ms later: 2.5 steps already due
    assert ex.on_chunk(ramp(0.0, 0.01), t0=1.0, step=STEP, now=1.05)
    cmd = ex.command(1.05, np.zeros(2))
    assert not cmd.holding
    np.testing.assert_allclose(cmd.positions, [0.025, 0.025], atol=1e-9)


def test_new_chunk_blends_in_without_a_jump():
    ex = make(blend_s=0.06)
    ex.on_chunk(ramp(0.0, 0.01), t0=0.0, step=STEP, now=0.0)
    before = ex.command(0.16, np.zeros(2)).positions
    # the replan disagrees by 5 cm: a naive switch would jump 0.05
    ex.on_chunk(ramp(0.13, 0.01), t0=0.14, step=STEP, now=0.16)
    after = ex.command(0.18, np.zeros(2)).positions
    naive_jump = abs((0.13 + 0.01 * 2) - 0.18)
    assert np.all(np.abs(after - before) < 0.5 * naive_jump + 0.02 + 1e-9)
    settled = ex.command(0.16 + 0.06, np.zeros(2)).positions
    np.testing.assert_allclose(settled, 0.13 + 0.01 * (0.22 - 0.14) / STEP, atol=1e-9)


def test_watchdog_holds_when_no_fresh_chunk_arrives_even_if_steps_remain():
    ex = make(watchdog_s=0.1)
    long_chunk = ramp(0.0, 0.001, horizon=64)  # 1.26 s of actions
    ex.on_chunk(long_chunk, t0=0.0, step=STEP, now=0.0)
    assert not ex.command(0.09, np.zeros(2)).holding
    cmd = ex.command(0.11, np.array([0.004, 0.004]))
    assert cmd.holding and cmd.reason == "watchdog"
    np.testing.assert_allclose(cmd.positions, [0.004, 0.004])
    # and it keeps holding the same pose, whatever the measurement does next
    np.testing.assert_allclose(ex.command(0.5, np.array([0.02, 0.02])).positions, [0.004, 0.004])


def test_exhausted_chunk_holds():
    ex = make(watchdog_s=10)
    ex.on_chunk(ramp(0.0, 0.01), t0=0.0, step=STEP, now=0.0)
    cmd = ex.command(0.31, np.array([0.15, 0.15]))
    assert cmd.holding and cmd.reason == "exhausted"


def test_stop_wins_over_buffered_and_later_chunks_until_resume():
    ex = make()
    ex.on_chunk(ramp(0.0, 0.01), t0=0.0, step=STEP, now=0.0)
    ex.stop()
    cmd = ex.command(0.02, np.array([0.01, 0.01]))
    assert cmd.holding and cmd.reason == "stopped"
    assert not ex.on_chunk(ramp(0.0, 0.01), t0=0.02, step=STEP, now=0.03)
    assert ex.command(0.05, np.zeros(2)).holding
    ex.resume()
    assert ex.on_chunk(ramp(0.01, 0.01), t0=0.06, step=STEP, now=0.06)
    assert not ex.command(0.07, np.zeros(2)).holding


def test_resuming_after_a_hold_blends_from_the_hold_pose():
    ex = make(blend_s=0.1)
    ex.command(0.0, np.array([0.5, 0.5]))  # holding at 0.5
    ex.on_chunk(ramp(0.0, 0.0), t0=0.0, step=STEP, now=0.0)
    first = ex.command(0.0, np.array([0.5, 0.5])).positions
    np.testing.assert_allclose(first, [0.5, 0.5])  # starts at the hold pose, not at the chunk


def test_positions_are_clamped_into_joint_limits():
    ex = make(blend_s=0.0)
    ex.on_chunk(ramp(5.0, 0.0), t0=0.0, step=STEP, now=0.0)
    np.testing.assert_allclose(ex.command(0.0, np.zeros(2)).positions, HI)


def test_velocity_limit_bounds_every_tick():
    ex = ChunkExecutor(LO, HI, np.array([1.0, 0.5]), watchdog_s=1.0, blend_s=0.0)
    ex.command(0.0, np.zeros(2))
    ex.on_chunk(ramp(0.9, 0.0), t0=0.0, step=STEP, now=0.0)
    cmd = ex.command(0.02, np.zeros(2))
    np.testing.assert_allclose(cmd.positions, [0.02, 0.01])


def test_random_chunks_never_exceed_limits_or_speed():
    rng = np.random.default_rng(0)
    vmax = np.array([2.0, 1.0])
    ex = ChunkExecutor(LO, HI, vmax, watchdog_s=0.2, blend_s=0.06)
    t, last = 0.0, None
    for _ in range(2000):
        if rng.random() < 0.1:
            ex.on_chunk(rng.uniform(-3, 3, size=(16, 2)), t0=t - rng.uniform(0, 0.1), step=STEP, now=t)
        if rng.random() < 0.01:
            ex.stop() if rng.random() < 0.5 else ex.resume()
        cmd = ex.command(t, rng.uniform(-1, 1, size=2))
        assert np.all(cmd.positions >= LO) and np.all(cmd.positions <= HI)
        if last is not None:
            assert np.all(np.abs(cmd.positions - last) <= vmax * 0.02 + 1e-9)
        last, t = cmd.positions, t + 0.02


@pytest.mark.parametrize(
    "positions, t0, now, why",
    [
        (np.zeros((16, 3)), 0.0, 0.0, "wrong joint count"),
        (np.full((16, 2), np.nan), 0.0, 0.0, "not finite"),
        (np.zeros(16), 0.0, 0.0, "not 2-D"),
        (np.zeros((16, 2)), 0.0, 1.0, "entirely in the past"),
    ],
)
def test_bad_chunks_are_refused(positions, t0, now, why):
    ex = make()
    assert not ex.on_chunk(positions, t0=t0, step=STEP, now=now), why
    assert ex.command(now, np.zeros(2)).holding


def test_an_older_chunk_never_replaces_a_newer_one():
    ex = make(blend_s=0.0)
    ex.on_chunk(ramp(0.2, 0.0), t0=0.10, step=STEP, now=0.12)
    assert not ex.on_chunk(ramp(0.0, 0.0), t0=0.05, step=STEP, now=0.13)
    np.testing.assert_allclose(ex.command(0.14, np.zeros(2)).positions, [0.2, 0.2])


def test_watchdog_must_be_positive():
    with pytest.raises(ValueError):
        make(watchdog_s=0)


def test_planned_is_the_commanded_trajectory_ahead():
    ex = make(blend_s=0.0)
    ex.on_chunk(ramp(0.0, 0.01), t0=0.0, step=STEP, now=0.0)
    q, qd = ex.planned(0.1)
    np.testing.assert_allclose(q, [0.05, 0.05])
    np.testing.assert_allclose(qd, [0.5, 0.5])  # 0.01 per 20 ms
    assert ex.planned(1.0) is None  # beyond the chunk: no promise
    ex.stop()
    assert ex.planned(0.1) is None


def test_smootherstep_blend_keeps_velocity_continuous_at_the_switch():
    """Switching between two chunks moving at the same speed but 5 cm apart: the
    commanded velocity must not jump at the switch (a linear cross-fade would add
    offset/blend_s = 0.83 rad/s)."""
    ex = make(blend_s=0.06)
    ex.on_chunk(ramp(0.0, 0.01, horizon=32), t0=0.0, step=STEP, now=0.0)
    t, dt, q = 0.0, 0.002, []
    while t < 0.3:
        if abs(t - 0.1) < dt / 2:
            ex.on_chunk(ramp(0.05 + 0.05, 0.01, horizon=32), t0=0.1, step=STEP, now=t)
        q.append(ex.command(t, np.zeros(2)).positions[0])
        t += dt
    velocity = np.diff(q) / dt
    linear_jump = 0.05 / 0.06  # what a linear cross-fade adds to the velocity in one tick
    assert np.abs(np.diff(velocity)).max() < 0.25 * linear_jump
