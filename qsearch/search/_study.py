"""Creating or joining a study and running trials on it — a thin layer over ``optuna.Study.optimize``."""

from __future__ import annotations

import json
import logging
import time
import warnings
from collections.abc import Callable

import optuna
from sqlalchemy import Engine

from qsearch.results import engine_for, ensure_table
from qsearch.search._objective import BASELINE_ATTR, DIRECTIONS, METRIC_UNITS, Objective, raise_if_baseline_failed
from qsearch.search._samplers import make_sampler
from qsearch.search._space import baseline_params
from qsearch.search._storage import make_storage, storage_kind
from qsearch.search._synthetic import runner_for
from qsearch.search._workers import optimize_exactly
from qsearch.studyfile import StudyFile

FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
STUDY_FILE_ATTR = "qsearch_study_file"
#: seconds a worker joining a study without trials waits for the creating worker to enqueue the baseline
BASELINE_WAIT_S = 10.0


def open_study(study_file: StudyFile, storage_url: str, study_name: str, heartbeat_interval: int | None = 60,
               grace_period: int | None = 180) -> optuna.Study:
    """Create the study or join the existing one of that name.

    Only the process that creates the study enqueues the float baseline (one that joins a study without trials
    waits for it), so workers started together — container replicas, other machines — enqueue it once.
    """
    storage = make_storage(storage_url, heartbeat_interval=heartbeat_interval, grace_period=grace_period)
    sampler = make_sampler(study_file)
    try:
        study = optuna.create_study(study_name=study_name, storage=storage, sampler=sampler,
                                    directions=[DIRECTIONS[o] for o in study_file.objectives])
        created = True
    except optuna.exceptions.DuplicatedStudyError:
        study = optuna.load_study(study_name=study_name, storage=storage, sampler=sampler)
        created = False
    names = [METRIC_UNITS[o] for o in study_file.objectives]
    current = study.metric_names  # read once: another worker may set them between two reads
    if current is not None and current != names:
        raise ValueError(f"objectives: study {study_name!r} was created with {current}; "
                         f"use a new --study-name for {names}")
    if current is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names(names)  # idempotent: racing workers write the same names
    if STUDY_FILE_ATTR not in study.user_attrs:
        study.set_user_attr(STUDY_FILE_ATTR, json.loads(study_file.model_dump_json()))
    if created or not _has_baseline(study):
        study.enqueue_trial(baseline_params(study_file), user_attrs={BASELINE_ATTR: True})
    return study


def _has_baseline(study: optuna.Study, wait_s: float = BASELINE_WAIT_S, poll_s: float = 0.2) -> bool:
    """Whether the study has its baseline trial; one without any trial may have just been created by another
    worker, so wait up to ``wait_s`` for the creator to enqueue it."""
    deadline = time.monotonic() + wait_s
    while True:
        trials = study.get_trials(deepcopy=False)
        if any(t.user_attrs.get(BASELINE_ATTR) for t in trials):
            return True
        if trials or time.monotonic() >= deadline:
            return False
        time.sleep(poll_s)


def finished_trials(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=FINISHED))


def results_engine_for(storage_url: str) -> Engine | None:
    """The engine of the results table: the same database as an RDB storage; none for journal/gRPC."""
    if storage_kind(storage_url) in ("sqlite", "rdb"):
        engine = engine_for(storage_url)
        ensure_table(engine)
        return engine
    return None


TrialCallback = Callable[[optuna.Study, optuna.trial.FrozenTrial], None]


def run_study(study_file: StudyFile, storage_url: str, study_name: str, n_trials: int,
              timeout: float | None = None, callbacks: list[TrialCallback] | None = None,
              on_epoch=None, runner=None, total_trials: int | None = None, heartbeat_interval: int | None = 60,
              grace_period: int | None = 180) -> optuna.Study:
    """Run ``n_trials`` more trials (or until the study holds ``total_trials`` finished ones).

    The count is exact with any number of workers on the study (see ``qsearch.search._workers``); ``runner``
    defaults to the study file's ``trial_runner``.
    """
    optuna.logging.set_verbosity(logging.WARNING)
    study = open_study(study_file, storage_url, study_name, heartbeat_interval, grace_period)
    engine = results_engine_for(storage_url)
    objective = Objective(study_file, study_name, engine, runner=runner or runner_for(study_file),
                          on_epoch=on_epoch)
    raise_if_baseline_failed(study)  # a study whose baseline failed runs no further trial
    target = total_trials if total_trials is not None else finished_trials(study) + n_trials
    remaining = max(target - finished_trials(study), 0)
    if remaining:
        optimize_exactly(study, objective, target, budget=remaining, timeout=timeout, callbacks=callbacks or [])
    raise_if_baseline_failed(study)
    return study


def delete_study(storage_url: str, study_name: str) -> None:
    """Remove a study everywhere qsearch keeps it: Optuna's rows and the results table's rows."""
    from qsearch.results import delete_results

    try:
        optuna.delete_study(study_name=study_name, storage=make_storage(storage_url, heartbeat_interval=None))
    except KeyError:
        pass  # already gone from Optuna's tables; its results rows may remain
    engine = results_engine_for(storage_url)
    if engine is not None:
        try:
            delete_results(engine, study_name)
        finally:
            engine.dispose()
