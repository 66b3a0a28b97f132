"""Pareto fronts and picking one model from them (pure functions over result rows).

Everything is computed in the objectives' own space: each objective is read from its results column and
compared in its own direction (:mod:`qsearch.metrics`), so a study of accuracy and SOPs gets a front, a
selection and a knee over SOPs, not over memory.

Selection rule (Q-SpiNN's last step, made explicit): among COMPLETE, feasible, non-baseline trials on the
front whose accuracy drop against the float baseline is within the budget, pick the one with the smallest
cost objective (the first objective other than accuracy, memory by default); ties go to the higher accuracy,
then the lower trial number. In two objectives this is also the best such trial among *all* rows: any trial
that dominates it would be feasible, within budget and preferred by the rule.

Knee of a 2-objective front: normalise both objectives of the front to [0, 1] and take the point farthest from
the straight line joining the front's two extremes (the "kneedle" idea, Satopaa et al. 2011).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from qsearch.metrics import ACCURACY, cost_objective, metric
from qsearch.results._row import ResultRow

DEFAULT_OBJECTIVES = ("accuracy", "memory")


def _key(row: ResultRow, objectives: Sequence[str]) -> tuple[float, ...]:
    """The row's objective values, each signed so that larger is better."""
    return tuple(metric(o).sign * row.measured_value(o) for o in objectives)


def _dominates(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return all(x >= y for x, y in zip(a, b, strict=True)) and any(x > y for x, y in zip(a, b, strict=True))


def _measured(row: ResultRow, objectives: Sequence[str]) -> bool:
    return row.state == "COMPLETE" and all(row.value(o) is not None for o in objectives)


def front_order(objectives: Sequence[str]) -> Callable[[ResultRow], tuple[float, float, int]]:
    """Sort key of a front: the cost objective from best to worst, then accuracy from high to low."""
    cost = metric(cost_objective(objectives))
    return lambda r: (-cost.sign * r.measured_value(cost.name), -r.measured_value(ACCURACY), r.trial_number)


def pareto_front(rows: Sequence[ResultRow], objectives: Sequence[str] = DEFAULT_OBJECTIVES) -> list[ResultRow]:
    """Non-dominated COMPLETE rows with every objective measured, each configuration once, in front order.

    The caller chooses the candidates (feasible, non-baseline: see :func:`qsearch.results.summarize`).
    """
    candidates = [r for r in rows if _measured(r, objectives)]
    keys = [_key(r, objectives) for r in candidates]
    front = [r for r, k in zip(candidates, keys, strict=True)
             if not any(_dominates(other, k) for other in keys if other is not k)]
    # samplers re-propose configurations; training is deterministic, so a repeat is the same point: show it once
    unique: dict[tuple, ResultRow] = {}
    for row in sorted(front, key=lambda r: r.trial_number):
        unique.setdefault((_key(row, objectives), json.dumps(row.config, sort_keys=True)), row)
    return sorted(unique.values(), key=front_order(objectives))


def select_model(rows: Sequence[ResultRow], max_accuracy_drop: float | None,
                 objectives: Sequence[str] = DEFAULT_OBJECTIVES) -> ResultRow | None:
    """The best feasible trial by the cost objective within the accuracy budget (see module docstring)."""
    cost = metric(cost_objective(objectives))
    pool = [r for r in rows if r.state == "COMPLETE" and not r.is_baseline and r.feasible
            and r.accuracy_drop is not None and r.value(cost.name) is not None and r.accuracy is not None
            and (max_accuracy_drop is None or r.accuracy_drop <= max_accuracy_drop)]
    if not pool:
        return None
    return min(pool, key=lambda r: (-cost.sign * r.measured_value(cost.name), -r.measured_value(ACCURACY),
                                    r.trial_number))


def knee_point(front: Sequence[ResultRow], objectives: Sequence[str] = DEFAULT_OBJECTIVES) -> ResultRow | None:
    """The knee of a 2-objective front, in the objectives' own units (see module docstring)."""
    if len(objectives) != 2:
        return None
    cost = cost_objective(objectives)
    points = [r for r in front if not r.is_baseline]
    if len(points) < 3:
        return None
    xs = [r.measured_value(cost) for r in points]
    ys = [r.measured_value(ACCURACY) for r in points]
    x_lo, x_hi, y_lo, y_hi = min(xs), max(xs), min(ys), max(ys)
    if x_hi == x_lo or y_hi == y_lo:
        return None
    norm = [((x - x_lo) / (x_hi - x_lo), (y - y_lo) / (y_hi - y_lo)) for x, y in zip(xs, ys, strict=True)]
    (x0, y0), (x1, y1) = min(norm), max(norm)
    dx, dy = x1 - x0, y1 - y0
    length = (dx * dx + dy * dy) ** 0.5
    distances = [abs(dy * x - dx * y + x1 * y0 - y1 * x0) / length for x, y in norm]
    return points[max(range(len(points)), key=distances.__getitem__)]
