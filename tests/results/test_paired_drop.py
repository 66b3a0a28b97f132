"""Paired evidence for an accuracy drop: packed correctness, exact McNemar bounds, Holm, resolution, pooling."""

import json
import math

import numpy as np
import pytest
from scipy.optimize import minimize_scalar
from scipy.stats import beta, binom, norm

from qsearch.results._paired import (
    PairedDrop,
    holm_adjusted,
    pack_correct,
    paired_drop,
    paired_drop_pooled,
    pooled,
    resolution_note,
    resolvable,
    smallest_resolvable_budget,
    unpack_correct,
    within_budget_after_holm,
)

# ---------------------------------------------------------------------------------------------------------
# packed correctness


@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 36, 360, 1001])
def test_packed_correctness_round_trips_exactly_for_any_length(n):
    correct = np.random.default_rng(n).random(n) < 0.7
    out = unpack_correct(pack_correct(correct), n)
    assert out.dtype == np.bool_
    assert np.array_equal(out, correct)


def test_packed_correctness_is_compact_json_safe_text():
    correct = np.random.default_rng(0).random(10_000) < 0.9
    packed = pack_correct(correct)
    assert packed.isascii() and len(packed) == 1668  # one bit a sample, base64
    assert np.array_equal(unpack_correct(json.loads(json.dumps(packed)), 10_000), correct)


def test_unpack_refuses_a_packed_length_that_does_not_fit_n():
    packed = pack_correct(np.ones(20, dtype=bool))  # 3 bytes
    with pytest.raises(ValueError, match=r"3 bytes.*n=30.*4 bytes"):
        unpack_correct(packed, 30)
    with pytest.raises(ValueError, match=r"n=10"):
        unpack_correct(packed, 10)


def test_unpack_refuses_bits_set_beyond_sample_n():
    packed = pack_correct(np.ones(16, dtype=bool))  # 2 bytes also fit n=12, but bits 12..15 are set
    with pytest.raises(ValueError, match="beyond sample n=12"):
        unpack_correct(packed, 12)


def test_unpack_refuses_text_that_is_not_base64():
    with pytest.raises(ValueError, match="base64"):
        unpack_correct("not base64!", 8)


def test_pack_refuses_values_that_are_not_correctness():
    with pytest.raises(ValueError, match="dtype float64"):
        pack_correct(np.array([0.2, 0.9]))
    with pytest.raises(ValueError, match="1-D"):
        pack_correct(np.ones((2, 2), dtype=bool))
    assert unpack_correct(pack_correct(np.array([1, 0, 1])), 3).tolist() == [True, False, True]


# ---------------------------------------------------------------------------------------------------------
# the paired drop


def test_paired_drop_counts_the_discordant_pairs():
    f = np.array([1, 1, 1, 0, 0, 1, 1, 0], dtype=bool)
    q = np.array([1, 0, 0, 1, 0, 1, 0, 0], dtype=bool)
    d = paired_drop(f, q)
    assert (d.n, d.b, d.c, d.m) == (8, 3, 1, 4)
    assert d.drop_pt == pytest.approx(100 * (f.mean() - q.mean()))


def test_paired_drop_refuses_vectors_of_different_lengths():
    with pytest.raises(ValueError, match=r"3 samples.*4"):
        paired_drop(np.ones(3, dtype=bool), np.ones(4, dtype=bool))


def test_paired_drop_refuses_more_discordant_pairs_than_samples():
    with pytest.raises(ValueError, match="exceed"):
        PairedDrop(n=10, b=8, c=3)


def _drop(n, m, p):
    return 100 * (m / n) * (2 * p - 1)


def test_interval_is_clopper_pearson_by_beta_quantiles_and_by_brute_force_binomial_search():
    n, b, c, level = 360, 7, 3, 0.95
    m, alpha = b + c, 1 - level
    lo, hi = PairedDrop(n=n, b=b, c=c).interval(level)
    # independently, by beta quantiles
    assert lo == pytest.approx(_drop(n, m, beta.ppf(alpha / 2, b, c + 1)), abs=1e-9)
    assert hi == pytest.approx(_drop(n, m, beta.ppf(1 - alpha / 2, b + 1, c)), abs=1e-9)
    # independently, by searching p on a 1e-6 grid for the exact binomial tails
    grid = np.arange(0, 1 + 5e-7, 1e-6)
    p_lo = grid[binom.sf(b - 1, m, grid) >= alpha / 2][0]  # smallest p with P(B >= b) >= alpha/2
    p_hi = grid[binom.cdf(b, m, grid) >= alpha / 2][-1]  # largest p with P(B <= b) >= alpha/2
    assert lo == pytest.approx(_drop(n, m, p_lo), abs=_drop(n, m, 1e-6 + 0.5) + 1e-9)
    assert hi == pytest.approx(_drop(n, m, p_hi), abs=_drop(n, m, 1e-6 + 0.5) + 1e-9)
    assert lo < PairedDrop(n=n, b=b, c=c).drop_pt < hi


def test_no_discordant_pairs_means_a_drop_of_exactly_zero():
    d = PairedDrop(n=360, b=0, c=0)
    assert d.drop_pt == 0.0
    assert d.interval(0.99) == (0.0, 0.0)
    assert d.upper_bound(0.99) == 0.0 and d.jeffreys_upper_bound(0.99) == 0.0
    assert d.prob_within_budget(0.0) == 1.0 and d.prob_within_budget(-0.1) == 0.0
    assert d.p_value_over_budget(0.5) == 0.0 and d.p_value_over_budget(0.0) == 1.0
    assert within_budget_after_holm([d], 0.5, 0.9) == [True]


def test_all_discordant_pairs_one_way_bounds_the_drop_by_the_discordant_rate():
    d = PairedDrop(n=100, b=4, c=0)
    assert d.interval(0.95)[1] == pytest.approx(4.0)
    assert d.upper_bound(0.9) == pytest.approx(4.0)
    assert d.interval(0.95)[0] == pytest.approx(_drop(100, 4, beta.ppf(0.025, 4, 1)))


_GRID = [PairedDrop(n=500, b=b, c=c) for b in range(0, 40, 3) for c in range(0, 40, 4) if b + c > 0]


def test_exact_upper_bound_at_confidence_half_lies_between_the_point_estimate_and_two_ln2_samples_above():
    # an exact bound counts the observed b into its tail: at 0.5 it is not the point estimate but about
    # two thirds of a discordant pair (0 to 2 ln 2 samples) above it
    for d in _GRID:
        excess = (d.upper_bound(0.5) - d.drop_pt) / d.sample_pt
        assert -1e-9 <= excess <= 2 * math.log(2) + 1e-9, d


def test_jeffreys_upper_bound_at_confidence_half_is_within_half_a_sample_of_the_point_estimate():
    for d in _GRID:
        assert abs(d.jeffreys_upper_bound(0.5) - d.drop_pt) <= 0.5 * d.sample_pt, d


def test_score_upper_bound_at_confidence_half_is_the_point_estimate():
    for d in _GRID:
        assert d.score_upper_bound(0.5) == pytest.approx(d.drop_pt, abs=1e-12)


def test_upper_bounds_increase_with_confidence():
    levels = [0.5, 0.6, 0.75, 0.9, 0.95, 0.99]
    for d in (PairedDrop(n=360, b=7, c=3), PairedDrop(n=1000, b=30, c=29), PairedDrop(n=360, b=0, c=5)):
        for bound in (d.upper_bound, d.jeffreys_upper_bound, d.score_upper_bound):
            values = [bound(q) for q in levels]
            assert values == sorted(values) and values[0] < values[-1], (d, bound.__name__)


def test_two_sided_interval_contains_the_one_sided_bound_at_the_matching_level():
    d = PairedDrop(n=360, b=7, c=3)
    assert d.interval(0.8)[1] == pytest.approx(d.upper_bound(0.9))


def test_exact_p_value_is_the_binomial_tail_at_the_budget():
    n, b, c, budget = 360, 7, 3, 1.0
    p0 = (budget * n / (100 * (b + c)) + 1) / 2
    assert PairedDrop(n=n, b=b, c=c).p_value_over_budget(budget) == pytest.approx(binom.cdf(b, b + c, p0))


def test_exact_upper_bound_within_budget_is_the_single_finalist_test():
    d = PairedDrop(n=360, b=12, c=4)
    for q in (0.6, 0.8, 0.9, 0.95):
        u = d.upper_bound(q)
        assert d.p_value_over_budget(u) == pytest.approx(1 - q)
        for budget in (u - 1e-6, u + 1e-6):
            assert within_budget_after_holm([d], budget, q) == [d.upper_bound(q) <= budget]


def test_prob_within_budget_is_monotone_in_budget():
    d = PairedDrop(n=360, b=9, c=4)
    probs = [d.prob_within_budget(b) for b in np.linspace(-4, 6, 101)]
    assert all(x <= y for x, y in zip(probs, probs[1:], strict=False))
    assert probs[0] == 0.0 and probs[-1] == 1.0


def test_prob_within_budget_is_about_half_when_the_drop_equals_the_budget_with_many_discordant_pairs():
    d = PairedDrop(n=10_000, b=600, c=400)
    assert d.drop_pt == pytest.approx(2.0)
    assert d.prob_within_budget(2.0) == pytest.approx(0.5, abs=0.02)


def test_prob_within_budget_is_the_dual_of_the_jeffreys_upper_bound():
    d = PairedDrop(n=360, b=7, c=3)
    for q in (0.5, 0.8, 0.95):
        assert d.prob_within_budget(d.jeffreys_upper_bound(q)) == pytest.approx(q)


def test_score_test_uses_the_constrained_maximum_likelihood_of_the_trinomial():
    # Tango's closed form, checked against a numerical maximisation of the likelihood under H0
    n, b, c = 360, 9, 2
    for budget in (0.5, 1.0, 3.0, 6.0):
        delta = budget / 100

        def nll(rate, delta=delta):
            return -(b * math.log(rate + delta) + c * math.log(rate) + (n - b - c) * math.log(1 - 2 * rate - delta))

        rate = minimize_scalar(nll, bounds=(1e-12, (1 - delta) / 2 - 1e-12), method="bounded",
                               options={"xatol": 1e-12}).x
        z = (b - c - n * delta) / math.sqrt(n * (2 * rate + delta * (1 - delta)))
        assert PairedDrop(n=n, b=b, c=c).score_p_value_over_budget(budget) == pytest.approx(norm.cdf(z), rel=1e-5)


def test_score_upper_bound_is_the_dual_of_the_score_p_value():
    for d in (PairedDrop(n=360, b=7, c=3), PairedDrop(n=360, b=0, c=0), PairedDrop(n=360, b=8, c=0)):
        for q in (0.75, 0.9, 0.95):
            assert d.score_p_value_over_budget(d.score_upper_bound(q)) == pytest.approx(1 - q, abs=1e-9)


def test_score_upper_bound_with_no_discordant_pairs_is_not_zero():
    z = norm.ppf(0.9)
    assert PairedDrop(n=360, b=0, c=0).score_upper_bound(0.9) == pytest.approx(100 * z**2 / (360 + z**2))


# ---------------------------------------------------------------------------------------------------------
# many finalists


def test_holm_adjusts_a_hand_worked_example():
    assert holm_adjusted([0.01, 0.04, 0.03, 0.2]) == pytest.approx([0.04, 0.09, 0.09, 0.2])


def test_holm_adjusted_p_values_are_monotone_and_capped_at_one():
    assert holm_adjusted([0.5, 0.6, 0.01]) == pytest.approx([1.0, 1.0, 0.03])
    assert holm_adjusted([]) == []
    with pytest.raises(ValueError, match="1.5"):
        holm_adjusted([0.1, 1.5])
    with pytest.raises(ValueError):
        holm_adjusted([float("nan")])


def test_holm_keeps_lucky_finalists_that_one_test_each_would_pass_out_of_the_pick():
    # ten finalists, each alone just inside budget at 90 %: corrected for the family, none is
    finalists = [PairedDrop(n=2000, b=30, c=20)] * 10
    budget = finalists[0].upper_bound(0.9) + 1e-6
    assert all(within_budget_after_holm(finalists[:1], budget, 0.9))
    assert not any(within_budget_after_holm(finalists, budget, 0.9))
    clear = PairedDrop(n=2000, b=5, c=5)  # drop 0 with few discordant pairs: clearly within, even after Holm
    assert within_budget_after_holm([*finalists, clear], budget, 0.9) == [False] * 10 + [True]
    assert within_budget_after_holm([*finalists, clear], budget, 0.9, method="score")[-1]


def test_within_budget_after_holm_refuses_an_unknown_method():
    with pytest.raises(ValueError, match="method"):
        within_budget_after_holm([PairedDrop(n=10, b=1, c=1)], 1.0, 0.9, method="bayes")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------------------
# what a split can resolve


def test_a_36_sample_split_cannot_resolve_one_point_and_a_360_sample_split_can():
    assert not resolvable(36, 1.0)
    assert resolvable(360, 1.0)
    assert resolvable(100, 1.0)  # exactly one sample
    assert smallest_resolvable_budget(36) == pytest.approx(2.78, abs=0.005)
    note = resolution_note(36, 1.0)
    assert note is not None and "36-sample test split" in note and "one sample is 2.78 pt" in note
    assert resolution_note(360, 1.0) is None
    with pytest.raises(ValueError):
        smallest_resolvable_budget(0)


# ---------------------------------------------------------------------------------------------------------
# pooled stochastic draws


def test_pooled_is_the_per_sample_fraction_correct():
    draws = [np.array([1, 1, 0, 0], dtype=bool), np.array([1, 0, 1, 0], dtype=bool)]
    assert pooled(draws).tolist() == [1.0, 0.5, 0.5, 0.0]
    with pytest.raises(ValueError, match="different numbers"):
        pooled([np.ones(3, dtype=bool), np.ones(4, dtype=bool)])
    with pytest.raises(ValueError, match="at least one"):
        pooled([])


def test_pooled_drop_of_one_draw_is_the_paired_drop():
    rng = np.random.default_rng(3)
    f, q = rng.random(360) < 0.95, rng.random(360) < 0.93
    single, one = paired_drop(f, q), paired_drop_pooled(f, [q])
    assert (one.n, one.b, one.c) == (single.n, single.b, single.c)
    assert one.upper_bound(0.9) == pytest.approx(single.upper_bound(0.9))


def test_pooled_drop_treats_per_sample_accuracy_as_fractional_counts():
    f = np.array([1, 1, 0, 0], dtype=bool)
    draws = [np.array([1, 0, 1, 0], dtype=bool), np.array([0, 0, 0, 0], dtype=bool)]
    d = paired_drop_pooled(f, draws)  # q = [0.5, 0, 0.5, 0]
    assert (d.n, d.b, d.c) == (4, 1.5, 0.5)
    assert d.drop_pt == pytest.approx(25.0)
    lo, hi = d.interval(0.9)
    assert lo < d.drop_pt < hi <= 100 * d.m / d.n
    assert 0.0 < d.p_value_over_budget(10.0) < 1.0
    with pytest.raises(ValueError, match="4 samples.*3"):
        paired_drop_pooled(f, [np.ones(3, dtype=bool)])


# ---------------------------------------------------------------------------------------------------------
# coverage by simulation


def _simulate(n, lost, gained, replications, seed):
    """Counts (b, c) of a quantized model that loses/gains each sample with the given rates."""
    counts = np.random.default_rng(seed).multinomial(n, [lost, gained, 1 - lost - gained], size=replications)
    return [PairedDrop(n=n, b=int(b), c=int(c)) for b, c, _ in counts]


def test_exact_90_percent_upper_bound_covers_a_true_two_point_drop_in_at_least_88_percent_of_replications():
    lost, gained = 0.04, 0.02  # true drop 2 pt, 6 % discordant, on n=360
    drops = _simulate(360, lost, gained, 2000, seed=0)
    coverage = np.mean([d.upper_bound(0.9) >= 100 * (lost - gained) - 1e-9 for d in drops])
    assert coverage >= 0.88


def test_score_90_percent_upper_bound_covers_even_when_discordant_pairs_go_nearly_all_one_way():
    lost, gained = 0.025, 0.005  # true drop 2 pt; the conditional exact bound covers only ~0.76 here
    drops = _simulate(360, lost, gained, 2000, seed=0)
    coverage = np.mean([d.score_upper_bound(0.9) >= 100 * (lost - gained) - 1e-9 for d in drops])
    assert coverage >= 0.88
