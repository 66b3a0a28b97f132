"""One read of the study per trial: its trials as they were when the trial started, shared by every check.

On an RDB storage each ``study.get_trials`` is a query (Optuna's cache keeps only finished trials) and a sort of
the whole list. The quota guard, the baseline checks, the duplicate look-up and the hopeless rule read the study
at the start of every trial; each read it on its own (five reads per trial). They now ask :func:`trial_snapshot`,
which reads once, for whichever asks first, and hands the same record to the others for the rest of that trial.

A snapshot is as fresh as those reads were (taken when the trial starts, before it samples), and none of the
checks needs more: the trials below this one that hold a quota slot can only leave it, a finished trial never
changes. What it cannot answer — the accuracy of a baseline another worker still trains — the objective reads
afresh (``_objective.baseline_accuracy`` waits for it).
"""

from __future__ import annotations

import weakref
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from qsearch.record import keys


@dataclass(frozen=True)
class BaselineState:
    """The study's float baseline: the accuracy of the first complete one (None: none complete) and whether one
    is running or waiting to run."""

    accuracy: float | None
    running: bool
    waiting: bool

    @property
    def settled(self) -> bool:
        """Complete, and no other baseline can still finish: its accuracy is the study's for good."""
        return self.accuracy is not None and not self.running and not self.waiting


@dataclass(frozen=True)
class StudySnapshot:
    """The study's trials, in number order, as read once (:meth:`read`)."""

    trials: tuple[FrozenTrial, ...]

    @classmethod
    def read(cls, study: optuna.Study) -> StudySnapshot:
        return cls(tuple(study.get_trials(deepcopy=False)))

    def in_states(self, states: Collection[TrialState]) -> list[FrozenTrial]:
        return [t for t in self.trials if t.state in states]

    def slot_holders_below(self, number: int, states: Collection[TrialState]) -> int:
        """Trials in ``states`` numbered below ``number`` (the quota guard's count)."""
        return sum(1 for t in self.trials if t.number < number and t.state in states)

    def baseline(self) -> BaselineState:
        accuracy, running, waiting = None, False, False
        for t in self.trials:
            if not t.user_attrs.get(keys.BASELINE):
                continue
            if t.state == TrialState.COMPLETE and accuracy is None and keys.ACCURACY in t.user_attrs:
                accuracy = float(t.user_attrs[keys.ACCURACY])
            running |= t.state == TrialState.RUNNING
            waiting |= t.state == TrialState.WAITING
        return BaselineState(accuracy, running, waiting)

    def baseline_failure(self) -> str | None:
        """The one-line diagnosis of a baseline that stopped the study, if there is one."""
        for t in self.trials:
            if (t.state == TrialState.PRUNED and t.user_attrs.get(keys.BASELINE)
                    and t.user_attrs.get(keys.BASELINE_FAILURE)):
                return str(t.user_attrs[keys.BASELINE_FAILURE])
        return None

    def earlier_duplicate(self, params: Mapping[str, Any], config: Mapping[str, Any]) -> FrozenTrial | None:
        """The first COMPLETE non-baseline trial with these parameters and this configuration (``to_dict``).

        NSGA-II re-proposes evaluated points (crossover of two equal parents, mutation back to a parent's
        value); comparing the recorded configuration as well keeps a study continued with another study file
        honest.
        """
        for t in self.trials:
            if (t.state == TrialState.COMPLETE and not t.user_attrs.get(keys.BASELINE) and t.params == params
                    and t.user_attrs.get(keys.CONFIG) == config):
                return t
        return None

    def dominated(self, values: Sequence[float], directions: Sequence[str]) -> bool:
        """Whether a COMPLETE feasible candidate of the snapshot dominates ``values`` (no worse in every
        objective, better in one): such a point is not on the front the snapshot shows."""
        signs = [1.0 if d == "maximize" else -1.0 for d in directions]
        mine = [s * v for s, v in zip(signs, values, strict=True)]
        for t in self.trials:
            if t.state != TrialState.COMPLETE or t.values is None or t.user_attrs.get(keys.BASELINE) \
                    or not t.user_attrs.get(keys.FEASIBLE):
                continue
            theirs = [s * v for s, v in zip(signs, t.values, strict=True)]
            if all(a >= b for a, b in zip(theirs, mine, strict=True)) and theirs != mine:
                return True
        return False


#: the snapshot of each live trial, dropped with the trial object
_SNAPSHOTS: weakref.WeakKeyDictionary[optuna.Trial, StudySnapshot] = weakref.WeakKeyDictionary()


def trial_snapshot(trial: optuna.Trial) -> StudySnapshot:
    """The study as read at ``trial``'s start: read on the first call for this trial, the same record after."""
    snapshot = _SNAPSHOTS.get(trial)
    if snapshot is None:
        snapshot = _SNAPSHOTS[trial] = StudySnapshot.read(trial.study)
    return snapshot


__all__ = ["BaselineState", "StudySnapshot", "trial_snapshot"]
