"""The initial design: a ladder of weight widths proposed before the sampler's own first generation.

NSGA-II draws its first generation at random. A random configuration of the default space mixes eight choices,
and one narrow layer or state format is enough to break accuracy, so most of that generation lands below the
accuracy budget and the front starts from a few lucky draws. ``sampler.initial_design: ladder`` (the default)
proposes first one trial per weight width — every layer at that width, every other parameter at the float
baseline's value (the most precise neuron formats, no pruning, round-to-nearest) — PTQ rungs first (no
training: the whole memory axis within seconds), then QAT rungs, each in ascending width. The rungs measure what
the weight width alone costs on the user's data, and give the sampler parents on the feasible front from the
start, without qsearch knowing where that front lies.

:class:`InitialDesignSampler` wraps the sampler (under the distinct wrapper): the k-th trial after the baseline,
by trial number, gets rung k. Trial numbers are unique within a study, so workers that start together take
different rungs, and a continued study goes on with the next rung. Nothing is enqueued, so a study stopped early
(a silent baseline, a small ``n_trials``) leaves no waiting trials behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import optuna
from optuna.distributions import BaseDistribution
from optuna.trial import FrozenTrial

from qsearch.record.keys import BASELINE, INITIAL_DESIGN
from qsearch.record.optuna_compat import is_enqueued
from qsearch.search._space import baseline_params
from qsearch.search._wrapping import WrappingSampler, note_proposal
from qsearch.studyfile import StudyFile

LADDER = "ladder"


def ladder_params(study: StudyFile) -> list[dict[str, Any]]:
    """The rungs of the ladder, in the order they are proposed (PTQ then QAT, each in ascending width)."""
    space = study.search_space
    base = baseline_params(study)
    weight_keys = [key for key in base if key == "weight_bits" or key.startswith("weight_bits_l")]
    return [{**base, "scheme": scheme, **dict.fromkeys(weight_keys, width)}
            for scheme in ("ptq", "qat") if scheme in space.scheme
            for width in sorted(space.weight_bits)]


class InitialDesignSampler(WrappingSampler):
    """Wraps ``inner``: proposes ``rungs`` to the first trials after the baseline, in order, then defers to it."""

    def __init__(self, inner: optuna.samplers.BaseSampler, rungs: Sequence[dict[str, Any]],
                 design: str = LADDER) -> None:
        super().__init__(inner)
        self.rungs = [dict(rung) for rung in rungs]
        self.design = design
        self._exhausted = not self.rungs  # every rung is taken: the study is read no more
        self._rung_of: dict[int, dict[str, Any] | None] = {}  # trial number -> its rung (None: the sampler's)

    def _rung(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, Any] | None:
        """Rung k for the k-th trial after the baseline, counted by trial number (unique per study, assigned by
        the storage), so workers that start together take different rungs without seeing each other's
        parameters."""
        if trial.number in self._rung_of:
            return self._rung_of[trial.number]
        rung = None
        if not self._exhausted and not is_enqueued(trial):  # enqueued trials keep their parameters
            index = sum(1 for t in study.get_trials(deepcopy=False)
                        if t.number < trial.number and not t.user_attrs.get(BASELINE))
            self._exhausted = index >= len(self.rungs) - 1  # later trials have higher numbers
            rung = self.rungs[index] if index < len(self.rungs) else None
            if rung is not None:
                note_proposal(study, trial, INITIAL_DESIGN, self.design)
        self._rung_of = {trial.number: rung}  # only the current trial is ever asked about again
        return rung

    def sample_relative(self, study: optuna.Study, trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        rung = self._rung(study, trial)
        if rung is None:
            return self.inner.sample_relative(study, trial, search_space)
        return {name: rung[name] for name in search_space if name in rung}

    def sample_independent(self, study: optuna.Study, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        rung = self._rung(study, trial)
        if rung is not None and param_name in rung:
            return rung[param_name]
        return self.inner.sample_independent(study, trial, param_name, param_distribution)


def initial_design(sampler: optuna.samplers.BaseSampler, study: StudyFile) -> optuna.samplers.BaseSampler:
    """``sampler`` behind the study file's initial design (as is for ``none`` and for a grid, which visits
    every rung anyway)."""
    if study.sampler.initial_design != LADDER or isinstance(sampler, optuna.samplers.GridSampler):
        return sampler
    return InitialDesignSampler(sampler, ladder_params(study))


__all__ = ["LADDER", "InitialDesignSampler", "initial_design", "ladder_params"]
