import numpy as np
import pytest

from robosoul_core.policy_io import HORIZON, STEP_S
from robosoul_simulation.bodies import load_arm
from robosoul_simulation.expert import ReachExpert
from robosoul_simulation.sim_arm import SimArm


@pytest.fixture(scope="module")
def arm():
    return load_arm("rs-arm4")


@pytest.fixture(scope="module")
def expert(arm):
    return ReachExpert(arm)


def run_in_physics(arm, expert, q0, target, seconds=3.0, replan=8):
    """Execute the expert's chunks in MuJoCo the way a robot runs a policy."""
    sim = SimArm(arm)
    sim.reset(q0)
    positions, speeds, commands = [], [], []
    chunk = None
    for step in range(int(round(seconds / STEP_S))):
        if step % replan == 0:
            chunk = expert.plan(sim.joint_positions(), sim.joint_velocities(), target)
        commands.append(sim.command(chunk[step % replan]))
        sim.advance(STEP_S)
        positions.append(sim.joint_positions())
        speeds.append(np.abs(sim.joint_velocities()))
    return sim, np.array(positions), np.array(speeds), np.array(commands)


def test_plan_shape_and_determinism(arm, expert):
    q = np.array([0.1, 0.2, 0.9, 0.3])
    target = np.array([0.3, -0.2, 0.25])
    a = expert.plan(q, np.zeros(4), target)
    assert a.shape == (HORIZON, arm.n)
    np.testing.assert_array_equal(a, ReachExpert(arm).plan(q, np.zeros(4), target))
    # Row 0 is for now: from rest, the current position.
    np.testing.assert_allclose(a[0], q)


def test_plans_respect_speed_acceleration_and_joint_limits(arm, expert):
    rng = np.random.default_rng(0)
    for _ in range(50):
        q = rng.uniform(arm.lower, arm.upper)
        qdot = rng.uniform(-1, 1, arm.n) * arm.max_velocity * 0.8
        a = expert.plan(q, qdot, arm.sample_target(rng))
        assert np.all(a >= arm.lower) and np.all(a <= arm.upper)
        # Targets lead the plan by lead * velocity; their rate (planned speed plus
        # lead * acceleration) stays within the joint speed limits all the same.
        rate = np.abs(np.diff(a, axis=0)) / STEP_S
        assert np.all(rate <= arm.max_velocity + 1e-9)


def test_planned_motion_is_speed_and_acceleration_limited(arm, expert):
    rng = np.random.default_rng(1)
    q = np.array([arm.sample_start(rng) for _ in range(64)])
    qdot = rng.uniform(-0.5, 0.5, q.shape) * arm.max_velocity
    goals = np.array([expert.goal_configuration(arm.sample_target(rng)) for _ in range(64)])
    p, v = expert.trajectory_batch(q, qdot, goals)
    assert np.all(np.abs(v[:, 1:]) <= arm.max_velocity * expert.SPEED_FRACTION + 1e-9)
    assert np.all(np.abs(np.diff(v, axis=1)) <= arm.max_acceleration * STEP_S + 1e-9)
    np.testing.assert_allclose(np.diff(p, axis=1), v[:, 1:] * STEP_S, atol=1e-12)
    # The chunk is the plan with the servo lag fed forward.
    np.testing.assert_allclose(expert.plan_batch(q, qdot, goals), np.clip(p + expert.lead_s * v, arm.lower, arm.upper))


def test_at_the_goal_the_plan_holds_still(arm, expert):
    target = np.array([0.35, 0.1, 0.3])
    goal = expert.goal_configuration(target)
    a = expert.plan(goal, np.zeros(4), target)
    np.testing.assert_allclose(a, np.tile(goal, (HORIZON, 1)), atol=1e-12)


def test_goal_configuration_depends_on_the_target_only(arm, expert):
    target = np.array([0.2, 0.4, 0.35])
    g = expert.goal_configuration(target)
    np.testing.assert_allclose(arm.kinematics.ee_position(g), target, atol=1e-4)
    np.testing.assert_array_equal(ReachExpert(arm).goal_configuration(target), g)


def test_reaches_sampled_targets_in_physics_within_5mm_and_settles(arm, expert):
    rng = np.random.default_rng(11)
    for _ in range(12):
        q0, target = arm.sample_start(rng), arm.sample_target(rng)
        sim, positions, speeds, commands = run_in_physics(arm, expert, q0, target)
        assert np.linalg.norm(sim.ee_position() - target) < 0.005
        assert speeds[-1].max() < 1e-2
        # Executed motion stays inside the speed and joint limits.
        assert np.all(speeds <= arm.max_velocity * 1.0)
        assert np.all(positions >= arm.lower - 1e-3) and np.all(positions <= arm.upper + 1e-3)
        assert np.all(commands >= arm.lower) and np.all(commands <= arm.upper)


def test_arrival_has_no_overshoot_or_oscillation(arm, expert):
    q0 = np.array([-1.0, 0.2, 1.6, 0.2])
    target = np.array([0.4, 0.25, 0.2])
    sim, positions, _, _ = run_in_physics(arm, expert, q0, target, seconds=3.0)
    goal = expert.goal_configuration(target)
    err = positions - goal
    # Each joint approaches from one side: the error changes sign at most once (a
    # joint may pass through the goal value while others are still moving) and
    # never by more than a milliradian past it at the end.
    tail = err[len(err) // 2 :]
    assert np.abs(tail[-10:]).max() < 1e-3
    for j in range(arm.n):
        big = tail[np.abs(tail[:, j]) > 2e-3, j]
        assert np.all(np.sign(big) == np.sign(big[0])) if len(big) else True


def test_the_gripper_moves_on_its_own_line_and_pace():
    arm = load_arm("gen-s10-5dof-grip")
    expert = ReachExpert(arm)
    q = arm.rest.copy()
    goal = q.copy()
    goal[arm.chain[0]] += 0.5
    goal[arm.gripper] = arm.gripper_closed
    p, v = expert.trajectory_batch(q[None], np.zeros((1, arm.n)), goal[None])
    # Both start moving at once; the gripper keeps to its own speed limit, not the arm's line.
    assert np.all(np.abs(v[0, 1:, arm.gripper]) <= arm.max_velocity[arm.gripper] * expert.SPEED_FRACTION + 1e-12)
    assert v[0, 1, arm.gripper] < 0 and v[0, 1, arm.chain[0]] > 0
    # A plan towards the current position holds the gripper still.
    held = expert.plan(q, np.zeros(arm.n), arm.kinematics.ee_position(q))
    np.testing.assert_allclose(held[:, arm.gripper], q[arm.gripper])


def test_grasp_configurations_point_the_hand_down():
    arm = load_arm("gen-s14-6dof-grip")
    expert = ReachExpert(arm)
    for point in ([0.4, 0.1, 0.05], [0.2, -0.35, 0.12], [-0.3, 0.3, 0.2]):
        goal, err = expert.grasp_configuration(np.array(point), arm.gripper_open)
        assert err < 2e-3
        np.testing.assert_allclose(arm.kinematics.ee_position(goal), point, atol=2e-3)
        assert arm.kinematics.ee_axis(goal, 2)[2] < -0.99
        assert goal[arm.gripper] == arm.gripper_open


def test_tracking_a_moving_target_keeps_the_goal_continuous():
    arm = load_arm("gen-s16-7dof")
    expert = ReachExpert(arm)
    rng = np.random.default_rng(2)
    start = arm.sample_target(rng)
    goal = expert.goal_configuration(start)
    direction = np.array([0.0, 1.0, 0.0])
    for k in range(1, 50):
        new = expert.track_configuration(start + direction * 0.002 * k, goal)
        assert np.abs(new - goal).max() < 0.05  # 2 mm of target motion, a small joint step
        np.testing.assert_allclose(arm.kinematics.ee_position(new), start + direction * 0.002 * k, atol=1e-3)
        goal = new
