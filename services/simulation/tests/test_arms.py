import math

import mujoco
import numpy as np
import pytest

from robosoul.v1 import robot_pb2
from robosoul_core.errors import NotFound
from robosoul_simulation.arms import ARMS, embodiment_for, known_tags, load_arm, mjcf_text


def test_registry_knows_rs_arm4_and_rejects_unknown_tags_by_name():
    assert "rs-arm4" in known_tags()
    with pytest.raises(NotFound, match=r"unknown embodiment tag 'rs-arm9'; known: .*rs-arm4"):
        load_arm("rs-arm9")
    with pytest.raises(NotFound, match="rs-arm9"):
        embodiment_for("rs-arm9")


@pytest.mark.parametrize("tag", sorted(ARMS))
def test_model_has_what_simulation_and_perception_need(tag):
    arm = load_arm(tag)
    m = arm.model
    assert m.opt.timestep == pytest.approx(0.002)
    assert arm.n == m.nu
    for kind, name in (
        (mujoco.mjtObj.mjOBJ_SITE, "ee"),
        (mujoco.mjtObj.mjOBJ_CAMERA, "front"),
        (mujoco.mjtObj.mjOBJ_SITE, "target"),
    ):
        assert mujoco.mj_name2id(m, kind, name) >= 0, name
    target = m.body("target")
    assert m.body_mocapid[target.id] >= 0
    # The target marker never collides.
    assert all(m.geom_bodyid[g] != target.id for g in range(m.ngeom))
    assert np.all(arm.max_velocity > 0) and np.all(arm.max_acceleration > 0)
    assert np.all(arm.lower < arm.upper)


def test_embodiment_matches_the_model():
    arm = load_arm("rs-arm4")
    e = embodiment_for("rs-arm4")
    assert isinstance(e, robot_pb2.Embodiment)
    assert e.embodiment_tag == "rs-arm4"
    assert e.control_rate_hz == 50
    assert e.model.end_effector_site == "ee"
    assert e.model.mjcf == mjcf_text("rs-arm4")
    mujoco.MjModel.from_xml_string(e.model.mjcf)  # self-contained
    assert [j.name for j in e.joints] == ["base_yaw", "shoulder_pitch", "elbow_pitch", "wrist_pitch"]
    for i, j in enumerate(e.joints):
        jid = arm.model.joint(j.name).id
        assert j.type == robot_pb2.JOINT_TYPE_REVOLUTE
        assert (j.position_limits.min, j.position_limits.max) == tuple(arm.model.jnt_range[jid])
        assert j.max_velocity == arm.max_velocity[i] > 0
        assert j.max_effort > 0
    assert [c.name for c in e.cameras] == ["front"]
    assert e.cameras[0].intrinsics.fx > 0


def test_every_actuator_is_a_damped_position_servo_within_the_joint_limits():
    arm = load_arm("rs-arm4")
    m = arm.model
    for a in range(m.nu):
        assert m.actuator_gainprm[a, 0] > 0 and m.actuator_biasprm[a, 2] < 0  # kp, kv
        np.testing.assert_allclose(m.actuator_ctrlrange[a], m.jnt_range[arm.joint_ids[a]])


def test_sampled_targets_are_sensible():
    arm = load_arm("rs-arm4")
    rng = np.random.default_rng(7)
    targets = np.array([arm.sample_target(rng) for _ in range(100)])
    assert np.all(targets[:, 2] >= arm.spec.min_target_height)
    assert np.all(np.hypot(targets[:, 0], targets[:, 1]) >= arm.spec.min_target_radius)
    # Within reach of the shoulder, and spread around the base.
    shoulder = np.array([0, 0, 0.18])
    assert np.all(np.linalg.norm(targets - shoulder, axis=1) < 0.62)
    azimuth = np.arctan2(targets[:, 1], targets[:, 0])
    assert azimuth.min() < -1.5 and azimuth.max() > 1.5
    # Same seed, same targets.
    rng2 = np.random.default_rng(7)
    np.testing.assert_array_equal(targets[:5], [arm.sample_target(rng2) for _ in range(5)])


def test_ik_reaches_sampled_targets_inside_the_limits():
    arm = load_arm("rs-arm4")
    rng = np.random.default_rng(3)
    for _ in range(20):
        x = arm.sample_target(rng)
        q, err = arm.kinematics.solve_ik(x)
        assert err < 1e-4
        assert np.all(q >= arm.lower) and np.all(q <= arm.upper)
        np.testing.assert_allclose(arm.kinematics.ee_position(q), x, atol=1e-4)
        # The base faces the target.
        assert math.isclose(q[0], math.atan2(x[1], x[0]), abs_tol=1e-3)
