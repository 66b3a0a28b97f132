"""Creating or joining a study and running trials on it — a thin layer over ``optuna.Study.optimize``."""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Callable

import optuna
from sqlalchemy import Engine

from qsearch.results import engine_for, ensure_table
from qsearch.search._objective import BASELINE_ATTR, DIRECTIONS, METRIC_UNITS, Objective
from qsearch.search._samplers import make_sampler
from qsearch.search._space import baseline_params
from qsearch.search._storage import make_storage, storage_kind
from qsearch.search._trial import run_trial
from qsearch.studyfile import StudyFile

FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
STUDY_FILE_ATTR = "qsearch_study_file"


def open_study(study_file: StudyFile, storage_url: str, study_name: str) -> optuna.Study:
    """Create the study or join the existing one of that name; enqueue the float baseline once."""
    storage = make_storage(storage_url)
    study = optuna.create_study(study_name=study_name, storage=storage, sampler=make_sampler(study_file),
                                directions=[DIRECTIONS[o] for o in study_file.objectives], load_if_exists=True)
    names = [METRIC_UNITS[o] for o in study_file.objectives]
    if study.metric_names != names:
        if study.metric_names is not None:
            raise ValueError(f"objectives: study {study_name!r} was created with {study.metric_names}; "
                             f"use a new --study-name for {names}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names(names)
    if STUDY_FILE_ATTR not in study.user_attrs:
        study.set_user_attr(STUDY_FILE_ATTR, json.loads(study_file.model_dump_json()))
    trials = study.get_trials(deepcopy=False)
    if not any(t.user_attrs.get(BASELINE_ATTR) for t in trials):
        study.enqueue_trial(baseline_params(study_file), user_attrs={BASELINE_ATTR: True})
    return study


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
              on_epoch=None, runner=run_trial, total_trials: int | None = None) -> optuna.Study:
    """Run ``n_trials`` more trials (or until the study holds ``total_trials`` finished ones)."""
    optuna.logging.set_verbosity(logging.WARNING)
    study = open_study(study_file, storage_url, study_name)
    engine = results_engine_for(storage_url)
    objective = Objective(study_file, study_name, engine, runner=runner, on_epoch=on_epoch)
    target = total_trials if total_trials is not None else finished_trials(study) + n_trials
    stop = optuna.study.MaxTrialsCallback(target, states=FINISHED)
    remaining = max(target - finished_trials(study), 0)
    if remaining:
        study.optimize(objective, n_trials=remaining, timeout=timeout, callbacks=[stop, *(callbacks or [])],
                       catch=(Exception,), gc_after_trial=False)
    return study
