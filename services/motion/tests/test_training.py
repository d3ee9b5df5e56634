"""The generalist policy's network, multi-body training CLI and ONNX export."""

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
from robosoul_motion.training.model import FEATURE_DIM, GeneralistPolicy, end_effector, features
from robosoul_motion.training.synthetic import synthetic_demos


def batch(n: int, dof: int = 4, embodiment: int = 0, seed: int = 0):
    rng = np.random.default_rng(seed)
    state = np.stack([io.encode_state(rng.uniform(-1, 1, dof), rng.uniform(-1, 1, dof)) for _ in range(n)])
    goal = np.stack([io.encode_goal(session_pb2.SKILL_REACH, rng.uniform(-0.5, 0.5, 3)) for _ in range(n)])
    return torch.from_numpy(state), torch.from_numpy(goal), torch.full((n, 1), embodiment, dtype=torch.int64)


def randomised(model: GeneralistPolicy, seed: int = 0) -> GeneralistPolicy:
    """A model with random (non-zero) weights everywhere, LoRA and decoder included, so outputs depend on everything."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return model.eval()


def run_onnx(path, s, g, e):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feed = {io.INPUT_STATE: s.numpy(), io.INPUT_GOAL: g.numpy(), io.INPUT_EMBODIMENT: e.numpy()}
    return session.run([io.OUTPUT_ACTIONS], feed)[0]


def test_forward_follows_the_contract_and_masks_padded_joints():
    model = randomised(GeneralistPolicy(embodiments=2, width=32, depth=1))
    s, g, e = batch(5, dof=3)
    a = model(s, g, e)
    assert a.shape == (5, io.HORIZON, io.MAX_DOF) and a.dtype == torch.float32
    assert torch.all(a[:, :, 3:] == 0)
    assert torch.any(a[:, :, :3] != s[:, None, :3])
    # Absolute targets: with the decoder silenced, the chunk is the current position.
    with torch.no_grad():
        model.body["dec0_w"].zero_()
        model.body["dec0_b"].zero_()
    np.testing.assert_allclose(model(s, g, e).detach().numpy(), np.repeat(s[:, None, : io.MAX_DOF].numpy(), io.HORIZON, 1))


def random_chain(rng: np.random.Generator, dof: int) -> np.ndarray:
    """A made-up serial chain: random unit axes and anchors, one slide joint, columns permuted."""
    axes = rng.normal(size=(dof, 3))
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    slide = np.zeros(dof)
    slide[dof // 2] = 1.0
    return io.pack_kinematics(axes, rng.normal(size=(dof, 3)) * 0.3, slide, rng.normal(size=dof) * 0.1, rng.permutation(dof), rng.normal(size=3))


def test_the_models_forward_kinematics_is_the_reference_product_of_exponentials():
    rng = np.random.default_rng(0)
    for dof in (1, 3, 7, 8):
        kin = random_chain(rng, dof)
        q = rng.uniform(-3, 3, size=(16, io.MAX_DOF)).astype(np.float32)
        got = end_effector(torch.from_numpy(q), torch.from_numpy(kin).expand(16, -1)).numpy()
        want = np.stack([io.forward_kinematics(kin, row[:dof]) for row in q])
        np.testing.assert_allclose(got, want, atol=1e-5)


def test_a_turning_joint_moves_the_end_effector_on_a_circle_and_a_slide_along_its_axis():
    # One hinge about z through the origin, the tip 1 m out on x; then a slide along x.
    turn = io.pack_kinematics(np.array([[0, 0, 1.0]]), np.zeros((1, 3)), np.zeros(1), np.zeros(1), np.array([0]), np.array([1.0, 0, 0]))
    q = torch.zeros(1, io.MAX_DOF)
    q[0, 0] = np.pi / 2
    torch.testing.assert_close(end_effector(q, torch.from_numpy(turn)[None]), torch.tensor([[0.0, 1.0, 0.0]]), atol=1e-6, rtol=0)
    slide = io.pack_kinematics(np.array([[1.0, 0, 0]]), np.zeros((1, 3)), np.ones(1), np.zeros(1), np.array([0]), np.array([1.0, 0, 0]))
    q[0, 0] = 0.25
    torch.testing.assert_close(end_effector(q, torch.from_numpy(slide)[None]), torch.tensor([[1.25, 0.0, 0.0]]))


@pytest.mark.parametrize("adapter_hidden", [0, 16])
def test_a_mixed_batch_gives_each_row_its_own_body_and_its_own_mask(adapter_hidden):
    model = randomised(GeneralistPolicy(embodiments=3, width=32, depth=2, adapter_hidden=adapter_hidden))
    rows = [batch(1, dof=d, seed=d) for d in (3, 7, 5, 8)]
    s, g = torch.cat([r[0] for r in rows]), torch.cat([r[1] for r in rows])
    bodies = torch.tensor([[0], [1], [2], [1]])
    mixed = model(s, g, bodies)
    for row, (dof, k) in enumerate(zip((3, 7, 5, 8), (0, 1, 2, 1), strict=True)):
        alone = model(s[row : row + 1], g[row : row + 1], torch.tensor([[k]]))[0]
        torch.testing.assert_close(mixed[row], alone)
        assert torch.all(mixed[row, :, dof:] == 0) and torch.all(mixed[row, :, :dof] != 0)
    outs = [model(s, g, torch.full((4, 1), k, dtype=torch.int64)) for k in range(3)]
    assert not torch.allclose(outs[0], outs[1]) and not torch.allclose(outs[1], outs[2])


def test_the_grouped_training_path_computes_what_the_served_path_does():
    model = randomised(GeneralistPolicy(embodiments=3, width=32, depth=2))
    s, g, _ = batch(6, dof=6)
    bodies = torch.tensor([2, 0])
    model.set_kinematics(2, torch.from_numpy(random_chain(np.random.default_rng(1), dof=6)))
    kin = model.kinematics[bodies.repeat_interleave(3)]
    grouped = model.normalised_delta_grouped(features(s, g, kin).view(2, 3, -1), bodies)
    served = model.normalised_delta(s, g, bodies.repeat_interleave(3)[:, None])
    torch.testing.assert_close(grouped.reshape(6, -1), served)


def _goal(skill, rng, dof=5):
    if skill == session_pb2.SKILL_MOVE_TO_POSE:
        return io.encode_goal(skill, joints=rng.uniform(-1, 1, dof))
    if skill == session_pb2.SKILL_GRASP_AND_PLACE:
        return io.encode_goal(skill, rng.uniform(-0.5, 0.5, 3), place=rng.uniform(-0.5, 0.5, 3))
    return io.encode_goal(skill, rng.uniform(-0.5, 0.5, 3))


@pytest.mark.parametrize(
    ("skill", "part"),
    [
        (session_pb2.SKILL_REACH, io.GOAL_TARGET),
        (session_pb2.SKILL_FOLLOW_PATH, io.GOAL_TARGET),
        (session_pb2.SKILL_MOVE_TO_POSE, slice(io.GOAL_JOINTS.start, io.GOAL_JOINTS.start + 5)),
        (session_pb2.SKILL_GRASP_AND_PLACE, io.GOAL_TARGET),
        (session_pb2.SKILL_GRASP_AND_PLACE, io.GOAL_PLACE),
    ],
)
def test_each_skills_goal_changes_the_chunk(skill, part):
    model = randomised(GeneralistPolicy(embodiments=1, width=32, depth=1))
    rng = np.random.default_rng(skill)
    s, _, e = batch(1, dof=5)
    g = torch.from_numpy(_goal(skill, rng))[None]
    moved = g.clone()
    moved[0, part] += 0.2
    other_skill = g.clone()
    other_skill[0, io.GOAL_SKILL] = torch.roll(other_skill[0, io.GOAL_SKILL], 1)
    base = model(s, g, e)
    assert not torch.allclose(base, model(s, moved, e), atol=1e-5)
    assert not torch.allclose(base, model(s, other_skill, e), atol=1e-5)


def test_features_have_the_declared_width_and_sin_cos_of_real_joints_only():
    s, g, _ = batch(3, dof=2)
    f = features(s, g, torch.zeros(3, io.KIN_DIM))
    assert f.shape == (3, FEATURE_DIM)
    assert torch.all(f[:, -10:] == 0)  # no chain: no end-effector features
    sin = f[:, io.MAX_DOF : 2 * io.MAX_DOF]
    torch.testing.assert_close(sin[:, :2], torch.sin(s[:, :2]))
    assert torch.all(sin[:, 2:] == 0)


@pytest.mark.parametrize("adapter_hidden", [0, 16])
def test_onnx_export_matches_torch_at_several_batch_sizes_and_bodies(tmp_path, adapter_hidden):
    model = randomised(GeneralistPolicy(embodiments=3, width=32, depth=2, adapter_hidden=adapter_hidden))
    diff = train.export_onnx(model, tmp_path / "p.onnx", batch(6))
    assert diff < 1e-5
    for n in (1, 2, 33, 256):
        s, g, _ = batch(n, dof=1 + n % 8, seed=n)
        e = torch.from_numpy(np.random.default_rng(n).integers(0, 3, (n, 1)))
        np.testing.assert_allclose(run_onnx(tmp_path / "p.onnx", s, g, e), model(s, g, e).detach().numpy(), atol=1e-5)


BODIES = (("fake-arm3", 3), ("fake-arm6", 6), ("fake-arm7", 7))


@pytest.fixture(scope="module")
def demos_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("demos")
    for i, (tag, dof) in enumerate(BODIES):
        np.savez(d / f"{tag}.npz", **synthetic_demos(tag, dof, samples=192, seed=i))
    return d


TINY = ["--steps", "40", "--width", "32", "--depth", "1", "--seed", "3", "--held-out", "fake-held7"]


@pytest.fixture(scope="module")
def trained(demos_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("policy") / "policy.onnx"
    assert train.main(["--demos", str(demos_dir), "--out", str(out), *TINY]) == 0
    return out


def test_tiny_training_run_writes_a_servable_policy(trained, capsys):
    meta = json.loads(trained.with_suffix(".json").read_text())
    assert meta["embodiments"] == {"fake-arm3": 0, "fake-arm6": 1, "fake-arm7": 2}
    assert meta["held_out"] == ["fake-held7"]
    assert meta["bodies"]["fake-arm6"]["dof"] == 6
    assert meta["bodies"]["fake-arm7"]["skills"] == ["reach", "move_to_pose", "grasp_and_place"]
    assert (meta["horizon"], meta["step_s"], meta["max_dof"]) == (io.HORIZON, io.STEP_S, io.MAX_DOF)
    assert meta["inputs"][io.INPUT_GOAL]["shape"] == ["B", io.GOAL_DIM]
    assert meta["outputs"][io.OUTPUT_ACTIONS]["shape"] == ["B", io.HORIZON, io.MAX_DOF]
    assert meta["demos"] == ["fake-arm3.npz", "fake-arm6.npz", "fake-arm7.npz"] and meta["trained_at"]
    assert set(meta["metrics"]["per_body"]) == set(meta["embodiments"]) and np.isfinite(meta["val_loss"])
    assert meta["sha256"] == hashlib.sha256(trained.read_bytes()).hexdigest()
    assert meta["metrics"]["export_max_abs_diff"] < 1e-4
    assert meta["opset"] >= 17
    # The model repository accepts it as it is, for every body in its table.
    model_repo.load_sidecar(trained)
    for index in meta["embodiments"].values():
        model_repo.check_onnx(trained, index)
    checkpoint = torch.load(trained.with_suffix(".pt"), weights_only=True)
    assert checkpoint["embodiments"] == meta["embodiments"] and checkpoint["config"]["embodiments"] == 3


def test_training_reports_progress_with_loss_and_eta(demos_dir, tmp_path, capsys):
    assert train.main(["--demos", str(demos_dir / "fake-arm3.npz"), "--out", str(tmp_path / "p.onnx"), *TINY]) == 0
    err = capsys.readouterr().err
    assert "train: step 40/40 loss " in err and " eta 0 s" in err


def test_training_learns_the_demonstrations(demos_dir):
    d = train.load_demos(demos_dir)
    short = train.TrainConfig(steps=5, width=32, depth=1, batch=96)
    longer = train.TrainConfig(steps=150, width=32, depth=1, batch=96)
    _, before = train.train(d, short, progress=False)
    _, after = train.train(d, longer, progress=False)
    assert after["val_loss"] < 0.5 * before["val_loss"]


def test_training_is_deterministic(demos_dir):
    d = train.load_demos(demos_dir)
    config = train.TrainConfig(steps=10, width=32, depth=1, batch=64)
    a, _ = train.train(d, config, progress=False)
    b, _ = train.train(d, config, progress=False)
    for (name, pa), (_, pb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        torch.testing.assert_close(pa, pb, msg=name, rtol=0, atol=0)


def test_files_of_one_body_are_pooled_and_tags_numbered_in_order(tmp_path):
    for name, tag, seed in (("b.npz", "arm-b", 0), ("a.npz", "arm-a", 1), ("b2.npz", "arm-b", 2)):
        np.savez(tmp_path / name, **synthetic_demos(tag, 4, samples=20, seed=seed))
    d = train.load_demos([tmp_path / "b.npz", tmp_path / "a.npz", tmp_path / "b2.npz"])
    assert d.tags == ["arm-b", "arm-a"] and len(d) == 60
    assert (d.embodiment[:20] == 0).all() and (d.embodiment[20:40] == 1).all() and (d.embodiment[40:] == 0).all()
    assert len(np.unique(d.episode)) == 24  # episodes of different files never merge


def good_arrays(n=10):
    return synthetic_demos("rs-arm4", 4, samples=n)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"actions": np.zeros((10, 8, 8), np.float32)},
            "'actions' is float32[10, 8, 8], the policy contract needs float32[10, 16, 8]",
        ),
        ({"state": np.zeros((10, 24), np.float64)}, "'state' is float64[10, 24], the policy contract needs float32[10, 24]"),
        ({"goal": np.zeros((10, 8), np.float32)}, "'goal' is float32[10, 8], the policy contract needs float32[10, 24]"),
        ({"goal": None}, "no array 'goal'"),
        ({"tag": None}, "no 'tag' (one body) or 'embodiment_tags' array"),
        ({"tag": None, "embodiment_tags": np.array(["rs-arm4"]), "embodiment": np.full((10, 1), 3, np.int64)},
         "embodiment indices 3..3 outside the 1 tags ['rs-arm4']"),
        ({"actions": np.full((10, 16, 8), np.nan, np.float32)}, "'actions' holds NaN"),
        ({"goal": np.zeros((10, 24), np.float32)}, "every goal needs exactly one skill flag in columns 16..23"),
        ({"state": np.zeros((10, 24), np.float32)}, "the state's mask part (columns 16..23) must be 0/1 with a joint"),
        ({"tag": np.array("")}, "embodiment tag '' must be 1..128 printable characters"),
    ],
)
def test_cli_rejects_demos_that_do_not_fit_the_contract(tmp_path, capsys, change, message):
    arrays = {**good_arrays(), **change}
    path = tmp_path / "bad.npz"
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})
    with pytest.raises(SystemExit) as exc:
        train.main(["--demos", str(path), "--out", str(tmp_path / "p.onnx")])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "p.onnx").exists()


def test_cli_refuses_to_train_on_a_held_out_body(demos_dir, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        train.main(["--demos", str(demos_dir), "--out", str(tmp_path / "p.onnx"), "--held-out", "fake-arm6,other"])
    assert exc.value.code == 2
    assert "the demonstrations include held-out bodies ['fake-arm6']" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--demos", "nowhere/demos.npz", "--out", "p.onnx"], "nowhere/demos.npz: demonstrations file not found"),
        (["--demos", "empty", "--out", "p.onnx"], "empty: no .npz demonstrations in this directory"),
        (["--demos", "x.npz", "--out", "p.pt"], "--out must end in .onnx"),
        (["--demos", "x.npz", "--out", "p.onnx", "--steps", "0"], "--steps must be >= 1"),
    ],
)
def test_cli_rejects_bad_arguments(tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit) as exc:
        train.main(args)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_cli_rejects_a_file_that_is_not_npz(tmp_path, capsys):
    (tmp_path / "junk.npz").write_text("hello")
    with pytest.raises(SystemExit):
        train.main(["--demos", str(tmp_path / "junk.npz"), "--out", str(tmp_path / "p.onnx")])
    assert "junk.npz: not a readable .npz file" in capsys.readouterr().err
