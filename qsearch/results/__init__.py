"""Results in SQL: the typed results table and rows, their queries, Pareto fronts and Q-SpiNN's model selection."""

from qsearch.results._correctness import pack_correct, unpack_correct
from qsearch.results._paired import (
    PairedDrop,
    holm_adjusted,
    paired_drop,
    paired_drop_pooled,
    pooled,
    resolution_note,
    resolvable,
    smallest_resolvable_budget,
    within_budget_after_holm,
)
from qsearch.results._row import ROW_COLUMNS, ResultRow
from qsearch.results._selection import front_order, knee_point, pareto_front, select_model
from qsearch.results._store import (
    SORTABLE,
    ResultFilter,
    delete_results,
    engine_for,
    ensure_table,
    filter_rows,
    load_results,
    save_result,
    study_names,
)
from qsearch.results._summary import FrontSummary, summarize
from qsearch.results._table import COLUMNS, TABLE_NAME, TrialResult

__all__ = [
    "COLUMNS", "ROW_COLUMNS", "SORTABLE", "TABLE_NAME", "FrontSummary", "PairedDrop", "ResultFilter", "ResultRow",
    "TrialResult", "delete_results", "engine_for", "ensure_table", "filter_rows", "front_order", "holm_adjusted",
    "knee_point", "load_results", "pack_correct", "paired_drop", "paired_drop_pooled", "pareto_front", "pooled",
    "resolution_note", "resolvable", "save_result", "select_model", "smallest_resolvable_budget", "study_names",
    "summarize", "unpack_correct", "within_budget_after_holm",
]
