import numpy as np
import pytest

from robosoul.v1 import session_pb2
from robosoul_core import policy_io as io
from robosoul_simulation import demos
from robosoul_simulation.arms import load_arm
from robosoul_simulation.expert import ReachExpert


@pytest.fixture(scope="module")
def small():
    return demos.generate(demos.DemoConfig(episodes=6, batch=4, seed=5))


def test_arrays_follow_the_policy_contract(small):
    n = small[io.INPUT_STATE].shape[0]
    assert n > 6 * 50
    assert small[io.INPUT_STATE].shape == (n, io.STATE_DIM) and small[io.INPUT_STATE].dtype == np.float32
    assert small[io.INPUT_GOAL].shape == (n, io.GOAL_DIM) and small[io.INPUT_GOAL].dtype == np.float32
    assert small[io.INPUT_EMBODIMENT].shape == (n, 1) and small[io.INPUT_EMBODIMENT].dtype == np.int64
    assert small[io.OUTPUT_ACTIONS].shape == (n, io.HORIZON, io.MAX_DOF) and small[io.OUTPUT_ACTIONS].dtype == np.float32
    for key in (io.INPUT_STATE, io.INPUT_GOAL, io.OUTPUT_ACTIONS):
        assert np.isfinite(small[key]).all()
    demos.check_contract(small)
    # 4 real joints: mask set, padding zero in state and actions; REACH slot set.
    np.testing.assert_array_equal(small[io.INPUT_STATE][:, 16:20], 1)
    np.testing.assert_array_equal(small[io.INPUT_STATE][:, 20:], 0)
    np.testing.assert_array_equal(small[io.OUTPUT_ACTIONS][:, :, 4:], 0)
    reach = io.encode_goal(session_pb2.SKILL_REACH, None)
    np.testing.assert_array_equal(small[io.INPUT_GOAL][:, 3:], np.broadcast_to(reach[3:], (n, 5)))
    assert set(np.unique(small["episode"])) == set(range(6))
    assert list(small["embodiment_tags"]) == ["rs-arm4"]


def test_labels_are_the_experts_chunk_from_the_recorded_state(small):
    arm = load_arm("rs-arm4")
    expert = ReachExpert(arm)
    rng = np.random.default_rng(0)
    for i in rng.choice(len(small[io.INPUT_STATE]), 20, replace=False):
        s, g = small[io.INPUT_STATE][i].astype(float), small[io.INPUT_GOAL][i].astype(float)
        want = expert.plan(s[:4], s[8:12], g[:3])
        # float32 storage of the state moves the replanned chunk a little.
        np.testing.assert_allclose(small[io.OUTPUT_ACTIONS][i, :, :4], want, atol=2e-4)


def test_same_seed_same_data_and_different_seed_different_data(small):
    again = demos.generate(demos.DemoConfig(episodes=6, batch=4, seed=5))
    np.testing.assert_array_equal(again[io.OUTPUT_ACTIONS], small[io.OUTPUT_ACTIONS])
    other = demos.generate(demos.DemoConfig(episodes=6, batch=4, seed=6))
    assert not np.array_equal(other[io.INPUT_GOAL][:10], small[io.INPUT_GOAL][:10])


def test_cli_writes_an_npz_that_loads_without_pickle(tmp_path, capsys):
    out = tmp_path / "sub" / "demos.npz"
    assert demos.main(["--embodiment", "rs-arm4", "--out", str(out), "--episodes", "3", "--seed", "1"]) == 0
    with np.load(out, allow_pickle=False) as f:
        assert {"state", "goal", "embodiment", "actions", "episode", "tag", "seed", "embodiment_tags"} <= set(f.files)
        assert str(f["tag"]) == "rs-arm4" and int(f["seed"]) == 1
    err = capsys.readouterr().err
    assert "3/3 episodes" in err and "wrote" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--embodiment", "rs-arm9"], "unknown embodiment tag 'rs-arm9'; known: rs-arm4"),
        (["--episodes", "0"], "--episodes must be >= 1, got 0"),
    ],
)
def test_cli_rejects_bad_input_with_a_precise_message(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as exc:
        demos.main(["--out", str(tmp_path / "d.npz"), *args])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "d.npz").exists()
