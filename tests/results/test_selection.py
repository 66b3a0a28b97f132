"""Pareto front, selection and knee over result rows, in the objectives' own space."""

from result_rows import result_row

from qsearch.results import knee_point, pareto_front, select_model, summarize


def _row(n, acc, kib, config, feasible=True, **fields):
    return result_row(n, acc, kib, feasible=feasible, config=config, **fields)


def test_repeated_configuration_appears_once_on_the_front():
    rows = [_row(1, 95.0, 4.0, {"w": 4}), _row(2, 95.0, 4.0, {"w": 4}), _row(3, 96.0, 8.0, {"w": 8}),
            _row(4, 90.0, 5.0, {"w": 3})]
    assert [r.trial_number for r in pareto_front(rows)] == [1, 3]


def test_selection_is_smallest_memory_within_budget():
    rows = [_row(1, 95.5, 4.0, {"w": 4}), _row(2, 94.0, 2.0, {"w": 2}), _row(3, 95.8, 3.0, {"w": 3}, feasible=False)]
    assert select_model(rows, 1.0).trial_number == 1


# memory and SOPs disagree: the smallest network is not the one with the fewest operations
_SOPS_ROWS = [
    _row(0, 96.0, 40.0, {"float": 1}, feasible=False, is_baseline=True, sops=900.0),
    _row(1, 95.8, 2.0, {"w": 1}, sops=800.0),
    _row(2, 95.5, 9.0, {"w": 2}, sops=100.0),
    _row(3, 95.9, 12.0, {"w": 3}, sops=700.0),
    _row(4, 93.0, 1.0, {"w": 4}, sops=50.0),   # beyond a 1-point budget
    _row(5, 95.0, 3.0, {"w": 5}, sops=300.0),
]


def test_front_selection_and_knee_follow_the_study_objectives():
    memory = summarize(_SOPS_ROWS, ("accuracy", "memory"), 1.0)
    sops = summarize(_SOPS_ROWS, ("accuracy", "sops"), 1.0)
    assert [r.trial_number for r in memory.front] == [4, 1, 3]  # ordered by memory
    assert [r.trial_number for r in sops.front] == [4, 2, 3]  # ordered by SOPs
    assert memory.selected.trial_number == 1 and sops.selected.trial_number == 2
    assert memory.knee.trial_number == 1 and sops.knee.trial_number == 2
    assert memory.baseline.trial_number == 0 and len(memory.rows) == 6 and memory.states == {"COMPLETE": 6}
    assert memory.marks() == {1: "selected, knee"}


def test_summary_front_leaves_out_infeasible_and_baseline_rows():
    rows = [*_SOPS_ROWS, _row(6, 99.0, 0.5, {"w": 6}, feasible=False)]  # dominates everything, infeasible
    summary = summarize(rows, ("accuracy", "memory"), 1.0)
    assert 6 not in [r.trial_number for r in summary.front] and 0 not in [r.trial_number for r in summary.front]
    assert summary.selected.trial_number == 1


def test_knee_needs_two_objectives():
    three = summarize(_SOPS_ROWS, ("accuracy", "memory", "sops"), 1.0)
    assert three.knee is None and three.selected.trial_number == 1
    assert knee_point(three.front, three.objectives) is None


def test_no_selection_without_a_trial_within_budget():
    assert summarize(_SOPS_ROWS, ("accuracy", "memory"), 0.05).selected is None
