"""The committed protocol code is exactly what proto/ generates (make proto)."""

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PROTOC_PYTHON = ROOT / ".venv-protoc" / "bin" / "python"


def test_regenerating_the_protocol_code_changes_nothing():
    assert PROTOC_PYTHON.exists(), "the protoc tool environment is missing: run `make proto-check` (make test does)"
    done = subprocess.run([str(PROTOC_PYTHON), str(ROOT / "tools" / "protogen.py"), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_proto_has_its_generated_module():
    protos = sorted((ROOT / "proto").rglob("*.proto"))
    assert protos
    for proto in protos:
        module = ROOT / "libs/core/src" / proto.relative_to(ROOT / "proto").with_name(proto.stem + "_pb2.py")
        assert module.exists(), f"{proto} has no generated {module}"


def test_no_pickle_on_any_wire():
    """No module of the platform deserialises with pickle (LeRobot's CVE) or allows it in numpy."""
    offenders = []
    for path in ROOT.glob("*/**/src/**/*.py"):
        text = path.read_text(errors="replace")
        if "import pickle" in text or "pickle.loads" in text or "allow_pickle=True" in text:
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == [], offenders
