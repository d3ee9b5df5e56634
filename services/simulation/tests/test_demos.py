"""Demonstrations: the contract's shapes for every skill, labels, determinism, parallel = serial, CLI."""

import numpy as np
import pytest

from robosoul.v1 import session_pb2
from robosoul_core import policy_io as io
from robosoul_simulation import demos
from robosoul_simulation.bodies import load_body
from robosoul_simulation.expert import Expert
from robosoul_simulation.randomize import Randomization

SKILL_CODES = {
    "reach": session_pb2.SKILL_REACH,
    "pose": session_pb2.SKILL_MOVE_TO_POSE,
    "path": session_pb2.SKILL_FOLLOW_PATH,
    "grasp": session_pb2.SKILL_GRASP_AND_PLACE,
}


@pytest.fixture(scope="module")
def every_skill():
    arm = load_body("gen-s6-4dof-grip")
    return arm, demos.collect(arm, skills=("reach", "pose", "path", "grasp"), episodes=2, seed=3, workers=1)


@pytest.fixture(scope="module")
def reach():
    return demos.generate(demos.DemoConfig(episodes=6, batch=4, seed=5))


def test_arrays_follow_the_policy_contract_for_every_skill(every_skill):
    arm, data = every_skill
    io.check_arrays(data)
    n = data[io.INPUT_STATE].shape[0]
    assert data["episode"].shape == (n,) and data["skill"].shape == (n,)
    assert len(np.unique(data["episode"])) == 8 == int(data["episodes"])
    for key in (io.INPUT_STATE, io.INPUT_GOAL, io.OUTPUT_ACTIONS):
        assert np.isfinite(data[key]).all()
    # 5 joints (4 + gripper): mask set, padding zero in state and actions.
    np.testing.assert_array_equal(data[io.INPUT_STATE][:, 16:21], 1)
    np.testing.assert_array_equal(data[io.INPUT_STATE][:, 21:], 0)
    np.testing.assert_array_equal(data[io.OUTPUT_ACTIONS][:, :, 5:], 0)
    assert list(data["embodiment_tags"]) == [arm.tag] and list(data["embodiment_dof"]) == [5]
    assert list(data["joint_names"][0][:5]) == list(arm.joint_names) and data["joint_names"][0][5] == ""
    np.testing.assert_array_equal(data[io.INPUT_EMBODIMENT], 0)
    for name, code in SKILL_CODES.items():
        rows = data["skill"] == code
        assert rows.sum() > 50, name
        goal = data[io.INPUT_GOAL][rows]
        onehot = np.zeros(8)
        onehot[io.SKILL_SLOTS[code] - io.GOAL_SKILL.start] = 1
        np.testing.assert_array_equal(goal[:, io.GOAL_SKILL], np.broadcast_to(onehot, (len(goal), 8)))
        # Each skill fills its own goal slots and leaves the others zero.
        uses_target = name in ("reach", "path", "grasp")
        assert (np.abs(goal[:, io.GOAL_TARGET]).sum(axis=1) > 0).all() == uses_target
        assert (np.abs(goal[:, io.GOAL_PLACE]).sum(axis=1) > 0).all() == (name == "grasp")
        assert (np.abs(goal[:, io.GOAL_JOINTS]).sum(axis=1) > 0).all() == (name == "pose")
    # The grasp demonstrations close and open the gripper.
    grasp = data[io.OUTPUT_ACTIONS][data["skill"] == SKILL_CODES["grasp"], :, arm.gripper]
    assert grasp.min() < arm.gripper_closed + 0.005 and grasp.max() > arm.gripper_open - 0.005


def test_path_demonstrations_show_a_moving_target(every_skill):
    _, data = every_skill
    rows = data["skill"] == SKILL_CODES["path"]
    target = data[io.INPUT_GOAL][rows][:, io.GOAL_TARGET]
    episode = data["episode"][rows]
    for e in np.unique(episode):
        t = target[episode == e]
        step = np.linalg.norm(np.diff(t, axis=0), axis=1)
        assert step.max() < 0.02  # continuous: under 2 cm per recorded step
        assert np.ptp(t, axis=0).max() > 0.05  # and it does move


def test_labels_are_the_experts_chunk_from_the_recorded_state(reach):
    arm = load_body("rs-arm4")
    expert = Expert(arm)
    rng = np.random.default_rng(0)
    for i in rng.choice(len(reach[io.INPUT_STATE]), 20, replace=False):
        s, g = reach[io.INPUT_STATE][i].astype(float), reach[io.INPUT_GOAL][i].astype(float)
        want = expert.plan(s[:4], s[8:12], g[:3])
        # float32 storage of the state moves the replanned chunk a little.
        np.testing.assert_allclose(reach[io.OUTPUT_ACTIONS][i, :, :4], want, atol=2e-4)


def test_same_seed_same_data_and_different_seed_different_data(reach):
    again = demos.generate(demos.DemoConfig(episodes=6, batch=4, seed=5))
    np.testing.assert_array_equal(again[io.OUTPUT_ACTIONS], reach[io.OUTPUT_ACTIONS])
    other = demos.generate(demos.DemoConfig(episodes=6, batch=4, seed=6))
    assert not np.array_equal(other[io.INPUT_GOAL][:10], reach[io.INPUT_GOAL][:10])


def test_parallel_collection_gives_the_same_data_as_serial():
    config = demos.DemoConfig(episodes=2, batch=1, seed=9, skills=("reach", "pose"))
    serial = demos.collect_many(["gen-s4-4dof"], config)
    calls = []
    parallel = demos.collect_many(["gen-s4-4dof"], demos.DemoConfig(**{**config.__dict__, "workers": 2}), progress=lambda d, t: calls.append((d, t)))
    for a, b in zip(serial, parallel, strict=True):
        assert a.keys() == b.keys()
        for key in (io.INPUT_STATE, io.INPUT_GOAL, io.OUTPUT_ACTIONS, "episode", "skill"):
            np.testing.assert_array_equal(a[key], b[key])
    assert calls[-1] == (4, 4) and len(calls) == 4  # 2 skills x 2 batches of 1


def test_one_file_for_many_bodies_indexes_them_in_order():
    config = demos.DemoConfig(episodes=2, batch=2, seed=1, randomization=Randomization.off())
    parts = demos.collect_many(["gym-reacher", "rs-arm4"], config)
    data = demos.assemble(parts, config)
    io.check_arrays(data)
    assert list(data["embodiment_tags"]) == ["gym-reacher", "rs-arm4"]
    assert list(data["embodiment_dof"]) == [2, 4]
    for index, dof in ((0, 2), (1, 4)):
        rows = data[io.INPUT_EMBODIMENT][:, 0] == index
        assert rows.any()
        assert (data[io.INPUT_STATE][rows, 16:24].sum(axis=1) == dof).all()
    assert len(np.unique(data["episode"])) == 4


def test_cli_writes_an_npz_that_loads_without_pickle(tmp_path, capsys):
    out = tmp_path / "sub" / "demos.npz"
    assert demos.main(["--embodiment", "rs-arm4", "--out", str(out), "--episodes", "3", "--seed", "1", "--workers", "1"]) == 0
    with np.load(out, allow_pickle=False) as f:
        assert {"state", "goal", "embodiment", "actions", "episode", "skill", "tag", "seed", "embodiment_tags"} <= set(f.files)
        assert str(f["tag"]) == "rs-arm4" and int(f["seed"]) == 1
    err = capsys.readouterr().err
    assert "3/3 episodes" in err and "eta" in err and "wrote" in err and "expert success (episodes without execution noise): rs-arm4" in err


def test_cli_writes_one_file_per_body_into_a_directory(tmp_path):
    out = tmp_path / "held"
    args = ["--embodiment", "rs-arm4", "gym-reacher", "--skills", "reach", "pose", "--episodes", "1", "--out", str(out), "--workers", "2"]
    assert demos.main(args) == 0
    assert sorted(p.name for p in out.iterdir()) == ["gym-reacher.npz", "rs-arm4.npz"]
    with np.load(out / "gym-reacher.npz", allow_pickle=False) as f:
        assert list(f["embodiment_tags"]) == ["gym-reacher"] and set(np.unique(f["embodiment"])) == {0}
        assert set(np.unique(f["skill"])) == {SKILL_CODES["reach"], SKILL_CODES["pose"]}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--embodiment", "rs-arm9"], "unknown embodiment tag 'rs-arm9'; known: rs-arm4"),
        (["--episodes", "0"], "--episodes must be >= 1, got 0"),
        (["--workers", "0"], "--workers must be >= 1, got 0"),
        (["--skills", "dance"], "invalid choice: 'dance'"),
        (["--embodiment", "rs-arm4", "--skills", "grasp"], "no skills this body can do"),
    ],
)
def test_cli_rejects_bad_input_with_a_precise_message(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as exc:
        demos.main(["--out", str(tmp_path / "d.npz"), *args])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "d.npz").exists()
