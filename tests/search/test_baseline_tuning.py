"""A float baseline worth compressing: the study tunes it on data the defaults do not fit, or stops in one line;
the tuning is a study of its own that resumes after Ctrl-C and whose settings every later read applies."""

from __future__ import annotations

import math
import signal

import numpy as np
import optuna
import pytest
from benchmark_modules import load_benchmark
from study_fixtures import tiny_study_dict

from qsearch.errors import QsearchError
from qsearch.execution import Interrupted, StopGate, run_study
from qsearch.execution._baseline import settle_baseline
from qsearch.record import keys, read_study
from qsearch.search import open_study
from qsearch.search._baseline_tuning import FILE_SETTINGS_ATTR, tuning_study_name
from qsearch.studyfile import parse_study
from qsearch.trial import BaselineError, run_trial


def hard_signals(path):
    """600 signals whose class is in their shape, not their amplitude (``benchmarks/float_baseline.py``)."""
    x, y = load_benchmark("float_baseline").shape_signals(n=600, classes=6)
    np.savez(path, x=x, y=y)
    return path


def _hard_study(tmp_path, **tune):
    npz = hard_signals(tmp_path / "hard.npz")
    return parse_study(tiny_study_dict(
        dataset={"name": "npz", "path": str(npz), "seed": 0, "encoding": {"kind": "regular"}},
        model={"hidden": [16]}, training={"epochs": 3, "batch_size": 32, "learning_rate": 0.01, "qat_epochs": 1},
        baseline={"tune": {"trials": 4, **tune}}))


def test_on_data_the_defaults_do_not_fit_the_study_tunes_then_stops_in_one_line_and_publishes_no_front(tmp_path):
    url = f"sqlite:///{tmp_path / 'hard.db'}"
    study_file = _hard_study(tmp_path)
    with pytest.raises(BaselineError) as caught:
        run_study(study_file, url, "hard", n_trials=4)
    message = str(caught.value)
    assert isinstance(caught.value, QsearchError) and "\n" not in message
    assert message.startswith("baseline: far below a non-spiking network")
    assert "after tuning (4 settings tried in study 'hard:baseline-tune')" in message
    assert "baseline.min_reference_share" in message and "dataset.encoding.kind" in message
    tuning = optuna.load_study(study_name=tuning_study_name("hard"), storage=url)
    finished = [t for t in tuning.trials if t.state.name in ("COMPLETE", "PRUNED")]
    assert len(finished) == 4 and finished[0].user_attrs.get(FILE_SETTINGS_ATTR)  # the file's settings first
    recorded = read_study(url, "hard")
    assert [r.trial_number for r in recorded.rows] == [0]  # the baseline only: no quantized trial, no front
    assert recorded.rows[0].state == "PRUNED" and recorded.baseline_check["short"]
    assert recorded.baseline_tuning["outcome"] == "tuned" and recorded.baseline_tuning["trials"] == 4
    # the baseline trial ran the chosen settings, and every later read of the study applies them
    settings = recorded.baseline_tuning["settings"]
    applied = recorded.study_file().model_dump(mode="json")
    assert all(_dotted(applied, key) == value for key, value in settings.items())
    assert recorded.baseline_tuning["best_trial"] == 0 or settings  # another trial won with its own settings


def _dotted(data: dict, key: str):
    for part in key.split("."):
        data = data[part]
    return data


def test_a_baseline_that_passes_is_not_tuned_and_is_trained_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'ok.db'}"
    run_study(parse_study(tiny_study_dict(n_trials=2)), url, "ok", n_trials=2)
    recorded = read_study(url, "ok")
    assert recorded.baseline_tuning["outcome"] == "passed" and recorded.baseline_tuning["settings"] == {}
    check = recorded.baseline_check
    assert not check["short"] and check["share"] > 0.8 and check["n"] == recorded.rows[0].validation_n
    tuning = optuna.load_study(study_name=tuning_study_name("ok"), storage=url)
    assert len(tuning.trials) == 1  # the file's settings, judged; the baseline trial reused that training
    first = tuning.trials[0]
    main = optuna.load_study(study_name="ok", storage=url)
    assert first.user_attrs["in_full"] and first.user_attrs["validation_accuracy"] == pytest.approx(
        recorded.rows[0].validation_accuracy)
    # its value is the validation accuracy at half its training (steps_fraction 0.5): what the others would get
    curve = main.trials[0].user_attrs["validation_curve"]
    assert first.value == pytest.approx(curve[math.ceil(len(curve) * 0.5) - 1])
    assert main.trials[0].user_attrs["duration_s"] == first.user_attrs["duration_s"]  # the same training


def test_tuning_never_keeps_the_file_and_runs_no_tuning_study(tmp_path):
    url = f"sqlite:///{tmp_path / 'never.db'}"
    with pytest.raises(BaselineError, match="not tuned \\(baseline.tune.when: never\\)"):
        run_study(_hard_study(tmp_path, when="never"), url, "never", n_trials=2)
    assert tuning_study_name("never") not in optuna.get_all_study_names(url)


def test_an_interrupted_tuning_resumes_where_it_stopped_and_settles_once(tmp_path):
    """Ctrl-C during the second tuning trial: that trial is failed and queued again; the next run finishes
    the tuning (four finished trials in all, the file's settings trained once) and records the settings."""
    url = f"sqlite:///{tmp_path / 'resume.db'}"
    study_file = _hard_study(tmp_path, when="always")
    main = open_study(study_file, url, "resume")
    gate = StopGate()
    calls = []

    def interrupting(study, config, **kwargs):
        calls.append(config)
        if len(calls) == 2:
            gate.on_signal(signal.SIGINT)  # as the handler does when Ctrl-C arrives inside a trial
        return run_trial(study, config, **kwargs)

    with pytest.raises(Interrupted):
        settle_baseline(main, study_file, runner=interrupting, gate=gate)
    tuning = optuna.load_study(study_name=tuning_study_name("resume"), storage=url)
    states = [t.state.name for t in tuning.trials]
    assert states[:2] == ["COMPLETE", "FAIL"] and states[2:] == ["WAITING"]  # the interrupted one re-queued
    assert keys.BASELINE_TUNING not in main.user_attrs
    settled = settle_baseline(main, study_file, runner=run_trial)
    tuning = optuna.load_study(study_name=tuning_study_name("resume"), storage=url)
    finished = [t for t in tuning.trials if t.state.name in ("COMPLETE", "PRUNED")]
    assert len(finished) == 4
    assert sum(bool(t.user_attrs.get(FILE_SETTINGS_ATTR)) for t in finished) == 1
    record = optuna.load_study(study_name="resume", storage=url).user_attrs[keys.BASELINE_TUNING]
    assert record["trials"] == 4 and settled.record == record
    best = max((t for t in finished if t.value is not None), key=lambda t: (t.value, -t.number))
    assert record["best_trial"] == best.number and record["settings"] == best.user_attrs[keys.TUNED_SETTINGS]
    # a third run (a continued study) reuses the recorded settings without training anything
    again = settle_baseline(main, study_file, runner=lambda *a, **k: pytest.fail("trained again"))
    assert again.study_file == settled.study_file
