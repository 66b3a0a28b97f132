"""``qsearch run`` with workers: errors in one masked line with a non-zero exit; --workers end to end."""

from __future__ import annotations

import subprocess
import sys

import optuna
import pytest
from distributed_helpers import POSTGRES_URL, write_study
from typer.testing import CliRunner

from qsearch.cli import app
from qsearch.record import make_storage

PASSWORD = "pw-s3cret"


def test_unreachable_database_fails_in_one_masked_line(tmp_path):
    study_path = write_study(tmp_path)
    url = f"postgresql://u:{PASSWORD}@127.0.0.1:1/db"
    result = subprocess.run([sys.executable, "-m", "qsearch.cli", "run", str(study_path), "--storage", url,
                             "--total-trials", "5", "--quiet"], capture_output=True, text=True, timeout=60)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert PASSWORD not in output
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    assert lines[0].startswith("qsearch: error:") and "127.0.0.1:1" in lines[0] and "'db'" in lines[0]


def test_parallel_workers_on_sqlite_are_refused_before_anything_runs(tmp_path):
    study_path = write_study(tmp_path)
    db = tmp_path / "study.db"
    result = CliRunner().invoke(app, ["run", str(study_path), "--storage", f"sqlite:///{db}", "--workers", "2"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "SQLite" in lines[0] and "journal:FILE" in lines[0]
    assert not db.exists()


def test_parallel_workers_on_an_unreachable_database_fail_in_one_masked_line(tmp_path):
    study_path = write_study(tmp_path)
    url = f"postgresql://u:{PASSWORD}@127.0.0.1:1/db"
    result = CliRunner().invoke(app, ["run", str(study_path), "--storage", url, "--workers", "3"])
    assert result.exit_code == 2
    assert PASSWORD not in result.output and len(result.output.strip().splitlines()) == 1


def test_grace_period_must_exceed_heartbeat_interval(tmp_path):
    study_path = write_study(tmp_path)
    result = CliRunner().invoke(app, ["run", str(study_path), "--heartbeat-interval", "10", "--grace-period", "5"])
    assert result.exit_code == 2 and "--grace-period" in result.output


@pytest.mark.services
def test_run_with_workers_reports_the_front_once(tmp_path, study_name_on):
    url = POSTGRES_URL
    name = study_name_on(url, "cli-workers")
    study_path = write_study(tmp_path)
    plot = tmp_path / "front.html"
    result = CliRunner().invoke(app, ["run", str(study_path), "--storage", url, "--study-name", name, "--workers", "2",
                                      "--total-trials", "6", "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    assert result.output.count("Pareto front of") == 1 and plot.is_file()
    study = optuna.load_study(study_name=name, storage=make_storage(url, heartbeat_interval=None))
    assert len(study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))) == 6
