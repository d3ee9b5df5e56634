import numpy as np
import pytest

from robosoul.v1 import robot_pb2
from robosoul.v1 import session_pb2 as sp
from robosoul_core import policy_io as io
from robosoul_motion.goals import DEFAULT_PATH_SPEED, goal_vector, path_point


def body():
    emb = robot_pb2.Embodiment(joints=[robot_pb2.Joint(name=f"j{i}", type=1, position_limits={"min": -1, "max": 1}, max_velocity=1) for i in range(3)])
    emb.named_poses["home"].positions.extend([0.1, 0.2, 0.3])
    return emb


PATH = sp.Path(waypoints=[{"x": 0.0}, {"x": 1.0}, {"x": 1.0, "y": 1.0}], duration_s=4.0)


@pytest.mark.parametrize("elapsed, expected", [(-1, [0, 0, 0]), (0, [0, 0, 0]), (1, [0.5, 0, 0]), (2, [1, 0, 0]), (3, [1, 0.5, 0]), (4, [1, 1, 0]), (99, [1, 1, 0])])
def test_path_is_walked_at_constant_speed(elapsed, expected):
    np.testing.assert_allclose(path_point(PATH, elapsed), expected, atol=1e-12)


def test_path_without_duration_uses_the_default_speed():
    path = sp.Path(waypoints=[{"x": 0.0}, {"x": 1.0}])
    np.testing.assert_allclose(path_point(path, 2.0), [2 * DEFAULT_PATH_SPEED, 0, 0])
    np.testing.assert_allclose(path_point(sp.Path(waypoints=[{"z": 0.4}]), 5.0), [0, 0, 0.4])


def test_each_skill_fills_its_part_of_the_goal_vector():
    emb = body()
    reach = goal_vector(sp.Goal(skill=sp.SKILL_REACH, position={"x": 0.3, "z": 0.2}), emb, 0.0)
    assert reach[io.GOAL_TARGET].tolist() == pytest.approx([0.3, 0, 0.2]) and reach[io.SKILL_SLOTS[sp.SKILL_REACH]] == 1
    path = goal_vector(sp.Goal(skill=sp.SKILL_FOLLOW_PATH, path=PATH), emb, 1.0)
    assert path[io.GOAL_TARGET].tolist() == pytest.approx([0.5, 0, 0])
    pose = goal_vector(sp.Goal(skill=sp.SKILL_MOVE_TO_POSE, named_pose="home"), emb, 0.0)
    assert pose[io.GOAL_JOINTS][:3].tolist() == pytest.approx([0.1, 0.2, 0.3]) and pose[io.SKILL_SLOTS[sp.SKILL_MOVE_TO_POSE]] == 1
    assert not pose[io.GOAL_TARGET].any()
    grasp = goal_vector(sp.Goal(skill=sp.SKILL_GRASP_AND_PLACE, grasp={"object": {"x": 0.3}, "place": {"y": 0.4}}), emb, 0.0)
    assert grasp[io.GOAL_TARGET].tolist() == pytest.approx([0.3, 0, 0]) and grasp[io.GOAL_PLACE].tolist() == pytest.approx([0, 0.4, 0])
    assert grasp[io.GOAL_SKILL].sum() == 1 and grasp[io.SKILL_SLOTS[sp.SKILL_GRASP_AND_PLACE]] == 1
