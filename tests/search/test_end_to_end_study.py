"""A tiny real study (few trials, one short epoch) on a temporary SQLite file, reopened to check the record."""

from __future__ import annotations

import optuna
import pytest
from study_fixtures import tiny_study_dict

from qsearch.execution import run_study
from qsearch.record import make_storage
from qsearch.results import engine_for, load_results
from qsearch.search import BASELINE_ATTR
from qsearch.studyfile import parse_study


@pytest.fixture(scope="module")
def finished_study(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('e2e') / 'study.db'}"
    study_file = parse_study(tiny_study_dict(n_trials=3))
    run_study(study_file, url, "tiny", n_trials=3)
    return url, study_file


def test_study_reopened_from_sqlite_holds_baseline_and_trials(finished_study):
    url, _ = finished_study
    study = optuna.load_study(study_name="tiny", storage=make_storage(url, heartbeat_interval=None))
    trials = study.get_trials()
    assert len(trials) == 3
    assert trials[0].user_attrs[BASELINE_ATTR] is True
    assert trials[0].user_attrs["config"]["scheme"] == "float"
    assert study.metric_names == ["accuracy_pct", "memory_kib"]
    for trial in trials:
        assert trial.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
        assert "config" in trial.user_attrs


def test_results_table_matches_optuna_record(finished_study):
    url, _ = finished_study
    study = optuna.load_study(study_name="tiny", storage=make_storage(url, heartbeat_interval=None))
    rows = {r["trial_number"]: r for r in load_results(engine_for(url), "tiny")}
    assert set(rows) == {t.number for t in study.trials}
    baseline = rows[0]
    assert baseline["is_baseline"] and baseline["scheme"] == "float" and baseline["compression_ratio"] == 1.0
    assert baseline["feasible"] is False  # the baseline is a reference, never a candidate
    assert baseline["accuracy"] > 60  # the tiny network learns: the comparison below is not vacuous
    assert any(r["state"] == "COMPLETE" and not r["is_baseline"] for r in rows.values())
    for trial in study.get_trials(states=[optuna.trial.TrialState.COMPLETE]):
        row = rows[trial.number]
        assert row["accuracy"] == pytest.approx(trial.values[0])
        assert row["memory_kib"] == pytest.approx(trial.values[1])
        assert row["accuracy_drop"] == pytest.approx(baseline["accuracy"] - row["accuracy"])
        if not row["is_baseline"]:
            assert row["memory_bits"] < baseline["memory_bits"]
            assert row["compression_ratio"] == pytest.approx(baseline["memory_bits"] / row["memory_bits"])
            assert trial.params["weight_bits"] == int(row["weight_bits"].split("/")[0])


def test_running_again_continues_the_same_study(finished_study):
    url, study_file = finished_study
    study = run_study(study_file, url, "tiny", n_trials=1)
    assert len(study.trials) == 4
    assert sum(1 for t in study.trials if t.user_attrs.get(BASELINE_ATTR)) == 1
