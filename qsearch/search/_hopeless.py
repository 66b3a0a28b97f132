"""Stopping QAT trials that can no longer reach the accuracy budget, from the study's own learning curves.

Optuna has no pruning for multi-objective studies (``trial.report`` raises there), so nothing stopped a QAT
trial whose accuracy was already far below the budget: on the default digits study 58 % of all QAT training
time went to trials that ended infeasible. The rule here is the study's own evidence, not a model of it:

- a *curve* is one finished QAT trial's validation accuracy after each training epoch, in percent, and its
  final accuracy (the study's objective accuracy, on ``accuracy_split``: the gap between the two splits is part
  of what the curve measured);
- with ``r`` epochs still to run, the study has seen a trial gain at most ``G(r) = max(final - curve[-1 - r])``;
  the bound is that maximum, made non-decreasing in ``r`` (more epochs to go never allow less), plus a safety
  ``margin`` in percentage points;
- a trial at ``accuracy`` after an epoch with ``r`` epochs to go is *hopeless* when
  ``accuracy + bound(r) < target`` (target: float baseline accuracy minus ``max_accuracy_drop``).

Until ``min_curves`` curves cover ``r`` epochs to go there is no bound (the prior is "anything can happen") and
no trial is stopped: the first few QAT trials of a study always run to the end. :func:`replay` measures the
rule's false stops (a stopped trial that would have ended feasible) on recorded curves, in finishing order,
each trial judged by the rule built from the curves before it — exactly what a study does.

No Optuna or torch here; the objective (``qsearch.search._objective``) reads the curves from the study and
raises :class:`HopelessTrialError` from the epoch callback, and records the trial PRUNED with reason
``hopeless`` and the :class:`Evidence`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

from qsearch.record import keys
from qsearch.stops import StopReason
from qsearch.trial import EpochCallback, StopTraining

#: user attribute holding a trial's validation accuracy per epoch, in percent (a TrialOutcome field)
CURVE_ATTR = keys.VALIDATION_CURVE
HOPELESS_REASON = StopReason.HOPELESS
#: user attribute holding the :class:`Evidence` of a hopeless stop
EVIDENCE_ATTR = keys.HOPELESS_EVIDENCE
DEFAULT_MARGIN = 2.0
DEFAULT_MIN_CURVES = 5



@dataclass(frozen=True)
class Curve:
    """One finished trial: validation accuracy (percent) after each epoch and the final objective accuracy."""

    validation: tuple[float, ...]
    final: float


@dataclass(frozen=True)
class Evidence:
    """Why a trial was stopped: after ``epoch`` (0-based) it had ``accuracy``; it needed ``needed`` and no
    finished trial (plus the margin) gained more than ``bound`` in its remaining epochs."""

    epoch: int
    accuracy: float
    needed: float
    bound: float
    remaining: int
    curves: int

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)

    def describe(self) -> str:
        return (f"hopeless after epoch {self.epoch}: validation accuracy {self.accuracy:.2f} % + at most "
                f"{self.bound:.2f} pt in {self.remaining} epochs < {self.needed:.2f} % needed")


class HopelessTrialError(StopTraining):
    """Raised from the epoch callback of a trial that can no longer reach the accuracy budget."""

    def __init__(self, evidence: Evidence) -> None:
        super().__init__(evidence.describe())
        self.evidence = evidence


@dataclass(frozen=True)
class HopelessRule:
    """``bounds[r]``: the most accuracy (percent points, margin included) a trial may still gain with ``r``
    epochs to go, for ``r`` up to the longest curve; ``epochs``: the judged trial's planned epochs."""

    bounds: tuple[float, ...]
    epochs: int
    support: tuple[int, ...]

    @classmethod
    def from_curves(cls, curves: Iterable[Curve], epochs: int, margin: float = DEFAULT_MARGIN,
                    min_curves: int = DEFAULT_MIN_CURVES) -> HopelessRule:
        """The rule for a trial of ``epochs`` epochs; ``r`` with fewer than ``min_curves`` curves gets no bound."""
        gains: list[list[float]] = []
        for curve in curves:
            for remaining, accuracy in enumerate(reversed(curve.validation)):
                while len(gains) <= remaining:
                    gains.append([])
                gains[remaining].append(curve.final - accuracy)
        bounds, support, running = [], [], float("-inf")
        for values in gains:
            if len(values) < min_curves:
                break  # no evidence for this many epochs to go, nor for more
            running = max(running, max(values))
            bounds.append(running + margin)
            support.append(len(values))
        return cls(bounds=tuple(bounds), epochs=epochs, support=tuple(support))

    def bound(self, remaining: int) -> float | None:
        """The largest further gain allowed with ``remaining`` epochs to go (None: no evidence, never stop)."""
        return self.bounds[remaining] if 0 <= remaining < len(self.bounds) else None

    def should_stop(self, epoch: int, accuracy: float, target: float) -> Evidence | None:
        """Evidence that a trial at ``accuracy`` (percent) after ``epoch`` (0-based) cannot reach ``target``."""
        remaining = self.epochs - 1 - epoch
        bound = self.bound(remaining)
        if bound is None or accuracy + bound >= target:
            return None
        return Evidence(epoch=epoch, accuracy=accuracy, needed=target, bound=bound, remaining=remaining,
                        curves=self.support[remaining])


def study_curves(trials: Iterable) -> list[Curve]:
    """The QAT learning curves of finished trials (Optuna ``FrozenTrial``s, in trial order): trained ones only,
    not the baseline nor reused duplicates (their curve is their original's)."""
    curves = []
    for t in sorted(trials, key=lambda t: t.number):
        attrs = t.user_attrs
        if (attrs.get(CURVE_ATTR) and (attrs.get(keys.CONFIG) or {}).get("scheme") == "qat"
                and keys.DUPLICATE_OF not in attrs and attrs.get(keys.ACCURACY) is not None):
            curves.append(Curve(validation=tuple(attrs[CURVE_ATTR]), final=float(attrs[keys.ACCURACY])))
    return curves


def judging_hook(rule: HopelessRule, target: float, on_epoch: EpochCallback | None) -> EpochCallback:
    """The epoch callback of a judged trial: reports to ``on_epoch``, then raises :class:`HopelessTrialError`
    when the rule says so (``accuracy`` arrives as a fraction, as training reports it)."""

    def hook(epoch: int, loss: float, accuracy: float) -> None:
        if on_epoch is not None:
            on_epoch(epoch, loss, accuracy)
        evidence = rule.should_stop(epoch, 100.0 * accuracy, target)
        if evidence is not None:
            raise HopelessTrialError(evidence)

    return hook


@dataclass(frozen=True)
class ReplayReport:
    """What the rule would have done to recorded curves (see :func:`replay`)."""

    trials: int
    stopped: int
    false_stops: int  # stopped, but would have ended feasible (final >= target)
    infeasible: int  # trials that ended infeasible: the ones worth stopping
    epochs_total: int
    epochs_saved: int

    @property
    def false_stop_rate(self) -> float:
        """False stops per trial that would have ended feasible."""
        feasible = self.trials - self.infeasible
        return self.false_stops / feasible if feasible else 0.0

    @property
    def saved_fraction(self) -> float:
        return self.epochs_saved / self.epochs_total if self.epochs_total else 0.0


def replay(curves: Sequence[Curve], target: float, margin: float = DEFAULT_MARGIN,
           min_curves: int = DEFAULT_MIN_CURVES) -> ReplayReport:
    """Judge each curve (recorded with the rule off), in order, by the rule built from the curves before it
    that the rule let finish — a stopped trial leaves no full curve, as in a study with the rule on."""
    stopped = false_stops = infeasible = total = saved = 0
    evidence: list[Curve] = []
    for curve in curves:
        epochs = len(curve.validation)
        total += epochs
        feasible = curve.final >= target
        infeasible += not feasible
        rule = HopelessRule.from_curves(evidence, epochs, margin, min_curves)
        for epoch, accuracy in enumerate(curve.validation):
            if rule.should_stop(epoch, accuracy, target) is not None:
                stopped += 1
                false_stops += feasible
                saved += epochs - 1 - epoch
                break
        else:
            evidence.append(curve)
    return ReplayReport(trials=len(curves), stopped=stopped, false_stops=false_stops, infeasible=infeasible,
                        epochs_total=total, epochs_saved=saved)


__all__ = ["CURVE_ATTR", "DEFAULT_MARGIN", "DEFAULT_MIN_CURVES", "EVIDENCE_ATTR", "HOPELESS_REASON", "Curve",
           "Evidence", "HopelessRule", "HopelessTrialError", "ReplayReport", "judging_hook", "replay", "study_curves"]
