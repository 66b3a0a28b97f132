"""Paired evidence for each finalist, and the risk-aware selection rule that uses it (pure functions).

Evidence is a :class:`~qsearch.results.PairedDrop` per trial: either *confirmed* (the drop pooled over
cross-validation folds, float baseline and finalist retrained per fold: :mod:`qsearch.confirm`) or the paired
*validation* drop the search saw (biased: the front is where validation luck collects, docs/selection.md).

The rule (``selection.confidence`` = c): the selected model is the smallest (by the cost objective) whose
one-sided upper bound at c on its drop is within the budget, with the finalists' multiplicity corrected:

* ``holm`` (default): Holm's step-down over all finalists (no order assumed; the first test at (1 - c) / k).
* ``fixed_sequence``: finalists are tested in an order fixed before the evidence is looked at --
  from the largest to the smallest, which on a 2-objective front is from the smallest validation drop to the
  largest -- each at level 1 - c, stopping at the first that fails. The procedure controls the family-wise
  error at 1 - c without splitting it (Maurer, Hothorn & Lehmacher 1995; Westfall & Krishen 2001): the
  selected model is over budget with probability at most 1 - c, as far as each bound holds.
  Measured on digits (docs/selection.md), the largest finalist is not always the safest: one failure at the
  top then leaves no pick, which is why it is not the default.

Each test is Tango's unconditional score test (``PairedDrop.score_p_value_over_budget``). c = 0.5 is the
point-estimate rule of :func:`~qsearch.results.select_model`, unchanged (no evidence needed).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from qsearch.metrics import cost_objective, metric
from qsearch.results._correctness import unpack_correct
from qsearch.results._paired import PairedDrop, paired_drop_of_fractions, pooled, within_budget_after_holm
from qsearch.results._row import ResultRow

Multiplicity = Literal["fixed_sequence", "holm"]


def fraction_correct(draws: Sequence[str], n: int) -> NDArray[np.float64]:
    """Per-sample fraction correct over packed evaluation draws of ``n`` samples (:func:`pooled`)."""
    if not draws:
        raise ValueError("no evaluation draws recorded")
    return pooled([unpack_correct(d, n) for d in draws])


def paired_split_drop(baseline: ResultRow, row: ResultRow, split: str) -> PairedDrop | None:
    """``row``'s paired drop on ``split`` ("validation" or "test") against the baseline, None without evidence."""
    n = getattr(row, f"{split}_n")
    if not baseline.paired or not row.paired or not n or getattr(baseline, f"{split}_n") != n:
        return None
    try:
        return paired_drop_of_fractions(fraction_correct(baseline.paired[split], n),
                                        fraction_correct(row.paired[split], n))
    except (KeyError, ValueError):  # recorded for another split: no pairing
        return None


def finalist_rows(rows: Sequence[ResultRow], budget: float, margin: float, count: int,
                  objectives: Sequence[str], max_memory_kib: float | None = None) -> list[ResultRow]:
    """The trials worth confirming ("the front within the budget plus a margin"), smallest cost first.

    Validation noise makes dominance on validation unreliable, so the front here is loose: a trial is kept
    unless another is at most as costly *and* more than ``margin`` points more accurate; and its validation
    drop may exceed the budget by up to ``margin``. Of those (one per configuration), ``count`` are taken
    spread evenly over the cost ranks, smallest and largest included: the rule walks them from the largest
    down, so the set spans from a safe anchor to the smallest candidates.
    """
    cost = metric(cost_objective(objectives))
    pool = [r for r in rows if r.state == "COMPLETE" and not r.is_baseline and r.accuracy_drop is not None
            and r.accuracy is not None and r.accuracy_drop <= budget + margin and r.value(cost.name) is not None
            and (max_memory_kib is None or (r.memory_kib is not None and r.memory_kib <= max_memory_kib))]
    worth = {r.trial_number: -cost.sign * r.measured_value(cost.name) for r in pool}  # smaller is better
    loose = [r for r in pool if not any(worth[o.trial_number] <= worth[r.trial_number]
                                        and (o.accuracy or 0.0) > (r.accuracy or 0.0) + margin for o in pool)]
    unique: dict[str, ResultRow] = {}
    for row in sorted(loose, key=lambda r: r.trial_number):
        unique.setdefault(json.dumps(row.config, sort_keys=True), row)
    ordered = sorted(unique.values(), key=lambda r: (worth[r.trial_number], r.trial_number))
    if len(ordered) <= count:
        return ordered
    if count == 1:
        return ordered[:1]
    picks = sorted({round(i * (len(ordered) - 1) / (count - 1)) for i in range(count)})
    return [ordered[i] for i in picks]


def test_within_budget(drop: PairedDrop, budget: float, confidence: float) -> bool:
    """Whether "the drop exceeds ``budget``" is rejected at level 1 - ``confidence`` (one finalist)."""
    return drop.score_p_value_over_budget(budget) <= 1.0 - confidence


def test_levels(evidence: Mapping[int, PairedDrop], budget: float, confidence: float,
                multiplicity: Multiplicity = "holm") -> dict[int, float]:
    """Each finalist's one-sided test level: Holm's step 1 - (1 - c) / (k - rank), rank by p-value (0 first);
    the fixed sequence tests every finalist at c."""
    if multiplicity == "fixed_sequence":
        return {number: confidence for number in evidence}
    order = sorted(evidence, key=lambda k: (evidence[k].score_p_value_over_budget(budget), k))
    return {number: 1.0 - (1.0 - confidence) / (len(order) - rank) for rank, number in enumerate(order)}


def confident_selection(rows: Sequence[ResultRow], evidence: Mapping[int, PairedDrop], budget: float,
                        confidence: float, objectives: Sequence[str],
                        multiplicity: Multiplicity = "holm") -> tuple[ResultRow | None, dict[int, bool]]:
    """The selected row and, per finalist with evidence, whether it was shown within budget (module docstring).

    Finalists that the fixed sequence never reached (a larger one failed first) are marked False.
    """
    cost = metric(cost_objective(objectives))
    finalists = [r for r in rows if r.trial_number in evidence and not r.is_baseline and r.state == "COMPLETE"]
    # largest (worst cost) first: on a 2-objective front, the safest first
    finalists.sort(key=lambda r: (cost.sign * r.measured_value(cost.name), r.trial_number))
    passed: dict[int, bool] = {}
    if multiplicity == "fixed_sequence":
        going = True
        for row in finalists:
            ok = going and test_within_budget(evidence[row.trial_number], budget, confidence)
            passed[row.trial_number] = ok
            going = ok
    elif multiplicity == "holm":
        flags = within_budget_after_holm([evidence[r.trial_number] for r in finalists], budget, confidence,
                                         method="score")
        passed = {r.trial_number: ok for r, ok in zip(finalists, flags, strict=True)}
    else:
        raise ValueError(f"selection.multiplicity: {multiplicity!r} is unknown; allowed: fixed_sequence, holm")
    chosen = [r for r in finalists if passed[r.trial_number]]
    if not chosen:
        return None, passed
    best = min(chosen, key=lambda r: (-cost.sign * r.measured_value(cost.name), -(r.accuracy or 0.0),
                                      r.trial_number))
    return best, passed
