"""What an objective is, defined once: the registry every layer reads (study file, Optuna, SQL, plots, reports).

A :class:`Metric` ties together the study-file name of an objective, the results-table column that holds it,
its direction, the name Optuna records for it, how to compute it from a trial's measurements, and how a figure
labels it. Adding an objective is one entry in :data:`METRICS`. This module imports nothing of qsearch's heavy
parts (torch, SQLAlchemy, Optuna) so that validation and rendering can read it cheaply.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

#: bits in a kibibyte (memory is measured in bits and reported in KiB)
BITS_PER_KIB = 8192
#: picojoules in a nanojoule (energy is modelled in pJ and reported in nJ)
PJ_PER_NJ = 1000


def bits_to_kib(bits: float) -> float:
    return bits / BITS_PER_KIB


def pj_to_nj(pj: float) -> float:
    return pj / PJ_PER_NJ


@dataclass(frozen=True)
class Metric:
    """One objective a study can optimise."""

    name: str  # as written in a study file's ``objectives``
    column: str  # the results-table column (and result-row field) holding it
    direction: Literal["maximize", "minimize"]
    optuna_name: str  # Optuna's metric name for it: the quantity with its unit
    axis_title: str  # figure axis label, with the unit
    log_axis: bool  # spans orders of magnitude (and is always positive): draw it on a log axis
    from_outcome: Callable[[Any], float]  # its value from a trial outcome (qsearch.search.TrialOutcome)

    @property
    def sign(self) -> int:
        """+1 when larger is better, -1 when smaller is better (multiply to compare as "larger is better")."""
        return 1 if self.direction == "maximize" else -1


METRICS: dict[str, Metric] = {m.name: m for m in (
    Metric("accuracy", "accuracy", "maximize", "accuracy_pct", "accuracy (%)", False,
           lambda outcome: outcome.accuracy),
    Metric("memory", "memory_kib", "minimize", "memory_kib", "memory (KiB)", True,
           lambda outcome: bits_to_kib(outcome.memory_bits)),
    Metric("sops", "sops", "minimize", "sops", "synaptic operations (SOPs)", True,
           lambda outcome: outcome.sops),
    Metric("energy", "energy_nj", "minimize", "energy_nj", "energy (nJ)", True,
           lambda outcome: pj_to_nj(outcome.energy_pj)),
    Metric("timesteps", "timesteps", "minimize", "timesteps", "timesteps T", False,
           lambda outcome: float(outcome.config.timesteps)),
)}
#: the objective names a study file may list
OBJECTIVE_NAMES: tuple[str, ...] = tuple(METRICS)
#: the objective every study has (the selection budget is a drop in it)
ACCURACY = "accuracy"


def accuracy_standard_error(accuracy_pct: float | None, n: int | None) -> float | None:
    """Standard error of an accuracy measured on ``n`` samples, in points: sqrt(p (1 - p) / n).

    How far a repeat on another sample of the same size would typically land; None without a sample count.
    """
    if accuracy_pct is None or not n:
        return None
    p = accuracy_pct / 100
    return 100 * (p * (1 - p) / n) ** 0.5


def metric(name: str) -> Metric:
    """The registry entry of ``name``; ValueError naming the allowed names otherwise."""
    try:
        return METRICS[name]
    except KeyError:
        raise ValueError(f"objectives: unknown {name!r}; allowed: {', '.join(OBJECTIVE_NAMES)}") from None


def check_objectives(objectives: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """2 or 3 distinct registered objectives including accuracy (what a study file allows)."""
    names = tuple(objectives)
    for name in names:
        metric(name)
    if len(names) not in (2, 3) or len(set(names)) != len(names):
        raise ValueError(f"objectives: need 2 or 3 distinct objectives, got {list(names)}")
    return names


def cost_objective(objectives: Sequence[str]) -> str:
    """The first objective other than accuracy: what selection minimises and the front is ordered by."""
    return next(o for o in objectives if o != ACCURACY)


__all__ = ["ACCURACY", "BITS_PER_KIB", "METRICS", "Metric", "OBJECTIVE_NAMES", "PJ_PER_NJ", "accuracy_standard_error",
           "bits_to_kib",
           "check_objectives", "cost_objective", "metric", "pj_to_nj"]
