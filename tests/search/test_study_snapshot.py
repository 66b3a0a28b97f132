"""One read of the study per trial, shared by the quota guard and the objective; the baseline accuracy kept once
it is settled, read afresh while the baseline still runs."""

from __future__ import annotations

import optuna
import pytest
from study_fixtures import tiny_study_dict

from qsearch.execution._workers import TrialQuota
from qsearch.search import Objective, StudySnapshot, open_study, trial_snapshot
from qsearch.studyfile import parse_study
from qsearch.trial import synthetic_trial


def _study_file():
    # a random sampler without the distinct wrapper and the initial design reads nothing itself: every read
    # counted is qsearch's checks'
    return parse_study(tiny_study_dict(trial_runner="synthetic", sampler={"kind": "random", "seed": 3,
                                                                          "distinct": False,
                                                                          "initial_design": "none"}))


@pytest.fixture
def counted_reads(monkeypatch) -> list[int]:
    """Calls of ``Study.get_trials`` (every trial-list read of qsearch's checks goes through it)."""
    calls = [0]
    original = optuna.Study.get_trials

    def counting(self, *args, **kwargs):
        calls[0] += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(optuna.Study, "get_trials", counting)
    return calls


def test_the_guard_and_the_objective_read_the_study_once_per_trial(sqlite_url, counted_reads):
    sf = _study_file()
    study = open_study(sf, sqlite_url, "reads", heartbeat_interval=None)
    guarded = TrialQuota(target=12).guard(Objective(sf, "reads", None, runner=synthetic_trial))
    per_trial, schemes = [], []
    for _ in range(10):
        trial = study.ask()
        counted_reads[0] = 0
        values = guarded(trial)
        per_trial.append(counted_reads[0])
        study.tell(trial, values)
        schemes.append(trial.user_attrs["config"]["scheme"])
    assert {"float", "ptq", "qat"} <= set(schemes)  # the baseline, and trials the hopeless rule judges
    assert per_trial == [1] * 10


def test_a_trial_that_started_while_the_baseline_ran_gets_its_accuracy_at_the_end(sqlite_url):
    sf = _study_file()
    study = open_study(sf, sqlite_url, "late", heartbeat_interval=None)
    objective = Objective(sf, "late", None, runner=synthetic_trial)
    baseline, trial = study.ask(), study.ask()
    assert trial_snapshot(trial).baseline().running  # read before the baseline finished
    study.tell(baseline, objective(baseline))
    study.tell(trial, objective(trial))
    reference = study.trials[0].user_attrs["accuracy"]
    assert trial.user_attrs["accuracy_drop"] == pytest.approx(reference - trial.user_attrs["accuracy"])
    assert StudySnapshot.read(study).baseline().settled


def test_the_snapshot_is_read_once_per_trial_object(sqlite_url, counted_reads):
    study = open_study(_study_file(), sqlite_url, "once", heartbeat_interval=None)
    first, second = study.ask(), study.ask()
    counted_reads[0] = 0
    assert trial_snapshot(first) is trial_snapshot(first)
    assert trial_snapshot(second) is not trial_snapshot(first)
    assert counted_reads[0] == 2
    assert [t.number for t in trial_snapshot(second).trials] == [0, 1]
