"""Pareto fronts and picking one model from them (pure functions over result rows).

Selection rule (Q-SpiNN's last step, made explicit): among COMPLETE, feasible, non-baseline trials whose
accuracy drop against the float baseline is within the budget, pick the one with the smallest memory; ties go
to the higher accuracy, then the lower trial number.

Knee of the front: normalise accuracy and memory of the front to [0, 1] and take the point farthest from the
straight line joining the front's two extremes (the "kneedle" idea, Satopaa et al. 2011).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

#: objective name -> (results column, +1 maximize / -1 minimize)
OBJECTIVE_COLUMNS = {"accuracy": ("accuracy", 1), "memory": ("memory_kib", -1), "sops": ("sops", -1),
                     "energy": ("energy_nj", -1), "timesteps": ("timesteps", -1)}


def _key(row: dict, objectives: Sequence[str]) -> tuple[float, ...]:
    return tuple(sign * float(row[col]) for col, sign in (OBJECTIVE_COLUMNS[o] for o in objectives))


def _dominates(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return all(x >= y for x, y in zip(a, b, strict=True)) and any(x > y for x, y in zip(a, b, strict=True))


def pareto_front(rows: Sequence[dict], objectives: Sequence[str] = ("accuracy", "memory")) -> list[dict]:
    """Non-dominated COMPLETE rows (all objectives as columns of the results table), each configuration once."""
    candidates = [r for r in rows if r["state"] == "COMPLETE" and r.get("accuracy") is not None]
    keys = [_key(r, objectives) for r in candidates]
    front = [r for r, k in zip(candidates, keys, strict=True)
             if not any(_dominates(other, k) for other in keys if other is not k)]
    # samplers re-propose configurations; training is deterministic, so a repeat is the same point: show it once
    unique: dict[tuple, dict] = {}
    for row in sorted(front, key=lambda r: r["trial_number"]):
        unique.setdefault((_key(row, objectives), json.dumps(row.get("config"), sort_keys=True)), row)
    return sorted(unique.values(), key=lambda r: (r["memory_kib"], -r["accuracy"]))


def select_model(rows: Sequence[dict], max_accuracy_drop: float | None) -> dict | None:
    """Smallest-memory feasible trial within the accuracy budget (see module docstring)."""
    pool = [r for r in rows if r["state"] == "COMPLETE" and not r["is_baseline"] and r["feasible"]
            and r.get("accuracy_drop") is not None
            and (max_accuracy_drop is None or r["accuracy_drop"] <= max_accuracy_drop)]
    if not pool:
        return None
    return min(pool, key=lambda r: (r["memory_kib"], -r["accuracy"], r["trial_number"]))


def knee_point(front: Sequence[dict]) -> dict | None:
    """The knee of a 2-D accuracy/memory front (see module docstring)."""
    points = [r for r in front if not r["is_baseline"]]
    if len(points) < 3:
        return None
    mem = [r["memory_kib"] for r in points]
    acc = [r["accuracy"] for r in points]
    m_lo, m_hi, a_lo, a_hi = min(mem), max(mem), min(acc), max(acc)
    if m_hi == m_lo or a_hi == a_lo:
        return None
    norm = [((m - m_lo) / (m_hi - m_lo), (a - a_lo) / (a_hi - a_lo)) for m, a in zip(mem, acc, strict=True)]
    (x0, y0), (x1, y1) = min(norm), max(norm)
    dx, dy = x1 - x0, y1 - y0
    length = (dx * dx + dy * dy) ** 0.5
    distances = [abs(dy * x - dx * y + x1 * y0 - y1 * x0) / length for x, y in norm]
    return points[max(range(len(points)), key=distances.__getitem__)]
