"""The one front summary of a study: baseline -> front -> selected -> knee, computed once for every view.

``qsearch run`` (its end report), ``best``, ``plot`` and ``export`` (the model card) all render a
:class:`FrontSummary` instead of each recomputing the pipeline, so they always name the same trials.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from qsearch.metrics import check_objectives
from qsearch.results._row import ResultRow
from qsearch.results._selection import knee_point, pareto_front, select_model


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
              accuracy_split: str = "validation", reference: dict[str, Any] | None = None) -> FrontSummary:
    """The front, the selected model and the knee of ``rows`` (see :mod:`qsearch.results._selection`)."""
    names = check_objectives(list(objectives))
    rows = tuple(sorted(rows, key=lambda r: r.trial_number))
    baseline = next((r for r in rows if r.is_baseline and r.state == "COMPLETE"), None)
    front = tuple(pareto_front([r for r in rows if not r.is_baseline and r.feasible], names))
    return FrontSummary(objectives=names, budget=budget, baseline=baseline, rows=rows, front=front,
                        selected=select_model(front, budget, names), knee=knee_point(front, names),
                        states=dict(Counter(r.state for r in rows)), accuracy_split=accuracy_split,
                        reference=reference)
