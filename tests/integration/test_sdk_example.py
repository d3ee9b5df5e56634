"""The README's vendor example runs as written against the running platform."""

import ast
import os
import subprocess
import sys

from .conftest import ROOT

EXAMPLE = ROOT / "sdk/python/examples/minimal_robot.py"


def test_minimal_robot_example_runs_and_moves(stack, keys):
    assert len(EXAMPLE.read_text().splitlines()) < 60
    env = dict(os.environ, ROBOSOUL_URL=stack.gateway_target, ROBOSOUL_API_KEY=keys["alpha"])
    done = subprocess.run([sys.executable, str(EXAMPLE)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    line = next(line for line in done.stdout.splitlines() if line.startswith("joints:"))
    joints_text, _, summary_text = line.removeprefix("joints: ").partition("] ")
    joints = [float(v) for v in joints_text.strip("[ ").split()]
    summary = ast.literal_eval(summary_text)
    assert max(abs(v) for v in joints) > 0.05, "the arm never moved"
    assert summary["chunks"] > 10 and summary["errors"] == {}
