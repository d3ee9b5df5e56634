"""Bodies: any MJCF arm, the procedural generator, the gymnasium arms, the registry."""

import math
import pickle

import mujoco
import numpy as np
import pytest

from robosoul.v1 import robot_pb2
from robosoul_core import policy_io
from robosoul_core.errors import InvalidArgument, NotFound
from robosoul_core.policy_io import MAX_DOF, STEP_S
from robosoul_simulation import generator
from robosoul_simulation.arms import embodiment_for as old_embodiment_for
from robosoul_simulation.arms import load_arm
from robosoul_simulation.bodies import Arm, embodiment_for, held_out_bodies, known_tags, load_body, training_bodies
from robosoul_simulation.expert import Expert
from robosoul_simulation.sim_arm import SimArm

# A vendor-style arm: torque motors, no end-effector site, no speed limits, one
# hinge without limits, an explicit integrator at 100 Hz, no gravity compensation.
MOTOR_ARM = """
<mujoco model="vendor">
  <compiler angle="radian"/>
  <option timestep="0.01" integrator="Euler"/>
  <worldbody>
    <geom name="floor" type="plane" size="2 2 0.1"/>
    <body name="b1" pos="0 0 0.1">
      <joint name="yaw" axis="0 0 1"/>
      <geom type="cylinder" size="0.04 0.05"/>
      <body name="b2" pos="0 0 0.1">
        <joint name="shoulder" axis="0 1 0" range="-1.5 1.5"/>
        <geom type="capsule" fromto="0 0 0 0 0 0.3" size="0.03"/>
        <body name="b3" pos="0 0 0.3">
          <joint name="elbow" axis="0 1 0" range="-2.4 2.4"/>
          <geom type="capsule" fromto="0 0 0 0.25 0 0" size="0.025"/>
          <body name="hand" pos="0.25 0 0"><geom type="sphere" size="0.02"/></body>
        </body>
      </body>
    </body>
  </worldbody>
  <keyframe><key name="home" qpos="0 0.4 1.2"/><key name="up" qpos="0 0 0"/></keyframe>
  <actuator>
    <motor joint="yaw" ctrlrange="-30 30"/><motor joint="shoulder" ctrlrange="-30 30"/><motor joint="elbow" ctrlrange="-20 20"/>
  </actuator>
</mujoco>
"""


def reach_in_physics(arm: Arm, target: np.ndarray, q0: np.ndarray, seconds: float = 4.0) -> SimArm:
    expert = Expert(arm)
    sim = SimArm(arm)
    sim.reset(q0)
    goal = expert.goal_configuration(target, q0[arm.gripper] if arm.gripper is not None else None)
    chunk = None
    for step in range(int(round(seconds / STEP_S))):
        if step % 8 == 0:
            chunk = expert.plan_batch(sim.joint_positions()[None], sim.joint_velocities()[None], goal[None])[0]
        sim.command(chunk[step % 8])
        sim.advance(STEP_S)
    return sim


# -- rs-arm4 and the registry ----------------------------------------------------------


def test_registry_knows_every_body_and_rejects_unknown_tags_by_name():
    assert "rs-arm4" in known_tags()
    assert set(training_bodies()) | set(held_out_bodies()) == set(known_tags())
    with pytest.raises(NotFound, match=r"unknown embodiment tag 'rs-arm9'; known: .*rs-arm4"):
        load_body("rs-arm9")
    with pytest.raises(NotFound, match="gen-s<seed>-<3..7>dof"):
        load_arm("gen-s1-9dof")
    with pytest.raises(NotFound, match="rs-arm9"):
        embodiment_for("rs-arm9")


def test_held_out_bodies_are_three_6_to_7_dof_bodies_never_trained_on():
    held, train = held_out_bodies(), training_bodies()
    assert len(held) == 3 and not set(held) & set(train)
    assert "gym-pusher" in held and "rs-arm4" in train and "gym-reacher" in train
    dofs = sorted(load_body(t).dof for t in held)
    assert dofs == [6, 7, 7]
    # The procedural held-out arms come from a seed family no training body uses.
    train_families = {t.split("-s")[0] for t in train if "-s" in t}
    held_families = {t.split("-s")[0] for t in held if "-s" in t}
    assert held_families and not held_families & train_families


def test_training_bodies_span_3_to_7_dof_some_with_grippers_within_the_contract():
    arms = [load_body(t) for t in training_bodies()]
    assert len(arms) >= 20
    assert {a.dof for a in arms} >= {2, 3, 4, 5, 6, 7}
    assert sum(a.gripper is not None for a in arms) >= 6
    assert all(a.n <= MAX_DOF for a in arms)


def test_rs_arm4_reads_rest_pose_named_poses_and_limits_from_its_mjcf():
    arm = load_arm("rs-arm4")
    assert arm.joint_names == ("base_yaw", "shoulder_pitch", "elbow_pitch", "wrist_pitch")
    np.testing.assert_allclose(arm.rest, [0.0, 0.3, 1.3, 0.6])
    assert set(arm.named_poses) == {"home", "ready"}
    assert arm.warnings == []  # nothing assumed: RoboSoul's own model says everything
    np.testing.assert_allclose(arm.max_velocity, [2.5, 2.5, 3.0, 3.5])
    m = arm.model
    for a in range(m.nu):
        assert m.actuator_gainprm[a, 0] > 0 and m.actuator_biasprm[a, 2] < 0  # kp, kv
        np.testing.assert_allclose(m.actuator_ctrlrange[a], m.jnt_range[arm.joint_ids[a]])


def test_embodiment_matches_the_model_and_the_old_names_still_work():
    arm = load_arm("rs-arm4")
    e = embodiment_for("rs-arm4")
    assert old_embodiment_for("rs-arm4") == e
    assert e.embodiment_tag == "rs-arm4" and e.control_rate_hz == 50
    assert e.model.end_effector_site == "ee"
    mujoco.MjModel.from_xml_string(e.model.mjcf)  # self-contained
    assert [j.name for j in e.joints] == list(arm.joint_names)
    for i, j in enumerate(e.joints):
        assert j.type == robot_pb2.JOINT_TYPE_REVOLUTE
        assert (j.position_limits.min, j.position_limits.max) == (arm.lower[i], arm.upper[i])
        assert j.max_velocity == arm.max_velocity[i] > 0 and j.max_effort > 0
    assert list(e.named_poses["home"].positions) == pytest.approx(arm.rest.tolist())
    assert [c.name for c in e.cameras] == ["front"] and e.cameras[0].intrinsics.fx > 0


def test_gripper_joints_are_typed_gripper_and_come_last():
    arm = load_body("gen-s6-4dof-grip")
    e = embodiment_for(arm)
    assert arm.gripper == arm.n - 1 == 4
    assert [j.type for j in e.joints] == [robot_pb2.JOINT_TYPE_REVOLUTE] * 4 + [robot_pb2.JOINT_TYPE_GRIPPER]
    assert (e.joints[-1].position_limits.min, e.joints[-1].position_limits.max) == (0.0, generator.FINGER_TRAVEL)
    assert arm.rest[arm.gripper] == arm.gripper_open
    assert set(e.named_poses) == {"home", "ready", "stow"}


def test_sampled_targets_are_above_the_floor_away_from_the_base_and_reproducible():
    arm = load_arm("rs-arm4")
    ws = arm.workspace
    rng = np.random.default_rng(7)
    targets = np.array([arm.sample_target(rng) for _ in range(60)])
    assert np.all(targets[:, 2] >= ws.floor_z + ws.min_target_height)
    assert np.all(np.hypot(targets[:, 0], targets[:, 1]) >= ws.min_target_radius)
    assert np.all(np.linalg.norm(targets - [0, 0, 0.18], axis=1) < 0.62)
    azimuth = np.arctan2(targets[:, 1], targets[:, 0])
    assert azimuth.min() < -1.5 and azimuth.max() > 1.5
    rng2 = np.random.default_rng(7)
    np.testing.assert_array_equal(targets[:5], [arm.sample_target(rng2) for _ in range(5)])


def test_ik_reaches_sampled_targets_inside_the_limits_facing_them():
    arm = load_arm("rs-arm4")
    rng = np.random.default_rng(3)
    for _ in range(10):
        x = arm.sample_target(rng)
        q, err = arm.kinematics.solve_ik(x)
        assert err < 1e-4
        assert np.all(q >= arm.lower) and np.all(q <= arm.upper)
        np.testing.assert_allclose(arm.kinematics.ee_position(q), x, atol=1e-4)
        assert math.isclose(q[0], math.atan2(x[1], x[0]), abs_tol=1e-3)
        floor, own = arm.kinematics.clearance(q)
        assert floor >= arm.workspace.floor_clearance and own >= arm.workspace.self_clearance


# -- any MJCF ------------------------------------------------------------------------


def test_a_vendor_arm_is_adapted_to_position_servos_and_says_what_it_assumed():
    arm = Arm.from_mjcf(MOTOR_ARM, "vendor")
    text = " | ".join(arm.warnings)
    for expected in (
        "timestep 0.01 s replaced by 0.002 s",
        "integrator EULER replaced by IMPLICITFAST",
        "joints ['yaw'] have no range; limited to [-pi, pi]",
        "actuators ['yaw', 'shoulder', 'elbow'] are not position servos",
        "no gravity compensation in the model; added to the 4 bodies",
        "the end effector is the origin of body 'hand' (site 'ee' added)",
        "no <custom><numeric> max_velocity / max_acceleration",
    ):
        assert expected in text
    assert arm.joint_names == ("yaw", "shoulder", "elbow") and arm.gripper is None
    np.testing.assert_allclose(arm.rest, [0.0, 0.4, 1.2])
    assert set(arm.named_poses) == {"home", "up"}
    assert arm.lower[0] == pytest.approx(-math.pi)
    # Motor torque bounds stay as the servos' force limits.
    np.testing.assert_allclose(arm.max_effort, [30, 30, 20])
    m = arm.model
    assert all(m.actuator_biastype[a] == mujoco.mjtBias.mjBIAS_AFFINE for a in range(m.nu))
    assert np.all(arm.servo_lag_s > 0)
    # The adapted model is what the embodiment carries, and it loads on its own.
    e = embodiment_for(arm)
    assert e.model.end_effector_site == "ee"
    assert mujoco.MjModel.from_xml_string(e.model.mjcf).opt.timestep == pytest.approx(0.002)
    # And it is controllable: the expert reaches sampled targets in physics.
    rng = np.random.default_rng(0)
    for _ in range(3):
        target = arm.sample_target(rng)
        sim = reach_in_physics(arm, target, arm.sample_start(rng))
        assert np.linalg.norm(sim.ee_position() - target) < 0.01


def test_from_mjcf_honours_a_named_site_and_the_registered_joint_order():
    xml = MOTOR_ARM.replace('<geom type="sphere" size="0.02"/>', '<geom type="sphere" size="0.02"/><site name="tool"/>')
    arm = Arm.from_mjcf(xml, "vendor", ee_site="tool", joint_order=["elbow", "yaw", "shoulder"])
    assert arm.ee_site == "tool" and arm.joint_names == ("elbow", "yaw", "shoulder")
    np.testing.assert_allclose(arm.rest, [1.2, 0.0, 0.4])
    with pytest.raises(InvalidArgument, match="no site named 'nope'"):
        Arm.from_mjcf(xml, "vendor", ee_site="nope")
    with pytest.raises(InvalidArgument, match=r"registered joints \['yaw', 'wrist'\] are not the arm's actuated joints"):
        Arm.from_mjcf(xml, "vendor", joint_order=["yaw", "wrist"])


def test_from_mjcf_refuses_what_is_not_one_arm():
    with pytest.raises(InvalidArgument, match="MuJoCo cannot parse the model"):
        Arm.from_mjcf("<mujoco><worldbody><body><joint type='bogus'/></body></worldbody></mujoco>", "x")
    no_actuators = MOTOR_ARM.split("<actuator>")[0] + "</mujoco>"
    with pytest.raises(InvalidArgument, match="no actuated joint chain"):
        Arm.from_mjcf(no_actuators, "x")


def test_an_arm_travels_to_other_processes_as_its_source():
    arm = load_body("gen-s3-3dof")
    again = pickle.loads(pickle.dumps(arm))  # noqa: S301 - our own object, as multiprocessing sends it
    assert again.tag == arm.tag and again.mjcf == arm.mjcf
    np.testing.assert_array_equal(again.rest, arm.rest)


# -- generated arms ---------------------------------------------------------------------


def test_the_generator_is_deterministic_and_varied():
    assert generator.generate("gen", 42, 6) == generator.generate("gen", 42, 6)
    assert generator.generate("gen", 42, 6) != generator.generate("gen", 43, 6)
    assert generator.generate("gen", 42, 6) != generator.generate("novel", 42, 6)
    designs = [generator.design("gen", s, d, s % 3 == 0 and d > 3) for s in range(1, 12) for d in (3, 5, 7)]
    assert {len(d.joints) for d in designs} == {3, 5, 7}
    kinds = {j.kind for d in designs for j in d.joints}
    assert kinds == {"yaw", "pitch", "roll", "side"}
    reaches = [sum(j.link[2] for j in d.joints) for d in designs]
    assert max(reaches) - min(reaches) > 0.2
    assert len({round(d.servo_hz, 3) for d in designs}) == len(designs)
    arm = load_body("gen-s42-6dof")
    assert arm.tag == "gen-s42-6dof" and arm.dof == 6 and arm.gripper is None
    assert arm.warnings == []  # generated models need no adaptation
    with pytest.raises(InvalidArgument, match="3 to 7 joints"):
        generator.design("gen", 1, 8, False)
    with pytest.raises(InvalidArgument, match="with a gripper have 4 to 7 joints"):
        load_body("gen-s1-3dof-grip")


@pytest.mark.parametrize("tag", [t for t in training_bodies() + held_out_bodies() if t != "rs-arm4"])
def test_every_body_is_controllable(tag):
    """The expert reaches sampled targets in physics (servos track 50 Hz targets) and holds still."""
    arm = load_body(tag)
    rng = np.random.default_rng(5)
    for _ in range(2):
        q0, target = arm.sample_start(rng), arm.sample_target(rng)
        sim = reach_in_physics(arm, target, q0, seconds=5.0)
        assert np.linalg.norm(sim.ee_position() - target) < 0.01, tag
        assert np.abs(sim.joint_velocities()[arm.chain]).max() < 0.05, tag


def test_generated_grippers_open_and_close_with_one_actuator():
    arm = load_body("gen-s10-5dof-grip")
    sim = SimArm(arm)
    sim.reset(arm.rest)
    right = arm.model.joint("finger_r").qposadr[0]
    for value in (arm.gripper_closed, arm.gripper_open):
        q = arm.rest.copy()
        q[arm.gripper] = value
        sim.command(q)
        sim.advance(0.6)
        assert sim.joint_positions()[arm.gripper] == pytest.approx(value, abs=1e-3)
        assert sim.data.qpos[right] == pytest.approx(value, abs=1e-3)  # the other finger follows


def test_gym_arms_come_from_the_installed_gymnasium_package():
    pusher, reacher = load_body("gym-pusher"), load_body("gym-reacher")
    assert pusher.dof == 7 and pusher.ee_site == "ee"
    assert mujoco.mj_name2id(pusher.model, mujoco.mjtObj.mjOBJ_BODY, "object") < 0  # the puck is gone
    assert reacher.dof == 2 and reacher.workspace.planar
    assert any("origin of body 'fingertip'" in w for w in reacher.warnings)
    rng = np.random.default_rng(0)
    zs = {round(float(reacher.sample_target(rng)[2]), 6) for _ in range(5)}
    assert zs == {0.01}  # targets lie in the Reacher's plane


@pytest.mark.parametrize("tag", known_tags())
def test_the_packed_chain_gives_mujocos_end_effector_for_every_body(tag):
    arm = load_body(tag)
    kin = arm.kinematics.chain_vector()
    assert kin[policy_io.KIN_USED].sum() == len(arm.chain)
    rng = np.random.default_rng(0)
    for _ in range(20):
        q = rng.uniform(arm.lower, arm.upper)
        np.testing.assert_allclose(policy_io.forward_kinematics(kin, q), arm.kinematics.ee_position(q), atol=1e-6)


def test_the_chain_follows_a_registered_joint_order():
    xml = load_body("gen-s12-6dof").mjcf
    names = list(load_body("gen-s12-6dof").joint_names)
    arm = Arm.from_mjcf(xml, "vendor.shuffled", joint_order=names[::-1])
    q = np.random.default_rng(1).uniform(arm.lower, arm.upper)
    np.testing.assert_allclose(policy_io.forward_kinematics(arm.kinematics.chain_vector(), q), arm.kinematics.ee_position(q), atol=1e-6)
