"""Pareto front and selection over result rows."""

from qsearch.results import pareto_front, select_model


def _row(n, acc, kib, config, feasible=True):
    return {"trial_number": n, "state": "COMPLETE", "accuracy": acc, "memory_kib": kib, "is_baseline": False,
            "feasible": feasible, "accuracy_drop": 96.0 - acc, "config": config}


def test_repeated_configuration_appears_once_on_the_front():
    rows = [_row(1, 95.0, 4.0, {"w": 4}), _row(2, 95.0, 4.0, {"w": 4}), _row(3, 96.0, 8.0, {"w": 8}),
            _row(4, 90.0, 5.0, {"w": 3})]
    assert [r["trial_number"] for r in pareto_front(rows)] == [1, 3]


def test_selection_is_smallest_memory_within_budget():
    rows = [_row(1, 95.5, 4.0, {"w": 4}), _row(2, 94.0, 2.0, {"w": 2}), _row(3, 95.8, 3.0, {"w": 3}, feasible=False)]
    assert select_model(rows, 1.0)["trial_number"] == 1
