"""Domain randomisation changes what it says, within its bounds, reproducibly."""

import mujoco
import numpy as np
import pytest

from robosoul_simulation.bodies import load_body
from robosoul_simulation.randomize import Randomization
from robosoul_simulation.rollout import RolloutConfig, run_episodes
from robosoul_simulation.scene import grasp_scene


@pytest.fixture(scope="module")
def arm():
    return load_body("gen-s10-5dof-grip")


def test_draws_stay_within_their_bounds(arm):
    r = Randomization()
    rng = np.random.default_rng(0)
    draws = [r.draw(arm, rng) for _ in range(200)]
    mass = np.concatenate([d.mass_scale for d in draws])
    assert 0.8 <= mass.min() < 0.82 and 1.18 < mass.max() <= 1.2
    friction = np.concatenate([d.friction_scale for d in draws])
    assert 0.7 <= friction.min() and friction.max() <= 1.3
    for scale in (np.concatenate([d.kp_scale for d in draws]), np.concatenate([d.kv_scale for d in draws])):
        assert 0.85 <= scale.min() < 0.87 and 1.13 < scale.max() <= 1.15
    latency = np.array([d.latency_s for d in draws])
    assert 0 <= latency.min() < 0.003 and 0.037 < latency.max() <= 0.04


def test_apply_changes_a_copy_by_exactly_the_drawn_factors(arm):
    nominal = arm.model
    before = (nominal.body_mass.copy(), nominal.actuator_gainprm.copy(), nominal.actuator_biasprm.copy(), nominal.geom_friction.copy())
    draw = Randomization().draw(arm, np.random.default_rng(1))
    m = draw.apply(nominal)
    np.testing.assert_allclose(m.body_mass, nominal.body_mass * draw.mass_scale)
    np.testing.assert_allclose(m.body_inertia, nominal.body_inertia * draw.mass_scale[:, None])
    np.testing.assert_allclose(m.geom_friction[:, 0], nominal.geom_friction[:, 0] * draw.friction_scale)
    a = arm.actuator_ids
    np.testing.assert_allclose(m.actuator_gainprm[a, 0], nominal.actuator_gainprm[a, 0] * draw.kp_scale)
    # Still a position servo: bias = -kp * q - kv * qdot.
    np.testing.assert_allclose(m.actuator_biasprm[a, 1], -m.actuator_gainprm[a, 0])
    np.testing.assert_allclose(m.actuator_biasprm[a, 2], nominal.actuator_biasprm[a, 2] * draw.kv_scale)
    np.testing.assert_allclose(m.dof_damping[arm.dof_adr], nominal.dof_damping[arm.dof_adr] * draw.kv_scale)
    # The nominal model is untouched.
    for old, new in zip(before, (nominal.body_mass, nominal.actuator_gainprm, nominal.actuator_biasprm, nominal.geom_friction), strict=True):
        np.testing.assert_array_equal(old, new)


def test_the_grasp_scene_is_randomised_too(arm):
    scene = grasp_scene(arm)
    draw = Randomization().draw(arm, np.random.default_rng(2), scene)
    m = draw.apply(scene)
    box = m.body("object").id
    assert m.body_mass[box] == pytest.approx(scene.body_mass[box] * draw.mass_scale[box])


def test_same_seed_same_robot_and_off_changes_nothing(arm):
    a = Randomization().draw(arm, np.random.default_rng(7))
    b = Randomization().draw(arm, np.random.default_rng(7))
    np.testing.assert_array_equal(a.mass_scale, b.mass_scale)
    assert a.latency_s == b.latency_s
    off = Randomization.off()
    assert not off.enabled and Randomization().enabled
    d = off.draw(arm, np.random.default_rng(0))
    m = d.apply(arm.model)
    np.testing.assert_array_equal(m.body_mass, arm.model.body_mass)
    np.testing.assert_array_equal(m.actuator_biasprm, arm.model.actuator_biasprm)
    assert d.latency_s == 0
    q, qd = np.ones(arm.n), np.zeros(arm.n)
    assert d.observe(q, qd, np.random.default_rng(0)) == (q, qd)


def test_sensor_noise_has_the_configured_spread(arm):
    r = Randomization(position_noise=0.002, velocity_noise=0.03)
    d = r.draw(arm, np.random.default_rng(0))
    rng = np.random.default_rng(1)
    q, qd = np.zeros(arm.n), np.zeros(arm.n)
    seen = np.array([np.concatenate(d.observe(q, qd, rng)) for _ in range(4000)])
    assert seen[:, : arm.n].std() == pytest.approx(0.002, rel=0.05)
    assert seen[:, arm.n :].std() == pytest.approx(0.03, rel=0.05)
    assert abs(seen.mean()) < 1e-3


def test_randomised_episodes_differ_from_nominal_ones_but_the_expert_still_succeeds():
    arm = load_body("rs-arm4")
    seeds = [(3, i) for i in range(4)]
    nominal = run_episodes(arm, "reach", seeds, RolloutConfig(randomization=Randomization.off()), record_trace=True)
    random = run_episodes(arm, "reach", seeds, RolloutConfig(), record_trace=True)
    assert not np.allclose(nominal.ee, random.ee)
    assert all(o.success for o in random.outcomes)


def test_an_episode_whose_simulation_diverges_is_dropped_and_failed(monkeypatch):
    from robosoul_simulation import rollout

    arm = load_body("rs-arm4")
    real = rollout.SimArm.advance

    def advance(self, seconds):
        real(self, seconds)
        if self.time > 0.5 and self.data.warning[mujoco.mjtWarning.mjWARN_BADQACC].number == 0:
            self.data.qacc[0] = np.nan  # what MuJoCo would flag: force its instability check
            self.data.warning[mujoco.mjtWarning.mjWARN_BADQACC].number = 1

    monkeypatch.setattr(rollout.SimArm, "advance", advance)
    r = run_episodes(arm, "reach", [(1, 0)], RolloutConfig(episode_s={"reach": 1.0}, fit_to_arm=False), record_demos=True)
    assert r.outcomes[0].success is False and r.outcomes[0].detail["diverged"] is True
    assert len(r.episode) <= 26  # recorded only up to the divergence (0.5 s of 1 s)
