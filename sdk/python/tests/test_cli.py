import io

from robosoul.v1 import onboarding_pb2 as ob
from robosoul_sdk import cli


def job(**kw):
    base = dict(job_id="j1", robot_id="arm", state=ob.ONBOARDING_STATE_RUNNING, stage=ob.ONBOARDING_STAGE_ADAPT,
                progress=0.5, stage_progress=0.25, eta_s=192, message="epoch 3/12")
    base.update(kw)
    return ob.OnboardingJob(**base)


def test_progress_bar_shows_stage_progress_and_eta():
    out = io.StringIO()
    bar = cli.ProgressBar(out, width=10)
    bar.update(job())
    bar.update(job())  # unchanged: not drawn twice
    line = out.getvalue()
    assert line.count("\n") == 1  # not a terminal: one line per update
    assert "[#####.....]" in line and " 50%" in line and "adapt" in line and "25% of stage" in line
    assert "ETA 3m12s" in line and "epoch 3/12" in line


def test_final_description_includes_the_report_and_the_version():
    text = cli.describe(job(state=ob.ONBOARDING_STATE_SUCCEEDED, model_version="robosoul_policy/4", embodiment_tag="acme.arm",
                            report=ob.EvaluationReport(episodes=100, success_rate=0.96, final_error_p50_m=0.004)))
    assert "SUCCEEDED" in text and "96% success over 100 episodes" in text and "4.0 mm" in text
    assert "robosoul_policy/4" in text and "acme.arm" in text


def test_cli_needs_an_api_key(monkeypatch, capsys):
    monkeypatch.delenv("ROBOSOUL_API_KEY", raising=False)
    assert cli.main(["robots"]) == 2
    assert "ROBOSOUL_API_KEY" in capsys.readouterr().err


def test_missing_model_file_is_a_clear_error(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("ROBOSOUL_API_KEY", "rsk_x")
    assert cli.main(["upload-model", "arm", str(tmp_path / "nope.xml")]) == 2
    assert "cannot read" in capsys.readouterr().err
