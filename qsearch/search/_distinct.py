"""Every trial a new point: a sampler wrapper that re-draws a proposal equal to an earlier trial's parameters.

NSGA-II re-proposes evaluated points (crossover of two equal parents, mutation back to a parent's value): on
the default digits study 42 of 200 trials (21 %) repeated an earlier configuration. qsearch does not train
those again (``duplicate_of`` reuses the measurement), but each still takes one of the N trials the user asked
for and adds no point to the front. :class:`DistinctSampler` wraps any Optuna sampler and makes the whole
proposal in ``sample_relative``: the inner sampler's relative parameters, completed by its own independent
draws for the rest of the (intersection) search space. If that proposal equals the parameters of an earlier
trial of the study (any state but waiting: a pruned or failed configuration would stop or fail again), one
parameter at a time is re-drawn uniformly at random (seeded) — the proposal stays next to the inner sampler's
choice — for at most ``max_attempts`` tries, then all parameters at once; only a search space that is
exhausted still yields a repeat (and then the objective's duplicate reuse applies).

Enqueued trials (the baseline, retried copies) keep their fixed parameters: Optuna applies those before any
relative parameter. A grid sampler needs no wrapper: it never repeats a grid point.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
from optuna.trial import FrozenTrial, TrialState

from qsearch.record.optuna_compat import is_enqueued
from qsearch.search._wrapping import WrappingSampler, note_proposal

#: trial user attribute naming what the wrapper changed (absent when the inner proposal was new)
REDRAWN_ATTR = "redrawn_params"
#: one-parameter re-draws before re-drawing every parameter
DEFAULT_MAX_ATTEMPTS = 32
#: trials that are not evaluated points of the search (the float baseline is marked with this user attribute)
_BASELINE_ATTR = "qsearch_baseline"


def params_key(params: dict[str, Any]) -> tuple:
    """A hashable, order-free identity of a parameter set."""
    return tuple(sorted((name, repr(value)) for name, value in params.items()))


class DistinctSampler(WrappingSampler):
    """Wraps ``inner`` so that no trial repeats an earlier trial's parameters (while the space allows)."""

    def __init__(self, inner: optuna.samplers.BaseSampler, seed: int | None = None,
                 max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> None:
        super().__init__(inner)
        self.max_attempts = max_attempts
        self._rng = np.random.default_rng(seed)
        self._random = optuna.samplers.RandomSampler(seed=None if seed is None else seed + 1)
        # one read of the study per trial (it is the expensive part on an RDB storage), shared by the search
        # space and the repeat check; finished trials never change, so their parameters are kept
        self._finished: dict[int, dict[str, Any] | None] = {}  # number -> params (None: not an evaluated point)
        self._space: dict[str, BaseDistribution] | None = None  # intersection over COMPLETE trials
        self._others: list[dict[str, Any]] = []  # params of the current trial's running contemporaries
        self._read_for: int | None = None

    def _read(self, study: optuna.Study, trial: FrozenTrial) -> None:
        if self._read_for == trial.number:
            return
        self._others = []
        for t in study.get_trials(deepcopy=False):
            if t.number in self._finished or t.number == trial.number or t.state == TrialState.WAITING:
                continue
            point = None if t.user_attrs.get(_BASELINE_ATTR) else t.params
            if not t.state.is_finished():
                if point is not None:
                    self._others.append(point)
                continue
            self._finished[t.number] = point
            if t.state == TrialState.COMPLETE:
                self._space = (dict(t.distributions) if self._space is None else
                               {n: d for n, d in self._space.items() if t.distributions.get(n) == d})
        self._read_for = trial.number

    def infer_relative_search_space(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        self._read(study, trial)
        return {name: d for name, d in (self._space or {}).items() if not d.single()}

    def sample_relative(self, study: optuna.Study, trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        if not search_space or is_enqueued(trial):
            return {}  # an enqueued trial (the baseline, a retried copy) keeps the parameters it was given
        inner_space = self.inner.infer_relative_search_space(study, trial)
        proposal = dict(self.inner.sample_relative(study, trial, inner_space)) if inner_space else {}
        proposal = {name: value for name, value in proposal.items() if name in search_space}
        for name, distribution in search_space.items():
            if name not in proposal:
                proposal[name] = self.inner.sample_independent(study, trial, name, distribution)
        self._read(study, trial)
        seen = self._seen(set(search_space))
        if params_key(proposal) not in seen:
            return proposal
        redrawn = self._redraw(study, trial, proposal, search_space, seen)
        if redrawn is not None:
            changed = sorted(n for n in proposal if params_key({n: proposal[n]}) != params_key({n: redrawn[n]}))
            note_proposal(study, trial, REDRAWN_ATTR, changed)
            return redrawn
        return proposal  # the space is exhausted: the objective reuses the earlier measurement

    def _seen(self, names: set[str]) -> set[tuple]:
        """Parameter sets, over ``names``, of the study's other evaluated (or running) trials."""
        points = [p for p in self._finished.values() if p is not None] + self._others
        return {params_key({n: p[n] for n in names}) for p in points if names <= p.keys()}

    def _redraw(self, study: optuna.Study, trial: FrozenTrial, proposal: dict[str, Any],
                space: dict[str, BaseDistribution], seen: set[tuple]) -> dict[str, Any] | None:
        names = sorted(space)
        for _ in range(self.max_attempts):
            name = names[int(self._rng.integers(len(names)))]
            candidate = {**proposal, name: self._random.sample_independent(study, trial, name, space[name])}
            if params_key(candidate) not in seen:
                return candidate
        for _ in range(self.max_attempts):
            candidate = {n: self._random.sample_independent(study, trial, n, space[n]) for n in names}
            if params_key(candidate) not in seen:
                return candidate
        return None

    def reseed_rng(self) -> None:
        super().reseed_rng()
        self._random.reseed_rng()
        self._rng = np.random.default_rng()


def distinct(sampler: optuna.samplers.BaseSampler, seed: int | None = None) -> optuna.samplers.BaseSampler:
    """``sampler`` wrapped in :class:`DistinctSampler` (a grid sampler is returned as is: it never repeats)."""
    if isinstance(sampler, optuna.samplers.GridSampler | DistinctSampler):
        return sampler
    return DistinctSampler(sampler, seed=seed)


__all__ = ["DEFAULT_MAX_ATTEMPTS", "REDRAWN_ATTR", "DistinctSampler", "distinct", "params_key"]
