import numpy as np
import pytest

from robosoul_simulation.bodies import load_arm
from robosoul_simulation.sim_arm import SimArm


@pytest.fixture
def sim():
    return SimArm(load_arm("rs-arm4"))


def test_reset_puts_the_arm_at_rest_where_asked(sim):
    q = np.array([0.3, 0.5, 1.0, 0.2])
    sim.reset(q)
    assert sim.time == 0
    np.testing.assert_allclose(sim.joint_positions(), q)
    np.testing.assert_allclose(sim.joint_velocities(), 0)
    np.testing.assert_allclose(sim.ee_position(), sim.arm.kinematics.ee_position(q), atol=1e-9)
    with pytest.raises(ValueError, match="expected 4 joint positions"):
        sim.reset(np.zeros(3))


def test_commands_are_clamped_into_the_joint_limits(sim):
    sent = sim.command(np.array([9.0, -9.0, 0.1, 0.2]))
    np.testing.assert_allclose(sent, [sim.arm.upper[0], sim.arm.lower[1], 0.1, 0.2])
    np.testing.assert_allclose(sim.data.ctrl, sent)
    with pytest.raises(ValueError, match="expected 4 joint targets"):
        sim.command(np.zeros(5))


def test_stepping_advances_time_and_the_servos_settle_on_a_target(sim):
    sim.reset(np.array([0.0, 0.3, 1.3, 0.6]))
    goal = np.array([0.4, 0.6, 1.0, 0.4])
    sim.command(goal)
    sim.step_to(0.5)
    assert sim.time == pytest.approx(0.5)
    sim.advance(1.0)
    assert sim.time == pytest.approx(1.5)
    np.testing.assert_allclose(sim.joint_positions(), goal, atol=1e-3)
    assert np.abs(sim.joint_velocities()).max() < 1e-2
    # ee_position is the state just reached, not one step behind.
    np.testing.assert_allclose(sim.ee_position(), sim.arm.kinematics.ee_position(sim.joint_positions()), atol=1e-9)


def test_the_servos_track_a_50hz_ramp_closely_and_without_oscillation(sim):
    sim.reset(np.zeros(4))
    speed = 1.0  # rad/s on every joint
    errors = []
    for k in range(1, 40):
        sim.command(np.full(4, speed * k * 0.02))
        sim.advance(0.02)
        errors.append(np.abs(sim.joint_positions() - speed * k * 0.02).max())
    # Steady-state lag is about kv/kp * speed (+ half a period), a few centiradians.
    assert max(errors[10:]) < 0.06
    final = np.full(4, speed * 39 * 0.02)
    sim.advance(0.5)
    np.testing.assert_allclose(sim.joint_positions(), final, atol=2e-3)


def test_target_marker_moves_the_mocap_body(sim):
    sim.set_target_marker(np.array([0.3, 0.1, 0.2]))
    sim.advance(0.02)
    np.testing.assert_allclose(sim.data.site("target").xpos, [0.3, 0.1, 0.2])


def test_latency_delays_commands_by_that_much_simulated_time():
    arm = load_arm("rs-arm4")
    prompt, late = SimArm(arm), SimArm(arm, latency_s=0.03)
    goal = arm.rest + 0.2
    for sim in (prompt, late):
        sim.reset(arm.rest)
        sim.command(goal)
    prompt.advance(0.03)
    late.advance(0.03)
    # After 30 ms the prompt arm has moved; the late one has only just received the target.
    assert np.abs(prompt.joint_positions() - arm.rest).max() > 5e-3
    np.testing.assert_allclose(late.joint_positions(), arm.rest, atol=1e-6)
    np.testing.assert_allclose(late.data.ctrl[arm.actuator_ids], goal)
    # A second command replaces the first only after the latency as well.
    late.command(goal + 0.1)
    late.advance(0.02)
    np.testing.assert_allclose(late.data.ctrl[arm.actuator_ids], goal)
    late.advance(0.02)
    np.testing.assert_allclose(late.data.ctrl[arm.actuator_ids], goal + 0.1)


def test_a_grasp_scene_keeps_the_arm_joints_where_they_were():
    from robosoul_simulation.scene import SceneObjects, grasp_scene

    arm = load_arm("gen-s6-4dof-grip")
    model = grasp_scene(arm)
    sim = SimArm(arm, model)
    objects = SceneObjects(model)
    sim.reset(arm.rest)
    objects.put(sim.data, np.array([0.4, 0.1, objects.half]), 0.3)
    sim.advance(0.5)
    np.testing.assert_allclose(sim.joint_positions(), arm.rest, atol=2e-3)
    # The box rests on the floor where it was put.
    np.testing.assert_allclose(objects.position(sim.data), [0.4, 0.1, objects.half], atol=2e-3)
    with pytest.raises(ValueError, match="does not have the arm's joints"):
        SimArm(load_arm("rs-arm4"), model)
