"""Creating or joining a study and running trials on it — a thin layer over ``optuna.Study.optimize``.

The execution layer: everything it needs comes in one frozen :class:`~qsearch.search._settings.RunSettings`
(no environment, no signal handlers: those belong to :mod:`qsearch.search._launch` and the CLI).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import warnings
from collections.abc import Callable

import optuna
from sqlalchemy import Engine

from qsearch.errors import InputError
from qsearch.results import engine_for, ensure_table
from qsearch.search._interrupt import StopGate
from qsearch.search._objective import (
    BASELINE_ATTR,
    BASELINE_FAILURE_ATTR,
    Objective,
    directions,
    metric_names,
    raise_if_baseline_failed,
)
from qsearch.search._samplers import make_sampler
from qsearch.search._schema import set_up_schema
from qsearch.search._settings import RunSettings
from qsearch.search._space import baseline_params
from qsearch.search._storage import check_persistent, make_storage, mask_study_file, storage_kind
from qsearch.search._synthetic import runner_for
from qsearch.search._workers import optimize_exactly
from qsearch.studyfile import StudyFile, parse_study

FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
#: baseline states that will (or did) give the study its reference accuracy; a FAILed one does not
LIVE_BASELINE = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.RUNNING, optuna.trial.TrialState.WAITING)
STUDY_FILE_ATTR = "qsearch_study_file"
STUDY_FILE_HASH_ATTR = "qsearch_study_file_sha256"
#: study-file fields that only steer a run (how many, how long, where): changing them keeps the study the same
RUN_ONLY_FIELDS = frozenset({"name", "storage", "n_trials", "timeout", "synthetic_sleep_s"})
#: seconds a worker joining a study without trials waits for the creating worker to enqueue the baseline
BASELINE_WAIT_S = 10.0


def study_file_hash(study_file: StudyFile) -> str:
    """SHA-256 of what the study file says about the search (not of its text: comments, key order and the
    run-only fields do not count)."""
    spec = {k: v for k, v in study_file.model_dump(mode="json").items() if k not in RUN_ONLY_FIELDS}
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()


def open_study(study_file: StudyFile, storage_url: str, study_name: str, heartbeat_interval: int | None = 60,
               grace_period: int | None = 180, *, allow_changed_study_file: bool = False) -> optuna.Study:
    """:func:`open_run_study` for callers without a :class:`RunSettings` (tests, benchmarks)."""
    return open_run_study(study_file, RunSettings(storage_url, study_name, n_trials=0,
                                                  heartbeat_interval=heartbeat_interval, grace_period=grace_period,
                                                  allow_changed_study_file=allow_changed_study_file))


def open_run_study(study_file: StudyFile, settings: RunSettings) -> optuna.Study:
    """Create the study or join the existing one of that name.

    Only the process that creates the study enqueues the float baseline (one that joins a study without trials
    waits for it), so workers started together — container replicas, other machines — enqueue it once. A study
    whose baseline failed for good (no live copy) gets a new one.
    """
    url, name = settings.storage_url, settings.study_name
    storage = make_storage(url, heartbeat_interval=settings.heartbeat_interval, grace_period=settings.grace_period)
    sampler = make_sampler(study_file, settings.worker_index)
    try:
        study = optuna.create_study(study_name=name, storage=storage, sampler=sampler,
                                    directions=directions(study_file.objectives))
        created = True
    except optuna.exceptions.DuplicatedStudyError:
        study = optuna.load_study(study_name=name, storage=storage, sampler=sampler)
        created = False
    names = metric_names(study_file.objectives)
    current = study.metric_names  # read once: another worker may set them between two reads
    if current is not None and current != names:
        raise InputError(f"objectives: study {name!r} was created with {current}; use a new --study-name for "
                         f"{names}")
    if current is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names(names)  # idempotent: racing workers write the same names
    _check_same_study_file(study, study_file, name, settings.allow_changed_study_file)
    if created or not _has_baseline(study):
        study.enqueue_trial(baseline_params(study_file), user_attrs={BASELINE_ATTR: True})
    return study


def _check_same_study_file(study: optuna.Study, study_file: StudyFile, name: str, allow: bool) -> None:
    """Record the study file (and its hash) with a new study; refuse continuing it with a different one."""
    attrs = study.user_attrs
    digest = study_file_hash(study_file)
    stored = attrs.get(STUDY_FILE_HASH_ATTR)
    if stored is not None and stored != digest and not allow and not _same_after_upgrade(attrs, digest):
        raise InputError(f"study_file: study {name!r} was run with a different study file (search space, "
                         "training or data changed); use a new --study-name, or --allow-changed-study-file")
    if STUDY_FILE_ATTR not in attrs:
        study.set_user_attr(STUDY_FILE_ATTR, mask_study_file(json.loads(study_file.model_dump_json())))
    if stored is None:
        study.set_user_attr(STUDY_FILE_HASH_ATTR, digest)


def _same_after_upgrade(attrs: dict, digest: str) -> bool:
    """Whether the study file recorded with the study, read by this qsearch, says what the current one says.

    The stored hash covers every field the qsearch that created the study knew; a later qsearch adds fields
    with defaults (``sampler.distinct``, ``sampler.initial_design``, ...), so the same file hashes differently
    after an upgrade. Reading the recorded file fills those defaults in, the same as reading the user's file."""
    recorded = attrs.get(STUDY_FILE_ATTR)
    if not isinstance(recorded, dict):
        return False
    try:
        return study_file_hash(parse_study(recorded, "recorded study file")) == digest
    except InputError:  # a field this qsearch no longer reads: the files cannot be compared
        return False


def _has_baseline(study: optuna.Study, wait_s: float = BASELINE_WAIT_S, poll_s: float = 0.2) -> bool:
    """Whether the study has a live baseline trial; one without any trial may have just been created by
    another worker, so wait up to ``wait_s`` for the creator to enqueue it."""
    deadline = time.monotonic() + wait_s
    while True:
        trials = study.get_trials(deepcopy=False)
        # a diagnosed baseline (silent, not learning) counts too: rerunning it would measure the same
        if any(t.user_attrs.get(BASELINE_ATTR) and (t.state in LIVE_BASELINE or t.user_attrs.get(BASELINE_FAILURE_ATTR))
               for t in trials):
            return True
        if trials or time.monotonic() >= deadline:
            return False
        time.sleep(poll_s)


def finished_trials(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=FINISHED))


def results_engine_for(storage_url: str) -> Engine | None:
    """The engine of the results table: the same database as an RDB storage; none for journal/gRPC. The
    table is created under the schema lock (many workers may start on a new database at once)."""
    if storage_kind(storage_url) in ("sqlite", "rdb"):
        engine = engine_for(storage_url)
        set_up_schema(storage_url, lambda: ensure_table(engine))
        return engine
    return None


TrialCallback = Callable[[optuna.Study, optuna.trial.FrozenTrial], None]


def execute(study_file: StudyFile, settings: RunSettings, callbacks: list[TrialCallback] | None = None,
            on_epoch=None, runner=None, gate: StopGate | None = None) -> optuna.Study:
    """Run the trials ``settings`` asks for: until the study holds ``total_trials`` finished ones, else
    ``n_trials`` more. The count is exact with any number of workers (see ``qsearch.search._workers``);
    ``runner`` defaults to the study file's ``trial_runner``; ``gate`` stops it on a signal."""
    check_persistent(settings.storage_url)
    optuna.logging.set_verbosity(logging.WARNING)
    study = open_run_study(study_file, settings)
    engine = results_engine_for(settings.storage_url)
    objective = Objective(study_file, settings.study_name, engine, runner=runner or runner_for(study_file),
                          on_epoch=on_epoch)
    raise_if_baseline_failed(study)  # a study whose baseline failed runs no further trial
    done = finished_trials(study)
    target = settings.total_trials if settings.total_trials is not None else done + settings.n_trials
    remaining = max(target - done, 0)
    try:
        if remaining:
            optimize_exactly(study, objective, target, budget=remaining, timeout=settings.timeout,
                             callbacks=callbacks or [], gate=gate)
    finally:
        if engine is not None:
            engine.dispose()
    raise_if_baseline_failed(study)
    return study


def run_study(study_file: StudyFile, storage_url: str, study_name: str, n_trials: int,
              timeout: float | None = None, callbacks: list[TrialCallback] | None = None,
              on_epoch=None, runner=None, total_trials: int | None = None, heartbeat_interval: int | None = 60,
              grace_period: int | None = 180, allow_changed_study_file: bool = False) -> optuna.Study:
    """:func:`execute` with the settings given one by one (the library entry point)."""
    settings = RunSettings(storage_url, study_name, n_trials, total_trials, timeout, heartbeat_interval,
                           grace_period, allow_changed_study_file=allow_changed_study_file)
    return execute(study_file, settings, callbacks, on_epoch, runner)


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
