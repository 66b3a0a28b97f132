"""Settling the float baseline's settings before the quantization search: check them, tune them if asked.

Every worker of a study calls :func:`settle_baseline` before its trial loop; the answer is the same for all of
them. A study that already settled (or that has a finished or failed baseline: it was started before tuning
existed, or it stopped) keeps what it has. Otherwise the tuning study (:mod:`qsearch.search._baseline_tuning`)
runs its first trial, the study file's own settings, in full; ``baseline.tune.when: auto`` stops there when that
network is not clearly below the non-spiking reference (:mod:`qsearch.trial._baseline_check`), ``always`` and a
failed check go on to ``baseline.tune.trials``. The best validation accuracy wins (the lower trial number on a
tie); its settings are recorded on the main study (:data:`~qsearch.record.keys.BASELINE_TUNING`) and applied
over the study file wherever it is read. Workers share the tuning study like any other (the exact trial count
of :func:`~qsearch.execution._workers.optimize_exactly`); an interrupted tuning resumes on the next run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import optuna

from qsearch.execution._interrupt import StopGate
from qsearch.execution._workers import optimize_exactly
from qsearch.record import fail_stale_trials, keys
from qsearch.record.optuna_compat import study_storage
from qsearch.search import (
    FILE_SETTINGS_ATTR,
    MIN_JUDGED_VALIDATION,
    StudySnapshot,
    TuningObjective,
    tunable,
    tuning_pruner,
    tuning_sampler,
    tuning_study_name,
)
from qsearch.studyfile import StudyFile, study_with_settings
from qsearch.trial import BaselineCheck, TrialOutcome, check_baseline, run_trial, study_reference

#: seconds a worker joining a new tuning study waits for its creator to enqueue the first trial
ENQUEUE_WAIT_S = 10.0
#: seconds between reads while another worker's tuning trial is still running
POLL_S = 0.5
COMPLETE = optuna.trial.TrialState.COMPLETE

TuningProgress = Callable[[optuna.trial.FrozenTrial, int], None]


@dataclass(frozen=True)
class SettledBaseline:
    """The study file the trials run with (the tuned settings applied), and, when this process trained the
    chosen settings in full, that training: the float baseline trial reuses it instead of training again."""

    study_file: StudyFile
    outcome: TrialOutcome | None = None
    record: dict[str, Any] | None = None


def recorded_tuning(study: optuna.Study) -> dict[str, Any] | None:
    value = study.user_attrs.get(keys.BASELINE_TUNING)
    return value if isinstance(value, dict) else None


def settle_baseline(study: optuna.Study, study_file: StudyFile, *,
                    runner: Callable[..., TrialOutcome] = run_trial, gate: StopGate | None = None,
                    results_engine=None, on_trial: TuningProgress | None = None,
                    on_epoch: Callable[[int, int, float, float], None] | None = None) -> SettledBaseline:
    """The study file this study's trials run with, settled once for the study (see the module docstring)."""
    recorded = recorded_tuning(study)
    if recorded is not None:
        return SettledBaseline(study_with_settings(study_file, recorded.get("settings", {})), record=recorded)
    tune = study_file.baseline.tune
    snapshot = StudySnapshot.read(study)  # one read: a finished or failed baseline keeps what it has
    if not tunable(study_file) or tune.when == "never" or snapshot.baseline().accuracy is not None \
            or snapshot.baseline_failure() is not None:
        return SettledBaseline(study_file)
    started = time.perf_counter()
    name = tuning_study_name(study.study_name)
    tuning = _open_tuning_study(study, name, study_file.seed)
    objective = TuningObjective(study_file, name, results_engine, runner=runner, on_epoch=on_epoch,
                                steps_fraction=tune.steps_fraction, file_settings_in_full=tune.when == "auto")
    callbacks = [] if on_trial is None else [lambda _s, t: on_trial(t, tune.trials)]
    optimize_exactly(tuning, objective, 1, callbacks=callbacks, gate=gate)
    first = _finished(tuning)[0]
    check = _check(first, study_file) if first.user_attrs.get("in_full") else None
    # worth tuning when probably short, or when it did not finish (silent, diverged); too few samples to judge
    # it (no check): not
    tune_it = check.probably_short if check is not None else first.state != COMPLETE
    if tune.when == "auto" and not tune_it:
        record = _record(study, "passed", {}, first, first, check, 1, time.perf_counter() - started, name)
        return SettledBaseline(study_file, objective.outcomes.get(first.number), record)
    # a fresh handle: the first phase ended by ``study.stop()``, which stays set on that object
    tuning = _open_tuning_study(study, name, study_file.seed)
    # budget: a trial that keeps failing (an error, not a pruned or silent network) cannot loop for ever
    optimize_exactly(tuning, objective, tune.trials, budget=tune.trials, timeout=tune.timeout, callbacks=callbacks,
                     gate=gate)
    trials = _finished(tuning)
    best = max((t for t in trials if t.state == optuna.trial.TrialState.COMPLETE and t.value is not None),
               key=lambda t: (t.value, -t.number), default=first)
    settings = dict(best.user_attrs.get(keys.TUNED_SETTINGS, {}))
    record = _record(study, "tuned", settings, first, best, check, len(trials), time.perf_counter() - started,
                     name)
    return SettledBaseline(study_with_settings(study_file, settings), objective.outcomes.get(best.number), record)


def _open_tuning_study(main: optuna.Study, name: str, seed: int) -> optuna.Study:
    """Create or join the tuning study on the main study's own storage (one storage per run, its heartbeat)."""
    storage = study_storage(main)
    try:
        study = optuna.create_study(study_name=name, storage=storage, direction="maximize",
                                    sampler=tuning_sampler(seed), pruner=tuning_pruner())
        study.enqueue_trial({}, user_attrs={FILE_SETTINGS_ATTR: True})
        return study
    except optuna.exceptions.DuplicatedStudyError:
        study = optuna.load_study(study_name=name, storage=storage, sampler=tuning_sampler(seed),
                                  pruner=tuning_pruner())
    deadline = time.monotonic() + ENQUEUE_WAIT_S
    while not study.get_trials(deepcopy=False) and time.monotonic() < deadline:
        time.sleep(0.2)  # its creator enqueues the file's own settings right after creating it
    return study


def _finished(tuning: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """The tuning study's finished trials by number, once no other worker's trial is still running."""
    finished = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    while True:
        trials = tuning.get_trials(deepcopy=False)
        if not any(t.state == optuna.trial.TrialState.RUNNING for t in trials):
            return sorted((t for t in trials if t.state in finished), key=lambda t: t.number)
        fail_stale_trials(tuning)
        time.sleep(POLL_S)


def _check(trial: optuna.trial.FrozenTrial, study_file: StudyFile) -> BaselineCheck | None:
    """The check of one tuning trial against the reference; None when it has no correctness (silent, diverged)
    or the validation split is too small to judge (then the baseline trial does not judge it either)."""
    correct = trial.user_attrs.get("validation_correct")
    n = trial.user_attrs.get("validation_n") or 0
    if not correct or n < MIN_JUDGED_VALIDATION:
        return None
    chance, reference = study_reference(study_file.dataset, study_file.baseline_timesteps(),
                                        study_file.training.seed)
    return check_baseline(correct, reference, chance, study_file.baseline.min_reference_share)


def _record(study: optuna.Study, outcome: str, settings: dict[str, Any], first: optuna.trial.FrozenTrial,
            best: optuna.trial.FrozenTrial, check: BaselineCheck | None, trials: int, wall_s: float,
            name: str) -> dict[str, Any]:
    """Record (and return) how the baseline was settled: ``outcome`` is ``passed`` (the file's settings
    passed the check, nothing tuned) or ``tuned``."""
    full = bool(first.user_attrs.get("in_full"))
    record = {"outcome": outcome, "settings": settings, "tuning_study": name, "trials": trials,
              "best_trial": best.number, "wall_s": wall_s,
              "file_settings_validation": first.user_attrs.get("validation_accuracy") if full else None,
              "file_settings_check": None if check is None else check.as_dict()}
    study.set_user_attr(keys.BASELINE_TUNING, record)
    return record


__all__ = ["SettledBaseline", "recorded_tuning", "settle_baseline"]
