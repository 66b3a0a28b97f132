"""Results in SQL: the typed results table and rows, their queries, Pareto fronts and Q-SpiNN's model selection."""

from qsearch.results._correctness import pack_correct, unpack_correct
from qsearch.results._evidence import (
    confident_selection,
    finalist_rows,
    fraction_correct,
    paired_split_drop,
    test_levels,
)
from qsearch.results._paired import (
    PairedDrop,
    holm_adjusted,
    paired_drop,
    paired_drop_of_fractions,
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
from qsearch.results._summary import POINT_ESTIMATE, FrontSummary, summarize
from qsearch.results._sureness import (
    TEST_INTERVAL_LEVEL,
    baseline_sentence,
    evidence_words,
    finalist_records,
    no_pick_sentence,
    selection_fields,
    sureness_line,
    test_interval_words,
)
from qsearch.results._table import COLUMNS, TABLE_NAME, TrialResult

__all__ = [
    "COLUMNS", "POINT_ESTIMATE", "ROW_COLUMNS", "SORTABLE", "TABLE_NAME", "TEST_INTERVAL_LEVEL", "FrontSummary",
    "PairedDrop", "ResultFilter", "ResultRow", "TrialResult", "baseline_sentence", "confident_selection",
    "delete_results", "engine_for", "ensure_table", "evidence_words", "filter_rows", "finalist_records",
    "finalist_rows", "fraction_correct", "front_order", "holm_adjusted", "knee_point", "load_results",
    "no_pick_sentence", "pack_correct", "paired_drop", "paired_drop_of_fractions", "paired_drop_pooled",
    "paired_split_drop", "pareto_front", "pooled", "resolution_note", "resolvable", "save_result", "select_model",
    "selection_fields", "smallest_resolvable_budget", "study_names", "summarize", "sureness_line",
    "test_interval_words", "test_levels", "unpack_correct", "within_budget_after_holm",
]
