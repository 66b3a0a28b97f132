"""The one front summary of a study: baseline -> front -> selected -> knee, computed once for every view.

``qsearch run`` (its end report), ``best``, ``plot`` and ``export`` (the model card) all render a
:class:`FrontSummary` instead of each recomputing the pipeline, so they always name the same trials.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from qsearch.metrics import check_objectives, cost_objective, metric
from qsearch.results._evidence import Multiplicity, confident_selection, paired_split_drop, test_levels
from qsearch.results._paired import PairedDrop
from qsearch.results._row import ResultRow
from qsearch.results._selection import knee_point, pareto_front, select_model

#: the confidence at which the rule is the point estimate (no evidence used)
POINT_ESTIMATE = 0.5


@dataclass(frozen=True)
class FrontSummary:
    """What a study found, in the objectives' own space."""

    objectives: tuple[str, ...]  # metric names from the registry, accuracy first as in the study
    budget: float | None  # max accuracy drop, points
    baseline: ResultRow | None  # the COMPLETE float baseline
    rows: tuple[ResultRow, ...]  # every recorded row
    front: tuple[ResultRow, ...]  # COMPLETE, feasible, non-baseline, non-dominated, one per configuration
    selected: ResultRow | None  # best cost objective within budget; ties: higher accuracy, lower trial number
    knee: ResultRow | None  # 2 objectives only
    states: dict[str, int] = field(default_factory=dict)  # recorded rows by state (COMPLETE, PRUNED, FAIL)
    accuracy_split: str = "validation"  # the split accuracy, drops and the selection are measured on
    reference: dict[str, Any] | None = None  # the non-spiking reference on the same splits (ReferenceResult)
    #: the float SNN against that reference, paired on validation (trial.BaselineCheck.as_dict), and how its
    #: settings were settled (tuned or not: execution._baseline); None for studies recorded before either
    baseline_check: dict[str, Any] | None = None
    baseline_tuning: dict[str, Any] | None = None
    confidence: float = POINT_ESTIMATE  # selection.confidence the pick was made at
    #: per finalist, the paired drop the pick was judged on (confirmed, or validation: ``evidence_kind``)
    evidence: dict[int, PairedDrop] = field(default_factory=dict)
    evidence_kind: str = "none"  # "cross-validation" | "validation" | "none" (point estimate)
    folds: int = 0  # cross-validation folds behind confirmed evidence
    passed: dict[int, bool] = field(default_factory=dict)  # finalist -> shown within budget at confidence
    point_selected: ResultRow | None = None  # what the point-estimate rule picks (the rule before #24)
    levels: dict[int, float] = field(default_factory=dict)  # finalist -> one-sided level of its test

    @property
    def candidates(self) -> tuple[ResultRow, ...]:
        """COMPLETE, non-baseline rows (feasible or not): what the search produced."""
        return tuple(r for r in self.rows if r.state == "COMPLETE" and not r.is_baseline)

    @property
    def selected_test_drop(self) -> float | None:
        """The selected model's drop on the test split against the baseline's test accuracy, points."""
        if self.selected is None or self.baseline is None:
            return None
        if self.selected.test_accuracy is None or self.baseline.test_accuracy is None:
            return None
        return self.baseline.test_accuracy - self.selected.test_accuracy

    @property
    def selected_within_budget_on_test(self) -> bool | None:
        """Whether the selected model also keeps the budget on test (reported only, never used to select)."""
        drop = self.selected_test_drop
        if drop is None:
            return None
        return self.budget is None or drop <= self.budget

    @property
    def risk_aware(self) -> bool:
        """Whether the pick was judged on paired evidence at a confidence (not the point estimate)."""
        return self.confidence != POINT_ESTIMATE and self.evidence_kind != "none" and self.budget is not None

    def bound_level(self, trial_number: int) -> float:
        """The one-sided level of a finalist's reported bound: the level its test was made at -- Holm's step
        for its rank among the finalists' p-values (1 - (1 - c) / (k - rank)), or ``confidence`` for the fixed
        sequence -- so a finalist shown within budget has its bound within budget."""
        return self.levels.get(trial_number, self.confidence)

    def upper_bound(self, trial_number: int) -> float | None:
        """A finalist's one-sided upper bound on its drop at :meth:`bound_level`, points."""
        drop = self.evidence.get(trial_number)
        return None if drop is None else drop.score_upper_bound(self.bound_level(trial_number))

    def p_within(self, trial_number: int) -> float | None:
        """P(drop <= budget) for a finalist (Jeffreys posterior on its discordant pairs)."""
        drop = self.evidence.get(trial_number)
        return None if drop is None or self.budget is None else drop.prob_within_budget(self.budget)

    def test_drop(self, row: ResultRow | None = None) -> PairedDrop | None:
        """The paired drop on the test split (reported only) of ``row`` (default: the selected model)."""
        row = self.selected if row is None else row
        if row is None or self.baseline is None:
            return None
        return paired_split_drop(self.baseline, row, "test")

    @property
    def finalists(self) -> tuple[ResultRow, ...]:
        """The rows the pick was judged among (with evidence), smallest cost first."""
        order = {r.trial_number: i for i, r in enumerate(self.rows)}
        chosen = [r for r in self.rows if r.trial_number in self.evidence]
        cost = metric(cost_objective(self.objectives))
        return tuple(sorted(chosen, key=lambda r: (-cost.sign * r.measured_value(cost.name),
                                                   order[r.trial_number])))

    def marks(self) -> dict[int, str]:
        """Trial number -> note ("selected", "knee" or both) for tables and outputs."""
        marks: dict[int, str] = {}
        if self.knee is not None:
            marks[self.knee.trial_number] = "knee"
        if self.selected is not None:
            number = self.selected.trial_number
            marks[number] = ", ".join(filter(None, ["selected", marks.get(number)]))
        return marks


def summarize(rows: Sequence[ResultRow], objectives: Sequence[str], budget: float | None, *,
              accuracy_split: str = "validation", reference: dict[str, Any] | None = None,
              baseline_check: dict[str, Any] | None = None, baseline_tuning: dict[str, Any] | None = None,
              confidence: float = POINT_ESTIMATE, evidence: dict[int, PairedDrop] | None = None,
              evidence_kind: str = "cross-validation", folds: int = 0,
              multiplicity: Multiplicity = "holm") -> FrontSummary:
    """The front, the selected model and the knee of ``rows`` (see :mod:`qsearch.results._selection`).

    With a ``confidence`` other than 0.5 and ``evidence`` (paired drops of the finalists), the pick is the
    risk-aware rule of :mod:`qsearch.results._evidence`; without evidence it falls back to the point estimate
    (``evidence_kind`` "none": studies recorded before paired evidence).
    """
    names = check_objectives(list(objectives))
    rows = tuple(sorted(rows, key=lambda r: r.trial_number))
    baseline = next((r for r in rows if r.is_baseline and r.state == "COMPLETE"), None)
    front = tuple(pareto_front([r for r in rows if not r.is_baseline and r.feasible], names))
    point = select_model(front, budget, names)
    selected, kind = point, "none"
    passed: dict[int, bool] = {}
    levels: dict[int, float] = {}
    evidence = dict(evidence or {})
    if confidence != POINT_ESTIMATE and budget is not None and evidence:
        selected, passed = confident_selection(rows, evidence, budget, confidence, names, multiplicity)
        kind = evidence_kind
        levels = test_levels(evidence, budget, confidence, multiplicity)
    return FrontSummary(objectives=names, budget=budget, baseline=baseline, rows=rows, front=front,
                        selected=selected, knee=knee_point(front, names),
                        states=dict(Counter(r.state for r in rows)), accuracy_split=accuracy_split,
                        reference=reference, baseline_check=baseline_check, baseline_tuning=baseline_tuning,
                        confidence=confidence, evidence=evidence if kind != "none" else {},
                        evidence_kind=kind, folds=folds if kind == "cross-validation" else 0, passed=passed,
                        point_selected=point, levels=levels)
