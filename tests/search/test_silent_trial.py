"""A silent float baseline stops the study at once, with one line naming the layer, its rate and the remedy."""

from __future__ import annotations

import optuna
import pytest
import yaml
from study_fixtures import tiny_study_dict

from qsearch.errors import QsearchError
from qsearch.execution import run_study
from qsearch.results import engine_for, load_results
from qsearch.studyfile import parse_study
from qsearch.trial import BaselineError


def _silent_study():
    return parse_study(tiny_study_dict(
        model={"hidden": [16], "weight_scale": 1.0, "neuron": {"v_th": 1e6}},
        training={"epochs": 5, "batch_size": 64},
        early_stopping={"silent": {"grace_epochs": 0, "check_every": 128, "max_silent_fraction": 0.5}},
    ))


def test_silent_baseline_stops_the_study_with_one_line_and_no_further_trial(sqlite_url):
    with pytest.raises(BaselineError) as caught:
        run_study(_silent_study(), sqlite_url, "silent", n_trials=5)
    message = str(caught.value)
    assert isinstance(caught.value, QsearchError) and "\n" not in message
    assert message.startswith("baseline: silent network, layer 1 of 2 (hidden) fires 0.0000 spikes")
    assert "chance" in message and "model.weight_scale" in message
    study = optuna.load_study(study_name="silent", storage=sqlite_url)
    assert len(study.trials) == 1  # the database holds the baseline only: trials 1..4 were never created
    baseline = study.trials[0]
    assert baseline.state == optuna.trial.TrialState.PRUNED
    assert baseline.user_attrs["reason"] == "silent_baseline"
    assert baseline.user_attrs["baseline_failure"] == message
    assert baseline.user_attrs["reference"]["validation"] > 80  # the data is learnable: the network is at fault
    rows = load_results(engine_for(sqlite_url), "silent")
    assert [(r["state"], r["reason"], r["silent"]) for r in rows] == [("PRUNED", "silent_baseline", True)]


def test_qsearch_run_exits_2_with_the_diagnosis_and_a_rerun_runs_nothing(tmp_path, sqlite_url):
    from typer.testing import CliRunner

    from qsearch.cli import app

    path = tmp_path / "silent.yaml"
    path.write_text(yaml.safe_dump(_silent_study().model_dump(mode="json")))
    command = ["run", str(path), "--storage", sqlite_url, "--study-name", "cli-silent", "--n-trials", "4", "--quiet",
               "--no-report"]
    for _ in range(2):  # the second run finds the failed baseline and starts no trial
        result = CliRunner().invoke(app, command)
        assert result.exit_code == 2, result.output
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert len(lines) == 1 and "baseline: silent network, layer 1 of 2" in lines[0]
        assert len(optuna.load_study(study_name="cli-silent", storage=sqlite_url).trials) == 1
