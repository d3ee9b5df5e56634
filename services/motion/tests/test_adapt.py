"""Onboarding a never-seen body: adapt() adds one table row and changes nothing else."""

import json

import numpy as np
import onnxruntime as ort
import pytest
import torch

from robosoul_core import policy_io as io
from robosoul_core.errors import AlreadyExists, InvalidArgument
from robosoul_motion import model_repo
from robosoul_motion.training import adapt as adapt_mod
from robosoul_motion.training import train
from robosoul_motion.training.adapt import AdaptConfig, CheckpointError, adapt
from robosoul_motion.training.data import DemosError
from robosoul_motion.training.synthetic import synthetic_demos

BASE_BODIES = (("fake-arm3", 3), ("fake-arm6", 6), ("fake-arm7", 7))
NEW = "acme.arm7"
FAST = AdaptConfig(steps=30, batch=64)
SKILLS = sorted(io.SKILL_SLOTS)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    d = tmp_path_factory.mktemp("demos")
    for i, (tag, dof) in enumerate(BASE_BODIES):
        np.savez(d / f"{tag}.npz", **synthetic_demos(tag, dof, samples=160, seed=i))
    out = tmp_path_factory.mktemp("base") / "policy.onnx"
    args = ["--demos", str(d), "--out", str(out), "--steps", "30", "--width", "32", "--depth", "2", "--held-out", NEW]
    assert train.main(args) == 0
    return out


@pytest.fixture(scope="module")
def new_demos(tmp_path_factory):
    path = tmp_path_factory.mktemp("new") / "new.npz"
    np.savez(path, **synthetic_demos(NEW, 7, samples=200, seed=7))
    return path


@pytest.fixture(scope="module")
def adapted(base, new_demos, tmp_path_factory):
    calls = []
    result = adapt(
        base.with_suffix(".pt"),
        new_demos,
        NEW,
        out_dir=tmp_path_factory.mktemp("adapted"),
        config=FAST,
        progress=lambda fraction, message, eta_s: calls.append((fraction, message, eta_s)),
    )
    return result, calls


@pytest.fixture(scope="module")
def fine_tuned(base, new_demos, tmp_path_factory):
    return adapt(base.with_suffix(".pt"), new_demos, NEW, out_dir=tmp_path_factory.mktemp("ft"), config=FAST, fine_tune=True)


def mixed_batch(n: int, bodies: int, seed: int):
    rng = np.random.default_rng(seed)
    dofs = rng.integers(1, io.MAX_DOF + 1, n)
    return {
        io.INPUT_STATE: np.stack([io.encode_state(rng.uniform(-1, 1, d), rng.uniform(-1, 1, d)) for d in dofs]),
        io.INPUT_GOAL: np.stack([io.encode_goal(SKILLS[i % len(SKILLS)], rng.uniform(-0.5, 0.5, 3), joints=rng.uniform(-1, 1, 2)) for i in range(n)]),
        io.INPUT_EMBODIMENT: rng.integers(0, bodies, (n, 1)).astype(np.int64),
    }


def run(path, feed):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run([io.OUTPUT_ACTIONS], feed)[0]


@pytest.mark.parametrize("which", ["adapted", "fine_tuned"])
def test_existing_bodies_get_bit_for_bit_the_same_actions_from_the_new_onnx(base, adapted, fine_tuned, which):
    result = adapted[0] if which == "adapted" else fine_tuned
    for n, seed in ((1, 0), (5, 1), (64, 2), (300, 3)):
        feed = mixed_batch(n, len(BASE_BODIES), seed)
        np.testing.assert_array_equal(run(result.onnx, feed), run(base, feed))
    # Rows of the new body in the same batch do not disturb the others.
    feed = mixed_batch(32, len(BASE_BODIES) + 1, 4)
    old = feed[io.INPUT_EMBODIMENT][:, 0] < len(BASE_BODIES)
    np.testing.assert_array_equal(run(result.onnx, feed)[old], run(base, {k: v[old] for k, v in feed.items()}))


def test_adapt_adds_exactly_one_row_to_the_table_sidecar_and_checkpoint(base, adapted):
    result, _ = adapted
    before = json.loads(base.with_suffix(".json").read_text())
    after = model_repo.load_sidecar(result.onnx)  # also checks the sha256
    assert after["embodiments"] == {**before["embodiments"], NEW: 3} and result.index == 3 and result.tag == NEW
    assert after["bodies"][NEW]["origin"] == "adapted" and after["bodies"][NEW]["dof"] == 7
    assert {k: after["bodies"][k] for k in before["bodies"]} == before["bodies"]
    assert after["held_out"] == [NEW] and after["architecture"]["embodiments"] == 4
    assert after["metrics"]["adapt"][NEW]["export_max_abs_diff"] < 1e-4
    model_repo.check_onnx(result.onnx, 3)
    ckpt = torch.load(result.checkpoint, weights_only=True)
    assert ckpt["embodiments"] == after["embodiments"] and ckpt["config"]["embodiments"] == 4
    assert [h["event"] for h in ckpt["history"]] == ["train", "adapt"]
    # The new body is served by its own adapter: not a copy of the one it started from.
    feed = mixed_batch(8, 1, 5)
    feed[io.INPUT_EMBODIMENT][:] = 3
    new_out = run(result.onnx, feed)
    init_from = after["embodiments"][result.metrics["init_from"]]
    feed[io.INPUT_EMBODIMENT][:] = init_from
    assert not np.allclose(new_out, run(result.onnx, feed))


def test_adapter_only_leaves_the_trunk_correction_at_zero_and_fine_tune_trains_it(adapted, fine_tuned):
    plain = torch.load(adapted[0].checkpoint, weights_only=True)["state_dict"]
    tuned = torch.load(fine_tuned.checkpoint, weights_only=True)["state_dict"]
    assert torch.all(plain["body.lora0_b"][3] == 0)
    assert torch.any(tuned["body.lora0_b"][3] != 0)
    assert fine_tuned.metrics["trained_parameters"] > adapted[0].metrics["trained_parameters"]
    for key in plain:
        if not key.startswith(("body.", "feature_", "delta_")):
            assert torch.equal(plain[key], tuned[key]), key  # the shared trunk never moves


def test_adapt_reports_progress_from_start_to_finish(adapted):
    result, calls = adapted
    fractions = [c[0] for c in calls]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0 and fractions == sorted(fractions)
    assert len(calls) >= 4
    assert all(isinstance(m, str) and m for _, m, _ in calls) and all(eta >= 0 for *_, eta in calls)
    assert any("step 30/30" in m for _, m, _ in calls)
    assert result.metrics["val_loss"] < result.metrics["init_loss"]


def test_adapt_is_deterministic_for_a_seed(base, new_demos, tmp_path):
    a = adapt(base.with_suffix(".pt"), new_demos, NEW, out_dir=tmp_path / "a", config=FAST, seed=5)
    b = adapt(base.with_suffix(".pt"), new_demos, NEW, out_dir=tmp_path / "b", config=FAST, seed=5)
    sa, sb = (torch.load(r.checkpoint, weights_only=True)["state_dict"] for r in (a, b))
    for key in sa:
        assert torch.equal(sa[key], sb[key]), key


def test_an_adapted_policy_can_be_adapted_again_without_touching_earlier_bodies(adapted, tmp_path):
    first, _ = adapted
    demos = tmp_path / "second.npz"
    np.savez(demos, **synthetic_demos("acme.arm5", 5, samples=64, seed=9))
    second = adapt(first.checkpoint, demos, "acme.arm5", out_dir=tmp_path / "second", config=FAST)
    assert second.index == 4
    feed = mixed_batch(40, 4, 6)
    np.testing.assert_array_equal(run(second.onnx, feed), run(first.onnx, feed))


def test_bad_inputs_get_precise_errors(base, new_demos, tmp_path):
    ckpt = base.with_suffix(".pt")
    with pytest.raises(CheckpointError, match=r"nowhere\.pt: base checkpoint not found"):
        adapt(tmp_path / "nowhere.pt", new_demos, NEW, out_dir=tmp_path)
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match=r"junk\.pt: not a readable torch checkpoint"):
        adapt(tmp_path / "junk.pt", new_demos, NEW, out_dir=tmp_path)
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match=r"other\.pt: not a generalist checkpoint \(format None"):
        adapt(tmp_path / "other.pt", new_demos, NEW, out_dir=tmp_path)
    with pytest.raises(AlreadyExists, match=r"embodiment 'fake-arm6' is already in .*policy\.pt's table \(index 1\)"):
        adapt(ckpt, new_demos, "fake-arm6", out_dir=tmp_path)
    with pytest.raises(InvalidArgument, match="embodiment tag '' must be"):
        adapt(ckpt, new_demos, "", out_dir=tmp_path)
    with pytest.raises(DemosError, match=r"are of \['acme.arm7'\]; adapting 'acme.arm8' needs demonstrations of 'acme.arm8' only"):
        adapt(ckpt, new_demos, "acme.arm8", out_dir=tmp_path)
    wrong = {**synthetic_demos(NEW, 7, samples=10), "goal": np.zeros((10, 8), np.float32)}
    np.savez(tmp_path / "wrong.npz", **wrong)
    with pytest.raises(DemosError, match=r"'goal' is float32\[10, 8\], the policy contract needs float32\[10, 24\]"):
        adapt(ckpt, tmp_path / "wrong.npz", NEW, out_dir=tmp_path)
    np.savez(tmp_path / "other-body.npz", **synthetic_demos("acme.arm5", 5, samples=10))
    with pytest.raises(DemosError, match=r"are of \['acme.arm7', 'acme.arm5'\]"):
        adapt(ckpt, [new_demos, tmp_path / "other-body.npz"], NEW, out_dir=tmp_path)
    with pytest.raises(InvalidArgument, match="steps must be >= 1, got 0"):
        adapt(ckpt, new_demos, NEW, out_dir=tmp_path, steps=0)
    assert not (tmp_path / "policy.onnx").exists()


def test_cli_adapts_and_rejects_bad_arguments(base, new_demos, tmp_path, capsys):
    out = tmp_path / "cli"
    args = ["--base", str(base.with_suffix(".pt")), "--demos", str(new_demos), "--tag", NEW, "--out", str(out), "--steps", "5"]
    assert adapt_mod.main(args) == 0
    err = capsys.readouterr().err
    assert "100.0 %" in err and f"wrote {out / 'policy.onnx'} ({NEW} at index 3" in err
    assert json.loads((out / "policy.json").read_text())["embodiments"][NEW] == 3
    with pytest.raises(SystemExit) as exc:
        adapt_mod.main([*args[:5], "fake-arm3", *args[6:]])
    assert exc.value.code == 2 and "embodiment 'fake-arm3' is already in" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        adapt_mod.main([*args[:-1], "0"])
    assert exc.value.code == 2 and "--steps must be >= 1" in capsys.readouterr().err
