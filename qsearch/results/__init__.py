"""Results in SQL: the typed results table and rows, their queries, Pareto fronts and Q-SpiNN's model selection."""

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
    "COLUMNS", "ROW_COLUMNS", "SORTABLE", "TABLE_NAME", "FrontSummary", "ResultFilter", "ResultRow", "TrialResult",
    "delete_results", "engine_for", "ensure_table", "filter_rows", "front_order", "knee_point", "load_results",
    "pareto_front", "save_result", "select_model", "study_names", "summarize",
]
