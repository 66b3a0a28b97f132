"""Running a study's trials in this process: open it, then optimize until the trial count is reached.

The execution layer: everything it needs comes in one frozen :class:`~qsearch.execution._settings.RunSettings`
(no environment, no signal handlers: those belong to :mod:`qsearch.execution._launch` and the CLI).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import optuna

from qsearch.execution._baseline import TuningProgress, settle_baseline
from qsearch.execution._interrupt import StopGate
from qsearch.execution._settings import RunSettings
from qsearch.execution._workers import optimize_exactly
from qsearch.record import (
    DEFAULT_GRACE_S,
    DEFAULT_HEARTBEAT_S,
    artifact_store_for,
    check_persistent,
    results_engine_for,
)
from qsearch.record.optuna_compat import study_storage
from qsearch.search import Objective, finished_trials, open_study, raise_if_baseline_failed
from qsearch.studyfile import StudyFile
from qsearch.trial import runner_for

TrialCallback = Callable[[optuna.Study, optuna.trial.FrozenTrial], None]


def execute(study_file: StudyFile, settings: RunSettings, callbacks: list[TrialCallback] | None = None,
            on_epoch=None, runner=None, gate: StopGate | None = None,
            study: optuna.Study | None = None, on_tuning: TuningProgress | None = None) -> optuna.Study:
    """Run the trials ``settings`` asks for: until the study holds ``total_trials`` finished ones, else
    ``n_trials`` more. The count is exact with any number of workers (see ``qsearch.execution._workers``);
    ``runner`` defaults to the study file's ``trial_runner``; ``gate`` stops it on a signal; ``study``: the
    study this process already opened for ``settings`` (else it is opened here). The float baseline's
    settings are settled first (:func:`~qsearch.execution._baseline.settle_baseline`; ``on_tuning`` is told of
    each tuning trial)."""
    check_persistent(settings.storage_url)
    optuna.logging.set_verbosity(logging.WARNING)
    study = study or open_settings_study(study_file, settings)
    engine = results_engine_for(settings.storage_url, study_storage(study))
    runner = runner or runner_for(study_file)
    raise_if_baseline_failed(study)  # a study whose baseline failed runs no further trial
    settled = settle_baseline(study, study_file, runner=runner, gate=gate, results_engine=engine,
                              on_trial=on_tuning)
    objective = Objective(settled.study_file, settings.study_name, engine, runner=runner,
                          on_epoch=on_epoch, artifact_store=artifact_store_for(settings.storage_url,
                                                                               settings.artifact_dir),
                          baseline_outcome=settled.outcome, tuning=settled.record)
    done = finished_trials(study)
    target = settings.total_trials if settings.total_trials is not None else done + settings.n_trials
    remaining = max(target - done, 0)
    if remaining:  # the engine is the storage's own: it lives as long as the study
        optimize_exactly(study, objective, target, budget=remaining, timeout=settings.timeout,
                         callbacks=callbacks or [], gate=gate)
    raise_if_baseline_failed(study)
    return study


def run_study(study_file: StudyFile, storage_url: str, study_name: str, n_trials: int,
              timeout: float | None = None, callbacks: list[TrialCallback] | None = None,
              on_epoch=None, runner=None, total_trials: int | None = None,
              heartbeat_interval: int | None = DEFAULT_HEARTBEAT_S, grace_period: int | None = DEFAULT_GRACE_S,
              allow_changed_study_file: bool = False) -> optuna.Study:
    """:func:`execute` with the settings given one by one (the library entry point)."""
    settings = RunSettings(storage_url, study_name, n_trials, total_trials, timeout, heartbeat_interval,
                           grace_period, allow_changed_study_file=allow_changed_study_file)
    return execute(study_file, settings, callbacks, on_epoch, runner)


def open_settings_study(study_file: StudyFile, settings: RunSettings) -> optuna.Study:
    """:func:`~qsearch.search.open_study` with what ``settings`` says about the storage and the worker."""
    return open_study(study_file, settings.storage_url, settings.study_name,
                      heartbeat_interval=settings.heartbeat_interval, grace_period=settings.grace_period,
                      worker_index=settings.worker_index, allow_changed_study_file=settings.allow_changed_study_file)
