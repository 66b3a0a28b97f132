"""Creating or joining a study: the study file recorded with it, the float baseline enqueued once.

A thin layer over ``optuna.create_study`` / ``load_study``; running trials on it is :mod:`qsearch.execution`.
"""

from __future__ import annotations

import hashlib
import json
import time
import warnings

import optuna

from qsearch.errors import InputError
from qsearch.record import DEFAULT_GRACE_S, DEFAULT_HEARTBEAT_S, keys, make_storage, mask_study_file
from qsearch.search._objective import (
    BASELINE_ATTR,
    BASELINE_FAILURE_ATTR,
    directions,
    metric_names,
)
from qsearch.search._samplers import make_sampler
from qsearch.search._space import baseline_params
from qsearch.studyfile import StudyFile, parse_study
from qsearch.trial import held_fingerprint

FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
#: baseline states that will (or did) give the study its reference accuracy; a FAILed one does not
LIVE_BASELINE = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.RUNNING, optuna.trial.TrialState.WAITING)
STUDY_FILE_ATTR = keys.STUDY_FILE
STUDY_FILE_HASH_ATTR = keys.STUDY_FILE_HASH
#: study-file fields that only steer a run (how many, how long, where): changing them keeps the study the same
#: (``selection`` too: it chooses among the trials after the search; the latest run's selection is recorded)
RUN_ONLY_FIELDS = frozenset({"name", "storage", "n_trials", "timeout", "synthetic_sleep_s", "selection"})
#: seconds a worker joining a study without trials waits for the creating worker to enqueue the baseline
BASELINE_WAIT_S = 10.0


def study_file_hash(study_file: StudyFile) -> str:
    """SHA-256 of what the study file says about the search (not of its text: comments, key order and the
    run-only fields do not count)."""
    spec = {k: v for k, v in study_file.model_dump(mode="json").items() if k not in RUN_ONLY_FIELDS}
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()


def open_study(study_file: StudyFile, storage_url: str, study_name: str, *,
               heartbeat_interval: int | None = DEFAULT_HEARTBEAT_S, grace_period: int | None = DEFAULT_GRACE_S,
               worker_index: int = 0,
               allow_changed_study_file: bool = False) -> optuna.Study:
    """Create the study or join the existing one of that name.

    Only the process that creates the study enqueues the float baseline (one that joins a study without trials
    waits for it), so workers started together — container replicas, other machines — enqueue it once. A study
    whose baseline failed for good (no live copy) gets a new one. ``worker_index`` offsets the sampler's seed.
    """
    url, name = storage_url, study_name
    storage = make_storage(url, heartbeat_interval=heartbeat_interval, grace_period=grace_period)
    sampler = make_sampler(study_file, worker_index)
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
    _check_same_study_file(study, study_file, name, allow_changed_study_file)
    if created or not _has_baseline(study):
        study.enqueue_trial(baseline_params(study_file), user_attrs={BASELINE_ATTR: True})
    return study


def _check_same_study_file(study: optuna.Study, study_file: StudyFile, name: str, allow: bool) -> None:
    """Record the study file (and its hash) with a new study; refuse continuing it with a different one."""
    attrs = study.user_attrs
    digest = study_file_hash(study_file)
    stored = attrs.get(STUDY_FILE_HASH_ATTR)
    if stored is not None and stored != digest and not allow and not _same_after_upgrade(attrs, digest):
        changed = python_inputs_changed(attrs.get(STUDY_FILE_ATTR), study_file, name)
        if changed is not None:
            raise InputError(changed)
        raise InputError(f"study_file: study {name!r} was run with a different study file (search space, "
                         "training or data changed); use a new --study-name, or --allow-changed-study-file")
    current = mask_study_file(json.loads(study_file.model_dump_json()))
    if STUDY_FILE_ATTR not in attrs:
        study.set_user_attr(STUDY_FILE_ATTR, current)
    elif attrs[STUDY_FILE_ATTR].get("selection") != current["selection"]:  # how to pick changed: record it
        study.set_user_attr(STUDY_FILE_ATTR, {**attrs[STUDY_FILE_ATTR], "selection": current["selection"]})
    if stored is None:
        study.set_user_attr(STUDY_FILE_HASH_ATTR, digest)


def python_inputs_changed(recorded: object, study_file: StudyFile, name: str) -> str | None:
    """The one line for a study continued on other data or another network given in Python (their
    fingerprints differ), naming the argument; None when those agree or were not given in Python."""
    if not isinstance(recorded, dict):
        return None
    was_data = recorded.get("dataset", {}).get("fingerprint")
    now_data = getattr(study_file.dataset, "fingerprint", None)
    if was_data and now_data and was_data != now_data:
        return (f"data: study {name!r} was run on other data (fingerprint {was_data[:12]}, this data "
                f"{now_data[:12]}); use a new study_name, or allow_changed_study_file=True")
    was_model = held_fingerprint(recorded.get("model", {}).get("factory"))
    now_model = held_fingerprint(study_file.model.factory)
    if was_model and now_model and was_model != now_model:
        return (f"model: study {name!r} was run with another network (fingerprint {was_model[:12]}, this one "
                f"{now_model[:12]}); use a new study_name, or allow_changed_study_file=True")
    return None


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
