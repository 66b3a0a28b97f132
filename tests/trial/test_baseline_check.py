"""The float baseline earns its place: the paired rule against the non-spiking reference, on synthetic
correctness vectors whose answer is known."""

from __future__ import annotations

import numpy as np

from qsearch.results import pack_correct
from qsearch.trial import ReferenceResult, check_baseline, not_learning_message


def _correct(n: int, right: int, rng: np.random.Generator) -> np.ndarray:
    vector = np.zeros(n, dtype=bool)
    vector[rng.choice(n, right, replace=False)] = True
    return vector


def _reference(correct: np.ndarray) -> ReferenceResult:
    return ReferenceResult("mlp_128", validation=100 * float(correct.mean()), test=0.0, n=1000,
                           validation_n=correct.size, validation_correct=pack_correct(correct))


def test_a_baseline_far_below_the_reference_is_short_and_says_so_in_one_line():
    rng = np.random.default_rng(0)
    ref = _correct(1000, 520, rng)  # the case: MLP 52 %, SNN 21 %, chance 10 %
    snn = _correct(1000, 210, rng)
    check = check_baseline([pack_correct(snn)], _reference(ref), 10.0, 0.8)
    assert check is not None and check.short
    assert abs(check.gap.drop_pt - 31.0) < 1e-9 and abs(check.share - 11 / 42) < 1e-9
    assert abs(check.allowed_pt - 0.2 * 42) < 1e-9 and check.p_within < 0.001
    message = not_learning_message(check, _reference(ref), [0.02, 0.01], "after tuning (12 settings tried)")
    assert message is not None and "\n" not in message
    for words in ("21.0 %", "mlp_128: 52.0 %", "+31.0 pt below the reference", "26% of its gain",
                  "baseline.min_reference_share", "baseline.tune.when: always", "after tuning"):
        assert words in message


def test_a_baseline_as_good_as_the_reference_passes_and_has_no_message():
    rng = np.random.default_rng(1)
    ref = _correct(360, 350, rng)
    snn = ref.copy()
    snn[np.flatnonzero(ref)[:3]] = False  # three samples worse: 0.8 pt
    check = check_baseline([pack_correct(snn)], _reference(ref), 10.0, 0.8)
    assert check is not None and not check.short and check.share > 0.98
    assert not_learning_message(check, _reference(ref), [], "not tuned") is None


def test_the_rule_needs_evidence_a_short_point_estimate_on_few_samples_is_not_enough():
    """Point share 0.74 < 0.8, but on 40 samples the gap is well within noise of the allowed one: not short;
    the same shares on 4,000 samples are."""
    rng = np.random.default_rng(2)
    for n, expect_short in ((40, False), (4000, True)):
        ref = _correct(n, int(0.9 * n), rng)
        snn = ref.copy()
        drop = np.flatnonzero(ref)[: int(0.208 * n)]  # 90 % -> 69.2 %: share (69.2 - 10) / 80 = 0.74
        snn[drop] = False
        check = check_baseline([pack_correct(snn)], _reference(ref), 10.0, 0.8)
        assert check is not None and abs(check.share - 0.74) < 0.02
        assert check.short is expect_short, (n, check.p_within)


def test_the_gap_is_paired_and_pools_stochastic_draws():
    """Two draws, each right on a different half of the reference's right answers: the pooled SNN is half as
    good per sample; a paired count sees that, an unpaired comparison of accuracies too, but only the paired
    one reports discordant counts that are fractions."""
    ref = np.array([True] * 80 + [False] * 20)
    first, second = ref.copy(), ref.copy()
    first[:40] = False
    second[40:80] = False
    check = check_baseline([pack_correct(first), pack_correct(second)], _reference(ref), 10.0, 0.5)
    assert check is not None and abs(check.snn - 40.0) < 1e-9 and abs(check.gap.drop_pt - 40.0) < 1e-9
    assert check.gap.b == 40.0 and check.gap.c == 0.0


def test_the_rule_is_off_at_share_zero_and_when_the_reference_learns_nothing():
    rng = np.random.default_rng(3)
    ref = _correct(1000, 900, rng)
    snn = _correct(1000, 100, rng)
    assert not check_baseline([pack_correct(snn)], _reference(ref), 10.0, 0.0).short
    chance_ref = _correct(1000, 100, rng)  # the reference at chance: nothing to compare with
    assert not check_baseline([pack_correct(snn)], _reference(chance_ref), 10.0, 0.8).short


def test_a_reference_recorded_without_correctness_gives_no_check():
    reference = ReferenceResult("mlp_128", validation=90.0, test=90.0, n=100)  # an older study's record
    assert check_baseline([pack_correct(np.ones(10, dtype=bool))], reference, 10.0, 0.8) is None
    assert "validation_correct" not in reference.as_dict()  # the shown record stays small
