import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from robosoul.v1 import onboarding_pb2
from robosoul_core import policy_io as io
from robosoul_core.errors import InvalidArgument, NotFound
from robosoul_simulation import evaluate
from robosoul_simulation.evaluate import EvalConfig, ExpertPolicy, OnnxPolicy, evaluate_policy


def hold_policy(path, embodiments=None):
    """An ONNX policy that always holds the observed position (it never reaches)."""
    consts = {
        "starts": np.array([0], np.int64),
        "ends": np.array([io.MAX_DOF], np.int64),
        "axes": np.array([1], np.int64),
        "expand": np.array([1, io.HORIZON, 1], np.int64),
    }
    nodes = [
        helper.make_node("Slice", [io.INPUT_STATE, "starts", "ends", "axes"], ["q"]),
        helper.make_node("Unsqueeze", ["q", "axes"], ["q1"]),
        helper.make_node("Expand", ["q1", "expand"], [io.OUTPUT_ACTIONS]),
    ]
    graph = helper.make_graph(
        nodes,
        "hold",
        [
            helper.make_tensor_value_info(io.INPUT_STATE, TensorProto.FLOAT, ["B", io.STATE_DIM]),
            helper.make_tensor_value_info(io.INPUT_GOAL, TensorProto.FLOAT, ["B", io.GOAL_DIM]),
            helper.make_tensor_value_info(io.INPUT_EMBODIMENT, TensorProto.INT64, ["B", 1]),
        ],
        [helper.make_tensor_value_info(io.OUTPUT_ACTIONS, TensorProto.FLOAT, ["B", io.HORIZON, io.MAX_DOF])],
        [numpy_helper.from_array(v, k) for k, v in consts.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    if embodiments is not None:
        path.with_suffix(".json").write_text(json.dumps({"embodiments": embodiments}))
    return path


def test_the_expert_succeeds_in_closed_loop_on_randomised_robots():
    report = evaluate_policy(ExpertPolicy(), "rs-arm4", EvalConfig(episodes=8, seed=2))
    assert report.success_rate == 1.0
    assert report.final_error_mm["max"] < 5
    assert report.limit_violations == {"commanded": 0, "measured": 0}
    assert report.mean_jerk > 0
    assert report.failures == []
    assert report.tracking_error_m == 0  # the expert is its own reference
    assert "success" in report.table() and "reach" in report.by_skill


def test_every_skill_is_graded_and_the_report_fills_the_protocol():
    report = evaluate_policy(ExpertPolicy(), "gen-s6-4dof-grip", skills=("reach", "pose", "path", "grasp"), episodes=1, workers=2)
    assert set(report.by_skill) == {"reach", "pose", "path", "grasp"}
    assert report.episodes == 4
    assert report.success_rate == 1.0
    proto = report.to_proto()
    assert isinstance(proto, onboarding_pb2.EvaluationReport)
    assert proto.episodes == 4 and proto.success_rate == pytest.approx(report.success_rate)
    assert dict(proto.success_by_skill) == {s: r.success_rate for s, r in report.by_skill.items()}
    assert proto.final_error_p50_m == pytest.approx(report.final_error_mm["p50"] / 1000)
    assert proto.mean_jerk == pytest.approx(report.mean_jerk)


def test_a_policy_that_never_moves_fails_and_the_report_says_where(tmp_path):
    path = hold_policy(tmp_path / "hold.onnx", {"rs-arm4": 0})
    report = evaluate_policy(path, "rs-arm4", episodes=5, seed=1, workers=2, randomize=False, config=EvalConfig(episode_s=0.5))
    assert report.success_rate == 0.0
    assert report.final_error_mm["p50"] > 20
    assert len(report.failures) == 5 and report.failures[0]["final_error_mm"] > 20
    assert report.mean_jerk == pytest.approx(0, abs=1.0)
    # The expert reaches where the policy stands still: the tool tips part ways.
    assert report.tracking_error_m > 0.02
    assert report.by_skill["reach"].expert_success_rate is not None
    assert report.inference_ms["p50"] > 0


def test_an_in_process_policy_and_the_older_call_still_work(tmp_path):
    policy = OnnxPolicy(hold_policy(tmp_path / "hold.onnx", {"rs-arm4": 0}), "rs-arm4")
    report = evaluate_policy(policy, "rs-arm4", EvalConfig(episodes=2, episode_s=0.3, compare_expert=False))
    assert report.episodes == 2 and report.success_rate == 0.0


def test_same_seed_same_episodes():
    a = evaluate_policy(ExpertPolicy(), "rs-arm4", EvalConfig(episodes=3, seed=4, episode_s=0.6))
    b = evaluate_policy(ExpertPolicy(), "rs-arm4", EvalConfig(episodes=3, seed=4, episode_s=0.6), workers=2)
    assert a.final_error_mm == b.final_error_mm


def test_the_embodiment_index_comes_from_the_sidecar(tmp_path):
    path = hold_policy(tmp_path / "policy.onnx", {"rs-arm4": 0, "gym-pusher": 3})
    assert evaluate.sidecar_index(path, "gym-pusher") == 3
    other = tmp_path / "v2"
    other.mkdir()
    (other / "model.onnx").write_bytes(path.read_bytes())
    (other / "policy.json").write_text(json.dumps({"embodiments": {"gym-reacher": 5}}))
    assert evaluate.sidecar_index(other / "model.onnx", "gym-reacher") == 5
    assert evaluate.sidecar_index(tmp_path / "empty" / "nowhere.onnx", "x") == 0


def test_policy_loading_errors_are_precise(tmp_path):
    with pytest.raises(NotFound, match="policy file not found"):
        OnnxPolicy(tmp_path / "missing.onnx", "rs-arm4")
    path = hold_policy(tmp_path / "other.onnx", {"rs-arm6": 0})
    with pytest.raises(InvalidArgument, match=r"does not serve embodiment 'rs-arm4' \(it serves \['rs-arm6'\]\)"):
        OnnxPolicy(path, "rs-arm4")
    (tmp_path / "junk.onnx").write_bytes(b"not onnx")
    with pytest.raises(InvalidArgument, match="onnxruntime cannot load it"):
        OnnxPolicy(tmp_path / "junk.onnx", "rs-arm4")


def test_cli_exit_status_follows_min_success(tmp_path, capsys):
    path = hold_policy(tmp_path / "hold.onnx", {"rs-arm4": 0})
    report_path = tmp_path / "report.json"
    code = evaluate.main(["--policy", str(path), "--episodes", "3", "--json", str(report_path), "--workers", "1"])
    assert code == 1
    captured = capsys.readouterr()
    assert "success" in captured.out and "FAIL: success 0.0 % < 90.0 %" in captured.err
    report = json.loads(report_path.read_text())
    assert report["episodes"] == 3 and report["success_rate"] == 0.0
    assert evaluate.main(["--policy", str(path), "--episodes", "2", "--min-success", "0", "--workers", "1"]) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--embodiment", "rs-arm9", "--expert"], "unknown embodiment tag 'rs-arm9'"),
        (["--policy", "nowhere/policy.onnx"], "nowhere/policy.onnx: policy file not found"),
        (["--expert", "--episodes", "0"], "--episodes must be >= 1"),
        (["--expert", "--min-success", "2"], "--min-success must be in [0, 1]"),
        (["--expert", "--workers", "0"], "--workers must be >= 1"),
        (["--expert", "--embodiment", "rs-arm4", "--skills", "grasp"], "can do none of the skills ['grasp']"),
    ],
)
def test_cli_rejects_bad_input(capsys, args, message):
    with pytest.raises(SystemExit) as exc:
        evaluate.main(args)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err
