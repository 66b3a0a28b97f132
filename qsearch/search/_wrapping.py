"""A sampler that forwards every call to the sampler it wraps: the base of qsearch's sampler wrappers, which
override only the calls they change (``_distinct``, ``_initial``)."""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

import optuna
from optuna.distributions import BaseDistribution
from optuna.trial import FrozenTrial, TrialState

from qsearch.record.optuna_compat import frozen_trial_id, study_storage

#: what a wrapper did to a trial's proposal (per storage: trial id -> attributes), until the objective writes it
#: in the trial's one batch of attributes: samplers record, they do not write to the storage
_NOTES: weakref.WeakKeyDictionary[optuna.storages.BaseStorage, dict[int, dict[str, Any]]] = \
    weakref.WeakKeyDictionary()


def note_proposal(study: optuna.Study, trial: FrozenTrial, key: str, value: Any) -> None:
    """Record that a wrapper changed (or chose) ``trial``'s proposal; :func:`proposal_notes` hands it over."""
    _NOTES.setdefault(study_storage(study), {}).setdefault(frozen_trial_id(trial), {})[key] = value


def proposal_notes(study: optuna.Study, trial_id: int) -> dict[str, Any]:
    """The notes of trial ``trial_id`` (its storage id) of ``study``, taken: the objective writes them with the
    trial's other attributes."""
    return _NOTES.get(study_storage(study), {}).pop(trial_id, {})


class WrappingSampler(optuna.samplers.BaseSampler):
    """Forwards to ``inner``; NSGA-II keeps its generations through ``before_trial``/``after_trial``."""

    def __init__(self, inner: optuna.samplers.BaseSampler) -> None:
        self.inner = inner

    def infer_relative_search_space(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return self.inner.infer_relative_search_space(study, trial)

    def sample_relative(self, study: optuna.Study, trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        return self.inner.sample_relative(study, trial, search_space)

    def sample_independent(self, study: optuna.Study, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        return self.inner.sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self.inner.before_trial(study, trial)

    def after_trial(self, study: optuna.Study, trial: FrozenTrial, state: TrialState,
                    values: Sequence[float] | None) -> None:
        self.inner.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self.inner.reseed_rng()


__all__ = ["WrappingSampler"]
