"""Every package builds as a wheel with what it needs inside (a Dockerfile or a
vendor's `pip install` gets exactly this)."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PACKAGES = {
    "libs/core": ["robosoul/v1/session_pb2.py", "robosoul/v1/robot_service_pb2_grpc.py", "robosoul/bus/v1/motion_pb2.py", "robosoul_core/bus.py"],
    "sdk/python": ["robosoul_sdk/session.py", "robosoul_sdk/executor.py"],
    "services/gateway": ["robosoul_gateway/__main__.py", "robosoul_gateway/admin.py"],
    "services/motion": ["robosoul_motion/__main__.py", "robosoul_motion/triton_model/model.py"],
    "services/simulation": ["robosoul_simulation/models/rs_arm4.xml", "robosoul_simulation/virtual_robot.py"],
    "services/language": ["robosoul_language/__main__.py", "robosoul_language/llm_server.py"],
    "services/voice": ["robosoul_voice/__main__.py", "robosoul_voice/stream.py", "robosoul_voice/completeness.py"],
    "services/perception": ["robosoul_perception/__main__.py", "robosoul_perception/people_worker.py"],
    "libs/devstack": ["robosoul_devstack/stack.py", "robosoul_devstack/virtual_audio.py"],
}


@pytest.fixture(scope="module")
def wheels(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("wheels")
    built = {}
    for package in PACKAGES:
        done = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(ROOT / package)],
            capture_output=True, text=True,
        )
        assert done.returncode == 0, f"{package}: {done.stderr[-2000:]}"
        name = Path(package).name if package != "sdk/python" else "sdk"
        built[package] = next(p for p in out.glob("robosoul_*.whl") if name in p.name)
    return built


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_wheel_contains_its_modules_and_no_tests(wheels, package):
    names = zipfile.ZipFile(wheels[package]).namelist()
    for required in PACKAGES[package]:
        assert required in names, f"{package} wheel lacks {required}"
    assert not [n for n in names if "/tests/" in n or n.startswith("tests/")]


def test_generated_protocol_code_ships_only_in_core(wheels):
    for package, wheel in wheels.items():
        has_protocol = any(n.startswith("robosoul/") for n in zipfile.ZipFile(wheel).namelist())
        assert has_protocol == (package == "libs/core"), package


def test_every_service_has_a_dockerfile_and_entrypoint():
    for service in ("gateway", "motion", "simulation", "language", "voice", "perception"):
        dockerfile = (ROOT / "services" / service / "Dockerfile").read_text()
        assert "ENTRYPOINT" in dockerfile and "libs/core" in dockerfile
        assert "USER 10001" in dockerfile  # never root
