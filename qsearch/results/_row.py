"""One typed result row: what every layer above SQL (selection, reports, plots, CLI, export) passes around.

The fields are the columns of the ``qsearch_results`` table (:class:`~qsearch.results._table.TrialResult`),
so ``as_dict`` gives the keys the JSON/CSV output of the CLI has always had. Rows are immutable: a view that
needs another value (a note, a marked trial) builds its own output instead of editing rows.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

from qsearch.metrics import accuracy_standard_error, metric


@dataclass(frozen=True)
class ResultRow:
    """A recorded trial. Accuracy in percent; accuracy_drop in percentage points below the float baseline."""

    study_name: str
    trial_number: int
    state: str  # COMPLETE | PRUNED | FAIL
    reason: str
    is_baseline: bool
    scheme: str
    weight_bits: str  # per layer, e.g. "4/4"
    max_weight_bits: int
    membrane_bits: int
    current_bits: int
    param_bits: int
    rounding: str
    timesteps: int
    sparsity: float  # mean over layers
    accuracy: float | None
    test_accuracy: float | None
    validation_accuracy: float | None
    test_n: int | None
    validation_n: int | None
    accuracy_drop: float | None
    memory_bits: int | None
    memory_kib: float | None
    compression_ratio: float | None
    sops: float | None
    energy_nj: float | None
    epochs_run: int | None
    silent: bool
    feasible: bool
    duration_s: float | None
    worker_host: str
    config: dict
    memory_breakdown: dict | None
    finished_at: dt.datetime | None = None
    device: str | None = None  # torch device the trial trained and ran on ("cpu", "cuda")
    #: paired evidence: {"validation": [packed per draw], "test": [...], "draws": n} (None: recorded before it)
    paired: dict | None = None
    #: the confirmation of a finalist (qsearch.confirm): drop against the float baseline pooled over the
    #: cross-validation folds, its one-sided upper bound at the study's confidence, P(drop <= budget), and the
    #: samples and folds behind them; None for trials that were not finalists
    confirmed_drop: float | None = None
    confirmed_upper: float | None = None
    confirmed_p_within: float | None = None
    confirmed_n: int | None = None
    confirmed_folds: int | None = None

    def value(self, objective: str) -> float | None:
        """The value of a registered objective (``"memory"`` -> ``memory_kib``), None if not measured."""
        value = getattr(self, metric(objective).column)
        return None if value is None else float(value)

    def measured_value(self, objective: str) -> float:
        """:meth:`value` for a row known to have it (a front, a plotted point); ValueError if it is missing."""
        value = self.value(objective)
        if value is None:
            raise ValueError(f"trial {self.trial_number} has no {objective} value")
        return value

    @property
    def test_accuracy_se(self) -> float | None:
        """Standard error of the test accuracy, points (None for rows recorded without the split size)."""
        return accuracy_standard_error(self.test_accuracy, self.test_n)

    @property
    def validation_accuracy_se(self) -> float | None:
        return accuracy_standard_error(self.validation_accuracy, self.validation_n)

    def describe_accuracy(self, split: str) -> str:
        """``95.28 ±1.12 % (n=360)``: an accuracy of ``split`` (test or validation) with its error and size."""
        value, n = getattr(self, f"{split}_accuracy"), getattr(self, f"{split}_n")
        if value is None:
            return "-"
        se = getattr(self, f"{split}_accuracy_se")
        return f"{value:.2f}" + (f" ±{se:.2f}" if se is not None else "") + " %" + (f" (n={n})" if n else "")

    def as_dict(self) -> dict[str, Any]:
        """Column name -> value, the keys of ``qsearch trials --format json`` and of the SQL table."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def __getitem__(self, column: str) -> Any:
        """Read a column by its SQL name, as scripts and tests written against the table do."""
        if column not in _FIELDS:
            raise KeyError(column)
        return getattr(self, column)

    def get(self, column: str, default: Any = None) -> Any:
        return getattr(self, column) if column in _FIELDS else default


_FIELDS = frozenset(f.name for f in dataclasses.fields(ResultRow))
#: the row's columns in table order
ROW_COLUMNS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(ResultRow))
