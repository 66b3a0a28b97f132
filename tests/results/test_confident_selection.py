"""The risk-aware pick on a synthetic study with known true drops: the point-estimate rule takes the luckiest
of many noisy candidates at the budget's edge (over budget), the confirmed rule does not."""

from __future__ import annotations

import numpy as np
from result_rows import BASELINE_ACCURACY, result_row

from qsearch.results import PairedDrop, finalist_rows, paired_drop, summarize

BUDGET = 1.0
N_VALIDATION = 360  # the digits validation split
N_CONFIRM = 1437  # train + validation of digits: what 5-fold cross-validation pools


def _true_drop(kib: float) -> float:
    """Smaller models lose more: 3 pt at 2 KiB, about 1 pt at 4 KiB, under 0.3 pt from 7 KiB."""
    return 3.0 * np.exp(-(kib - 2.0) / 1.8)


def _paired_draw(rng: np.random.Generator, n: int, true_drop_pt: float,
                 float_right: np.ndarray) -> np.ndarray:
    """A quantized model's correctness on ``n`` samples paired with the float model's: it loses samples the
    float model gets right and gains some it gets wrong, 2 % discordance plus the true drop."""
    lose = (0.02 + true_drop_pt / 100) / 2 / float_right.mean()
    gain = max((0.02 - true_drop_pt / 100) / 2, 0.0) / max(1 - float_right.mean(), 1e-9)
    u = rng.random(n)
    return np.where(float_right, u >= lose, u < gain)


def _study(seed: int):
    """150 candidates, each measured once on the shared validation split; and what a confirmation measures."""
    rng = np.random.default_rng(seed)
    float_val = rng.random(N_VALIDATION) < BASELINE_ACCURACY / 100
    rows = [result_row(0, 100 * float_val.mean(), 38.0, is_baseline=True, feasible=False, accuracy_drop=0.0)]
    truth = {}
    for number in range(1, 151):
        kib = float(rng.uniform(2.0, 12.0))
        truth[number] = _true_drop(kib)
        right = _paired_draw(rng, N_VALIDATION, truth[number], float_val)
        drop = paired_drop(float_val, right).drop_pt
        rows.append(result_row(number, 100 * float_val.mean() - drop, kib, accuracy_drop=drop,
                               feasible=drop <= BUDGET, config={"trial": number}))

    def confirm(numbers: list[int]) -> dict[int, PairedDrop]:
        float_cv = rng.random(N_CONFIRM) < BASELINE_ACCURACY / 100
        return {k: paired_drop(float_cv, _paired_draw(rng, N_CONFIRM, truth[k], float_cv)) for k in numbers}

    return rows, truth, confirm


def _picks(seed: int, confidence: float = 0.8) -> tuple[float, float | None]:
    """The true drops of the point-estimate pick and of the confirmed pick (None: no pick)."""
    rows, truth, confirm = _study(seed)
    point = summarize(rows, ("accuracy", "memory"), BUDGET)
    finalists = finalist_rows(rows, BUDGET, 1.0, 6, ("accuracy", "memory"))
    confirmed = summarize(rows, ("accuracy", "memory"), BUDGET, confidence=confidence,
                          evidence=confirm([r.trial_number for r in finalists]))
    assert point.selected is not None and confirmed.evidence_kind == "cross-validation"
    return truth[point.selected.trial_number], (None if confirmed.selected is None
                                                else truth[confirmed.selected.trial_number])


def test_the_point_estimate_picks_an_over_budget_model_and_the_confirmed_rule_does_not():
    point, confirmed = _picks(seed=0)
    assert point > BUDGET  # the luckiest draw at the budget's edge
    assert confirmed is not None and confirmed <= BUDGET


def test_over_many_studies_the_confirmed_pick_keeps_the_budget_at_its_confidence():
    results = [_picks(seed) for seed in range(30)]
    point_over = sum(p > BUDGET for p, _ in results)
    confirmed_over = sum(c is not None and c > BUDGET for _, c in results)
    picked = sum(c is not None for _, c in results)
    assert point_over >= 20  # the winner's curse: most point-estimate picks are over budget
    assert confirmed_over <= 0.2 * len(results)  # at most 1 - confidence of the runs
    assert picked >= 25  # and it still picks something almost always


def test_confidence_one_half_is_the_point_estimate_rule():
    rows, _truth, confirm = _study(seed=1)
    finalists = finalist_rows(rows, BUDGET, 1.0, 6, ("accuracy", "memory"))
    half = summarize(rows, ("accuracy", "memory"), BUDGET, confidence=0.5,
                     evidence=confirm([r.trial_number for r in finalists]))
    point = summarize(rows, ("accuracy", "memory"), BUDGET)
    assert half.selected == point.selected and half.evidence_kind == "none" and not half.risk_aware


def test_finalists_span_the_loose_front_from_the_smallest_up():
    rows, _truth, _confirm = _study(seed=2)
    finalists = finalist_rows(rows, BUDGET, 1.0, 6, ("accuracy", "memory"))
    kib = [r.memory_kib for r in finalists]
    assert len(finalists) == 6 and kib == sorted(kib)
    pool = [r for r in rows if not r.is_baseline and r.accuracy_drop <= BUDGET + 1.0]
    assert finalists[0].memory_kib == min(r.memory_kib for r in pool)  # the smallest candidate is always in
    assert all(r.accuracy_drop <= BUDGET + 1.0 for r in finalists)
