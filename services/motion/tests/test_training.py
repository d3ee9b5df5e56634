"""The reach policy's network, training CLI and ONNX export."""

import hashlib
import json

import numpy as np
import onnxruntime as ort
import pytest
import torch

from robosoul.v1 import session_pb2
from robosoul_core import policy_io as io
from robosoul_motion import model_repo
from robosoul_motion.training import train
from robosoul_motion.training.model import FEATURE_DIM, ReachPolicy, features
from robosoul_simulation import demos
from robosoul_simulation.evaluate import EvalConfig, OnnxPolicy, evaluate_policy


def batch(n: int, dof: int = 4, embodiment: int = 0, seed: int = 0):
    rng = np.random.default_rng(seed)
    state = np.stack([io.encode_state(rng.uniform(-1, 1, dof), rng.uniform(-1, 1, dof)) for _ in range(n)])
    goal = np.stack([io.encode_goal(session_pb2.SKILL_REACH, rng.uniform(-0.5, 0.5, 3)) for _ in range(n)])
    return torch.from_numpy(state), torch.from_numpy(goal), torch.full((n, 1), embodiment, dtype=torch.int64)


def randomised(model: ReachPolicy, seed: int = 0) -> ReachPolicy:
    """A model with random (non-zero) decoder weights, so outputs depend on everything."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return model.eval()


def test_forward_follows_the_contract_and_masks_padded_joints():
    model = randomised(ReachPolicy(embodiments=2, width=32, depth=1))
    s, g, e = batch(5, dof=3)
    a = model(s, g, e)
    assert a.shape == (5, io.HORIZON, io.MAX_DOF) and a.dtype == torch.float32
    assert torch.all(a[:, :, 3:] == 0)
    assert torch.any(a[:, :, :3] != s[:, None, :3])
    # Absolute targets: with the decoder silenced, the chunk is the current position.
    with torch.no_grad():
        model.decoder.weight.zero_()
        model.decoder.bias.zero_()
    np.testing.assert_allclose(model(s, g, e).detach().numpy(), np.repeat(s[:, None, : io.MAX_DOF].numpy(), io.HORIZON, 1))


def test_each_embodiment_has_its_own_adapters_in_one_batch():
    model = randomised(ReachPolicy(embodiments=3, width=32, depth=1))
    s, g, _ = batch(4)
    outs = [model(s, g, torch.full((4, 1), k, dtype=torch.int64)) for k in range(3)]
    assert not torch.allclose(outs[0], outs[1]) and not torch.allclose(outs[1], outs[2])
    mixed = model(s, g, torch.tensor([[0], [1], [2], [1]]))
    for row, k in enumerate([0, 1, 2, 1]):
        torch.testing.assert_close(mixed[row], outs[k][row])


def test_features_have_the_declared_width_and_sin_cos_of_real_joints_only():
    s, g, _ = batch(3, dof=2)
    f = features(s, g)
    assert f.shape == (3, FEATURE_DIM)
    sin = f[:, io.MAX_DOF : 2 * io.MAX_DOF]
    torch.testing.assert_close(sin[:, :2], torch.sin(s[:, :2]))
    assert torch.all(sin[:, 2:] == 0)


def test_onnx_export_matches_torch_with_any_batch_size(tmp_path):
    model = randomised(ReachPolicy(embodiments=2, width=32, depth=1))
    diff = train.export_onnx(model, tmp_path / "p.onnx", batch(6))
    assert diff < 1e-5
    session = ort.InferenceSession(str(tmp_path / "p.onnx"), providers=["CPUExecutionProvider"])
    for n, k in ((1, 0), (33, 1)):
        s, g, e = batch(n, embodiment=k, seed=n)
        (got,) = session.run(
            [io.OUTPUT_ACTIONS], {io.INPUT_STATE: s.numpy(), io.INPUT_GOAL: g.numpy(), io.INPUT_EMBODIMENT: e.numpy()}
        )
        np.testing.assert_allclose(got, model(s, g, e).detach().numpy(), atol=1e-5)


@pytest.fixture(scope="module")
def demos_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("demos") / "tiny.npz"
    demos.save(path, demos.generate(demos.DemoConfig(episodes=3, batch=3, seed=1)))
    return path


@pytest.fixture(scope="module")
def trained(demos_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("policy") / "policy.onnx"
    assert train.main(["--demos", str(demos_file), "--out", str(out), "--epochs", "1", "--seed", "3"]) == 0
    return out


def test_tiny_training_run_writes_a_servable_policy(trained, demos_file):
    meta = json.loads(trained.with_suffix(".json").read_text())
    assert meta["embodiments"] == {"rs-arm4": 0}
    assert (meta["horizon"], meta["step_s"], meta["max_dof"]) == (io.HORIZON, io.STEP_S, io.MAX_DOF)
    assert meta["inputs"][io.INPUT_STATE]["shape"] == ["B", io.STATE_DIM]
    assert meta["outputs"][io.OUTPUT_ACTIONS]["shape"] == ["B", io.HORIZON, io.MAX_DOF]
    assert meta["demos"] == demos_file.name and meta["trained_at"] and np.isfinite(meta["val_loss"])
    assert meta["sha256"] == hashlib.sha256(trained.read_bytes()).hexdigest()
    assert meta["metrics"]["export_max_abs_diff"] < 1e-4
    # The model repository accepts it as it is.
    model_repo.load_sidecar(trained)
    model_repo.check_onnx(trained, 0)
    checkpoint = torch.load(trained.with_suffix(".pt"), weights_only=True)
    assert checkpoint["embodiments"] == {"rs-arm4": 0}


def test_the_trained_onnx_runs_closed_loop(trained):
    report = evaluate_policy(OnnxPolicy(trained, "rs-arm4"), "rs-arm4", EvalConfig(episodes=2, episode_s=0.5))
    assert report.episodes == 2 and 0.0 <= report.success_rate <= 1.0
    assert np.isfinite(report.final_error_mm["max"])


def test_training_is_deterministic(demos_file):
    d = train.load_demos(demos_file)
    config = train.TrainConfig(epochs=1, width=32, depth=1, batch=64)
    a, _ = train.train(d, config, progress=False)
    b, _ = train.train(d, config, progress=False)
    for (name, pa), (_, pb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        torch.testing.assert_close(pa, pb, msg=name)


def write_npz(path, **arrays):
    np.savez(path, **arrays)
    return path


def good_arrays(n=10):
    return {
        "state": np.zeros((n, io.STATE_DIM), np.float32),
        "goal": np.zeros((n, io.GOAL_DIM), np.float32),
        "embodiment": np.zeros((n, 1), np.int64),
        "actions": np.zeros((n, io.HORIZON, io.MAX_DOF), np.float32),
        "embodiment_tags": np.array(["rs-arm4"]),
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"actions": np.zeros((10, 8, 8), np.float32)},
            "'actions' is float32[10, 8, 8], the policy contract needs float32[10, 16, 8]",
        ),
        ({"state": np.zeros((10, 24), np.float64)}, "'state' is float64[10, 24], the policy contract needs float32[10, 24]"),
        ({"goal": None}, "no array 'goal'"),
        ({"embodiment_tags": None}, "no 'embodiment_tags' array"),
        ({"embodiment": np.full((10, 1), 3, np.int64)}, "embodiment indices 3..3 outside the 1 tags ['rs-arm4']"),
        ({"actions": np.full((10, 16, 8), np.nan, np.float32)}, "'actions' holds NaN"),
    ],
)
def test_cli_rejects_demos_that_do_not_fit_the_contract(tmp_path, capsys, change, message):
    arrays = {**good_arrays(), **change}
    path = write_npz(tmp_path / "bad.npz", **{k: v for k, v in arrays.items() if v is not None})
    with pytest.raises(SystemExit) as exc:
        train.main(["--demos", str(path), "--out", str(tmp_path / "p.onnx")])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "p.onnx").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--demos", "nowhere/demos.npz", "--out", "p.onnx"], "nowhere/demos.npz: demonstrations file not found"),
        (["--demos", "x.npz", "--out", "p.pt"], "--out must end in .onnx"),
        (["--demos", "x.npz", "--out", "p.onnx", "--epochs", "0"], "--epochs must be >= 1"),
    ],
)
def test_cli_rejects_bad_arguments(tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        train.main(args)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_cli_rejects_a_file_that_is_not_npz(tmp_path, capsys):
    (tmp_path / "junk.npz").write_text("hello")
    with pytest.raises(SystemExit):
        train.main(["--demos", str(tmp_path / "junk.npz"), "--out", str(tmp_path / "p.onnx")])
    assert "junk.npz: not a readable .npz file" in capsys.readouterr().err
