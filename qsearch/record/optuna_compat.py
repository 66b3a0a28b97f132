"""Every use of an Optuna internal (a name starting with ``_``) in qsearch, in one place.

Optuna's public API has no way to write several trial user attributes in one transaction, to read the
storage under a study, to see whether ``study.stop()`` was called, or to tell which log record is about a
trial qsearch turned away on purpose. qsearch needs each of those, so it reaches into Optuna — here and only
here. Each accessor fails *loudly* (:class:`OptunaInternalMissing`, naming the Optuna version and the missing
internal) when an Optuna release renames or removes what it uses: a silent fallback would hide a slower or
wrong run. ``tests/search/test_optuna_compat.py`` pins every one of them against the installed Optuna.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from typing import Any

import optuna

#: Optuna's logger that reports each failed trial (with the exception's traceback)
OPTIMIZE_LOGGER = "optuna.study._optimize"
#: the text of Optuna's second warning about a trial whose objective raised (no value to record)
FAILED_WITHOUT_VALUE = re.compile(r"Trial (\d+) failed with value None\.")


class OptunaInternalMissing(RuntimeError):
    """An Optuna internal qsearch relies on is gone: this Optuna release is not supported (a bug, not user input)."""


def _missing(name: str) -> OptunaInternalMissing:
    return OptunaInternalMissing(f"optuna {optuna.__version__}: internal {name} is missing; qsearch supports the "
                                 "Optuna 5.0 internals listed in qsearch/record/_optuna_compat.py")


def _attr(obj: object, name: str, owner: str) -> Any:
    try:
        return getattr(obj, name)
    except AttributeError:
        raise _missing(f"{owner}.{name}") from None


def _module_attr(module: str, name: str) -> Any:
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        raise _missing(f"{module}.{name}") from None


def study_storage(study: optuna.Study) -> optuna.storages.BaseStorage:
    """The storage under a study (``Study._storage``)."""
    return _attr(study, "_storage", "optuna.Study")


def stop_requested(study: optuna.Study) -> bool:
    """Whether ``study.stop()`` was called in the running ``optimize`` (``Study._stop_flag``)."""
    return bool(_attr(study, "_stop_flag", "optuna.Study"))


def trial_id(trial: optuna.Trial) -> int:
    """The storage's id of a live trial (``Trial._trial_id``)."""
    return _attr(trial, "_trial_id", "optuna.Trial")


def cached_frozen_trial(trial: optuna.Trial) -> optuna.trial.FrozenTrial:
    """The frozen trial ``trial.user_attrs`` reads (``Trial._cached_frozen_trial``)."""
    return _attr(trial, "_cached_frozen_trial", "optuna.Trial")


def rdb_backend(storage: optuna.storages.BaseStorage) -> optuna.storages.RDBStorage | None:
    """The RDB storage under Optuna's cache (``_CachedStorage._backend``); None for other storages."""
    cached_type = _module_attr("optuna.storages._cached_storage", "_CachedStorage")
    if isinstance(storage, optuna.storages.RDBStorage):
        return storage
    if isinstance(storage, cached_type):
        backend = _attr(storage, "_backend", "optuna.storages._cached_storage._CachedStorage")
        return backend if isinstance(backend, optuna.storages.RDBStorage) else None
    return None


def write_trial_user_attrs(storage: optuna.storages.RDBStorage, trial_id_: int, attrs: Mapping[str, Any]) -> None:
    """Every item of ``attrs`` as a user attribute of the trial, in one transaction, written as Optuna writes
    one (its upsert and its check that the trial is still running)."""
    model = _module_attr("optuna.storages._rdb.models", "TrialUserAttributeModel")
    session_scope = _module_attr("optuna.storages._rdb.storage", "_create_scoped_session")
    write = _attr(storage, "_set_trial_attr_without_commit", "optuna.storages.RDBStorage")
    with session_scope(storage.scoped_session, True) as session:
        for key, value in attrs.items():
            write(session, model, trial_id_, key, value)


def study_id(study: optuna.Study) -> int:
    """The storage's id of a study (``Study._study_id``): optuna-dashboard's URLs address a study by it."""
    return _attr(study, "_study_id", "optuna.Study")


def frozen_trial_id(trial: optuna.trial.FrozenTrial) -> int:
    """The storage's id of a recorded trial (``FrozenTrial._trial_id``): optuna-dashboard keys a trial's note
    by it, and ``optuna.Trial(study, id)`` needs it to address a finished trial."""
    return _attr(trial, "_trial_id", "optuna.trial.FrozenTrial")


#: the system attribute ``Study.enqueue_trial`` stores a queued trial's parameters under
FIXED_PARAMS_KEY = "fixed_params"


def is_enqueued(trial: optuna.trial.FrozenTrial) -> bool:
    """Whether ``trial`` was queued with fixed parameters (``study.enqueue_trial``: the baseline, a retried
    copy), which Optuna applies before asking the sampler."""
    return FIXED_PARAMS_KEY in trial.system_attrs


def check_all() -> None:
    """Touch every internal above on the installed Optuna (the tests call it; so may a health check)."""
    _module_attr("optuna.storages._cached_storage", "_CachedStorage")
    _module_attr("optuna.storages._rdb.storage", "_create_scoped_session")
    _module_attr("optuna.storages._rdb.models", "TrialUserAttributeModel")
    _attr(optuna.storages.RDBStorage, "_set_trial_attr_without_commit", "optuna.storages.RDBStorage")
    _module_attr(OPTIMIZE_LOGGER, "_log_failed_trial")
    frozen_trial_id(optuna.trial.create_trial(value=1.0))
    study = optuna.create_study()
    study_id(study)
    study.enqueue_trial({"x": 1.0})
    if not is_enqueued(study.get_trials(deepcopy=False)[0]):
        raise _missing(f"the {FIXED_PARAMS_KEY!r} system attribute of an enqueued trial")


__all__ = ["FAILED_WITHOUT_VALUE", "FIXED_PARAMS_KEY", "OPTIMIZE_LOGGER", "OptunaInternalMissing",
           "cached_frozen_trial", "check_all", "frozen_trial_id", "is_enqueued", "rdb_backend", "stop_requested",
           "study_id", "study_storage", "trial_id", "write_trial_user_attrs"]
