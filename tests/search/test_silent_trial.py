"""A network whose threshold is so high it never spikes is stopped early, pruned and recorded as silent."""

from __future__ import annotations

import optuna
from study_fixtures import tiny_study_dict

from qsearch.results import engine_for, load_results
from qsearch.search import run_study
from qsearch.studyfile import parse_study


def test_never_spiking_network_is_pruned_as_silent(sqlite_url):
    study_file = parse_study(tiny_study_dict(
        model={"hidden": [16], "neuron": {"v_th": 1e6}},
        training={"epochs": 5, "batch_size": 64},
        early_stopping={"silent": {"grace_epochs": 0, "check_every": 128, "max_silent_fraction": 0.5}},
    ))
    study = run_study(study_file, sqlite_url, "silent", n_trials=2)
    assert all(t.state == optuna.trial.TrialState.PRUNED for t in study.trials)
    assert all(t.user_attrs["reason"] == "silent" for t in study.trials)
    assert all(t.user_attrs["epochs_run"] == 1 for t in study.trials)  # stopped inside the first of 5 epochs
    rows = load_results(engine_for(sqlite_url), "silent")
    assert [r["state"] for r in rows] == ["PRUNED", "PRUNED"]
    assert all(r["silent"] and r["reason"] == "silent" and r["accuracy"] is None for r in rows)
