"""Publishing policies into a Triton model repository (no server needed)."""

from __future__ import annotations

import json
import shutil

import onnx
import pytest
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2

from robosoul_core import policy_io as io
from robosoul_core.errors import InvalidArgument
from robosoul_motion.model_repo import (
    DEFAULT_MAX_QUEUE_DELAY_US,
    DEFAULT_MODEL_NAME,
    MODEL_FILE,
    PolicyPackageError,
    main,
    publish,
    render_config,
    versions,
)


def _parse(text: str) -> model_config_pb2.ModelConfig:
    return text_format.Parse(text, model_config_pb2.ModelConfig())


def test_config_is_valid_triton_config_from_the_contract():
    config = _parse(render_config("robosoul_policy", {"rs-arm4": 0, 'odd "name"\\': 3}, instances=2, ort_threads=2))
    assert config.backend == "python" and config.max_batch_size == 64
    inputs = {i.name: (i.data_type, list(i.dims)) for i in config.input}
    assert inputs == {
        io.INPUT_STATE: (model_config_pb2.TYPE_FP32, [io.STATE_DIM]),
        io.INPUT_GOAL: (model_config_pb2.TYPE_FP32, [io.GOAL_DIM]),
        io.INPUT_EMBODIMENT: (model_config_pb2.TYPE_INT64, [1]),
    }
    (output,) = config.output
    assert (output.name, output.data_type, list(output.dims)) == (
        io.OUTPUT_ACTIONS,
        model_config_pb2.TYPE_FP32,
        [io.HORIZON, io.MAX_DOF],
    )
    assert config.dynamic_batching.max_queue_delay_microseconds == DEFAULT_MAX_QUEUE_DELAY_US
    assert list(config.dynamic_batching.preferred_batch_size) == [16, 32, 64]
    (group,) = config.instance_group
    assert group.count == 2 and group.kind == model_config_pb2.ModelInstanceGroup.KIND_CPU
    assert config.version_policy.latest.num_versions == 1
    # The JSON survives pbtxt quoting, odd characters included.
    assert json.loads(config.parameters["embodiments"].string_value) == {"rs-arm4": 0, 'odd "name"\\': 3}
    assert config.parameters["ort_intra_op_threads"].string_value == "2"


def test_the_triton_model_knows_the_contracts_embodiment_input():
    # model.py runs inside Triton's stub and cannot import policy_io.
    assert f'EMBODIMENT_INPUT = "{io.INPUT_EMBODIMENT}"' in MODEL_FILE.read_text()


def test_config_rejects_nonsense():
    with pytest.raises(InvalidArgument):
        render_config("m", {"a": 0}, max_batch_size=0)
    with pytest.raises(InvalidArgument):
        render_config("m", {"a": 0}, max_queue_delay_us=-1)


def test_publish_writes_versions_in_order_and_never_overwrites(tmp_path, policy_v1, policy_v2):
    repo = tmp_path / "repo"
    assert publish(repo, policy_v1) == 1
    assert publish(repo, policy_v2, max_queue_delay_us=0) == 2
    model_dir = repo / DEFAULT_MODEL_NAME
    assert versions(model_dir) == [1, 2]
    for version, src in ((1, policy_v1), (2, policy_v2)):
        d = model_dir / str(version)
        assert sorted(p.name for p in d.iterdir()) == ["model.py", "policy.json", "policy.onnx"]
        assert (d / "policy.onnx").read_bytes() == src.read_bytes()
        assert (d / "model.py").read_bytes() == MODEL_FILE.read_bytes()
        assert len(json.loads((d / "policy.json").read_text())["sha256"]) == 64
    # The config follows the latest publish; nothing is left in staging.
    assert _parse((model_dir / "config.pbtxt").read_text()).dynamic_batching.max_queue_delay_microseconds == 0
    assert not [p for p in model_dir.iterdir() if p.name.startswith(".")]

    with pytest.raises(InvalidArgument, match="already published"):
        publish(repo, policy_v1, version=2)
    assert publish(repo, policy_v1, version=7) == 7
    assert publish(repo, policy_v1) == 8


def test_publish_refuses_packages_that_break_the_contract(tmp_path, policy_v1):
    repo = tmp_path / "repo"
    work = tmp_path / "bad"
    work.mkdir()

    def variant(name: str, sidecar: dict | None = None, onnx_model=None):
        onnx_path = work / f"{name}.onnx"
        if onnx_model is None:
            shutil.copyfile(policy_v1, onnx_path)
        else:
            onnx.save(onnx_model, str(onnx_path))
        meta = json.loads(policy_v1.with_suffix(".json").read_text())
        if sidecar is not None:
            meta.update(sidecar)
        onnx_path.with_suffix(".json").write_text(json.dumps(meta))
        return onnx_path

    with pytest.raises(PolicyPackageError, match="horizon"):
        publish(repo, variant("horizon", {"horizon": 10}))
    with pytest.raises(PolicyPackageError, match="sha256"):
        publish(repo, variant("sha", {"sha256": "0" * 64}))
    with pytest.raises(PolicyPackageError, match="embodiments"):
        publish(repo, variant("table", {"embodiments": {}}))
    missing = variant("nosidecar")
    missing.with_suffix(".json").unlink()
    with pytest.raises(PolicyPackageError, match="sidecar is missing"):
        publish(repo, missing)

    model = onnx.load(str(policy_v1))
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_value = 1  # a fixed batch of 1
    with pytest.raises(PolicyPackageError, match="dynamic batch"):
        publish(repo, variant("fixed", onnx_model=model))
    model = onnx.load(str(policy_v1))
    model.graph.input[1].name = "target"
    model.graph.node[0].input[1] = "target"
    with pytest.raises(PolicyPackageError, match="no input 'goal'"):
        publish(repo, variant("renamed", onnx_model=model))
    with pytest.raises(PolicyPackageError, match="cannot load"):
        (work / "junk.onnx").write_bytes(b"not onnx")
        shutil.copyfile(policy_v1.with_suffix(".json"), work / "junk.json")
        publish(repo, work / "junk.onnx")

    # Validation comes before any write: the repository was not even created.
    assert not repo.exists()


def test_cli_publishes(tmp_path, policy_v1, capsys):
    repo = tmp_path / "repo"
    assert main(["publish", "--repo", str(repo), "--onnx", str(policy_v1), "--max-queue-delay-us", "250"]) == 0
    assert "version 1" in capsys.readouterr().out
    config = _parse((repo / DEFAULT_MODEL_NAME / "config.pbtxt").read_text())
    assert config.dynamic_batching.max_queue_delay_microseconds == 250
    assert main(["publish", "--repo", str(repo), "--onnx", str(tmp_path / "missing.onnx")]) == 2
    assert "sidecar is missing" in capsys.readouterr().err


def test_the_checkpoint_travels_with_its_version_and_the_newest_is_found(tmp_path, policy_v1):
    from robosoul_motion.model_repo import latest_version_dir

    repo = tmp_path / "repo"
    assert latest_version_dir(repo) is None
    source = tmp_path / "src"
    source.mkdir()
    for name in ("policy.onnx", "policy.json"):
        shutil.copyfile(policy_v1.with_name(name), source / name)
    (source / "policy.pt").write_bytes(b"checkpoint")
    publish(repo, source / "policy.onnx")
    publish(repo, source / "policy.onnx")
    newest = latest_version_dir(repo)
    assert newest.name == "2" and (newest / "policy.pt").read_bytes() == b"checkpoint"
