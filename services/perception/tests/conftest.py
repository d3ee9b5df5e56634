"""Fixtures: a tabletop camera, and the mediapipe environment with its test photos.

The people tests run the real worker in `.venv-perception`; they fail (not skip) when
that environment is missing, saying how to make it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[3]
MAKE_ENV = (
    "the mediapipe environment .venv-perception is missing: run `make perception-env` "
    "(or: /usr/bin/python3.11 -m venv .venv-perception && .venv-perception/bin/pip install -r requirements/perception.txt)"
)


@pytest.fixture
def table_camera():
    from robosoul_core.camera import PinholeCamera

    return PinholeCamera.look_at((0.0, 0.0, 0.6), (0.5, 0.0, 0.0), width=640, height=480, fov_y_deg=55, name="head")


@pytest.fixture(scope="session")
def worker_python() -> Path:
    python = ROOT / ".venv-perception" / "bin" / "python"
    if not python.exists():
        pytest.fail(MAKE_ENV, pytrace=False)
    return python


@pytest.fixture(scope="session")
def photo(worker_python):
    """skimage.data photos by name, as uint8 RGB (read from the mediapipe environment's scikit-image)."""
    found = subprocess.run(
        [str(worker_python), "-c", "import os, skimage.data; print(os.path.dirname(skimage.data.__file__))"],
        capture_output=True, text=True, check=False,
    )
    if found.returncode != 0:
        pytest.fail(f"scikit-image is missing from .venv-perception ({found.stderr.strip()[-200:]}); {MAKE_ENV}", pytrace=False)
    data = Path(found.stdout.strip())

    def load(name: str) -> np.ndarray:
        image = cv2.imread(str(data / f"{name}.png"), cv2.IMREAD_COLOR)
        assert image is not None, f"no {name}.png in {data}"
        return np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))

    return load
