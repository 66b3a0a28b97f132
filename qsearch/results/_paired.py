"""Paired evidence for an accuracy drop: a pick the user can trust.

Every trial is scored on the same validation (and test) samples as the float baseline, so the drop (float
minus quantized accuracy, percentage points; positive = the quantized model is worse) is a *paired*
statistic. Only the discordant samples carry information about it (McNemar 1947; Dietterich 1998):

* ``b`` samples the float model gets right and the quantized model gets wrong,
* ``c`` samples the float model gets wrong and the quantized model gets right,

and the drop is ``100 * (b - c) / n``. Taking the smallest model whose *point* drop is within the budget is
the winner's curse: among ~150 noisy trials at the budget's edge it picks the luckiest draw. This module
turns the per-sample correctness every trial records (packed bits, :func:`pack_correct`) into an exact
interval, a one-sided upper bound, a posterior probability of being within budget, and a Holm-corrected
family-wise test over the finalists.

Method (the standard conditional exact McNemar interval): condition on the number of discordant pairs
``m = b + c``. Then ``b ~ Binomial(m, p)`` with ``p`` the probability that a discordant pair goes against
the quantized model, and ``drop = 100 * (m / n) * (2p - 1)``. The discordant rate ``m / n`` is treated as
fixed -- it is a count of all ``n`` samples; the uncertainty the interval carries is how the ``m``
discordant pairs split. Bounds on ``p`` are exact Clopper-Pearson bounds (beta quantiles), mapped to the
drop through that line.

Where that assumption fails: when nearly every discordant pair goes against the quantized model (``c`` near
0, ``p`` near 1) the drop's uncertainty *is* the uncertainty of ``m``, which the conditional bound ignores.
Simulated one-sided 90 % upper bounds for a true drop of 2 pt on n=360 (2,000 replications) cover 0.91 at
4 % lost / 2 % gained samples, 0.87 at 3 % / 1 %, 0.77 at 2.5 % / 0.5 % and 0.43 at 2 % / 0 % (0.53 at
n=3600: more samples do not cure it). The unconditional score bound (Tango 1998,
:meth:`PairedDrop.score_upper_bound`) covers 0.89-0.93 in all of these, and equals the point estimate
exactly at confidence 0.5.

Pure functions and frozen dataclasses over numpy arrays; scipy only for beta / normal quantiles and a root
finder.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import brentq
from scipy.stats import beta, norm

from qsearch.results._correctness import _bool_vector, pack_correct, unpack_correct

__all__ = [
    "PairedDrop",
    "holm_adjusted",
    "pack_correct",
    "paired_drop",
    "paired_drop_pooled",
    "pooled",
    "resolution_note",
    "resolvable",
    "smallest_resolvable_budget",
    "unpack_correct",
    "within_budget_after_holm",
]

_EPS = 1e-9  # counts are sums of floats for pooled draws: tolerate rounding when checking b + c <= n




# ---------------------------------------------------------------------------------------------------------
# the paired drop


def _check_level(name: str, value: float) -> None:
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must lie strictly between 0 and 1, got {value}")


@dataclass(frozen=True)
class PairedDrop:
    """A quantized model's accuracy drop against the float baseline, from the discordant pairs.

    ``n`` samples, ``b`` float right / quantized wrong, ``c`` float wrong / quantized right. ``b`` and
    ``c`` are counts, or fractional counts for pooled stochastic draws (:func:`paired_drop_pooled`); the
    beta quantiles behind every bound accept non-integer parameters.

    The exact bounds, the exact p-value and the Jeffreys posterior condition on ``m = b + c`` (the
    conditional exact McNemar interval): ``b ~ Binomial(m, p)`` and ``drop = 100 * (m / n) * (2p - 1)`` with
    the discordant rate ``m / n`` taken as fixed -- it is estimated from all ``n`` samples, while the drop's
    uncertainty is in how the ``m`` pairs split. The ``score_*`` methods do not condition (Tango 1998);
    prefer them when the discordant pairs go nearly all one way (module docstring).
    """

    n: int
    b: float
    c: float

    def __post_init__(self) -> None:
        if self.n <= 0:
            raise ValueError(f"n must be a positive sample count, got {self.n}")
        if not (self.b >= 0 and self.c >= 0):
            raise ValueError(f"discordant counts must be >= 0, got b={self.b}, c={self.c}")
        if self.b + self.c > self.n + _EPS * self.n:
            raise ValueError(f"b + c = {self.b + self.c} discordant pairs exceed the n={self.n} samples")

    @property
    def m(self) -> float:
        """Discordant pairs: the only samples that say anything about the drop."""
        return self.b + self.c

    @property
    def drop_pt(self) -> float:
        """Point estimate of the drop, percentage points: float accuracy minus quantized accuracy."""
        return 100.0 * (self.b - self.c) / self.n

    @property
    def sample_pt(self) -> float:
        """What one sample is worth, percentage points (100 / n): the resolution of any drop on this split."""
        return 100.0 / self.n

    def _drop_at(self, p: float) -> float:
        """The drop if a discordant pair goes against the quantized model with probability ``p``."""
        return 100.0 * (self.m / self.n) * (2.0 * p - 1.0)

    def _p_at(self, budget_pt: float) -> float:
        """The ``p`` at which the drop equals ``budget_pt`` (unclipped; needs ``m > 0``)."""
        return (budget_pt * self.n / (100.0 * self.m) + 1.0) / 2.0

    def interval(self, level: float = 0.95) -> tuple[float, float]:
        """Two-sided exact (Clopper-Pearson) confidence interval on the drop, percentage points.

        Coverage is at least ``level`` for ``p`` given ``m``; with no discordant pairs the drop is 0 exactly.
        """
        _check_level("level", level)
        if self.m == 0:
            return 0.0, 0.0
        alpha = 1.0 - level
        lo = float(beta.ppf(alpha / 2, self.b, self.c + 1)) if self.b > 0 else 0.0
        hi = float(beta.ppf(1 - alpha / 2, self.b + 1, self.c)) if self.c > 0 else 1.0
        return self._drop_at(lo), self._drop_at(hi)

    def upper_bound(self, confidence: float = 0.9) -> float:
        """One-sided exact (Clopper-Pearson) upper confidence bound on the drop, percentage points.

        The true drop is below it with probability at least ``confidence`` given ``m`` (taking ``m / n`` as
        the true discordant rate: see the module docstring for where that fails): "upper bound
        within budget" is the trustworthy version of "point drop within budget", and it is exactly the
        test of :meth:`p_value_over_budget` (bound <= budget iff that p-value <= 1 - confidence).

        At ``confidence=0.5`` the rule is about today's point-estimate rule, but not exactly: an exact bound
        counts the observed ``b`` into its tail, so at 0.5 it sits about two thirds of a discordant pair
        above the point estimate -- between 0 and 2 ln 2 (about 1.39) samples (``100 / n`` pt each) higher.
        For a rule that reduces to today's, use :meth:`score_upper_bound` (exactly the point estimate at
        0.5) or :meth:`jeffreys_upper_bound` (within half a sample; ``prob_within_budget(budget) >= 0.5``).
        """
        _check_level("confidence", confidence)
        if self.m == 0:
            return 0.0
        hi = float(beta.ppf(confidence, self.b + 1, self.c)) if self.c > 0 else 1.0
        return self._drop_at(hi)

    def jeffreys_upper_bound(self, confidence: float = 0.9) -> float:
        """Upper ``confidence`` quantile of the drop under the Jeffreys posterior of ``p``, percentage points.

        ``jeffreys_upper_bound(q) <= budget`` iff ``prob_within_budget(budget) >= q``. Not an exact bound
        (coverage is near ``confidence`` on average, not at least it), but at ``confidence=0.5`` it is the
        posterior median, within half a sample of the point estimate, so the rule reduces to today's.
        """
        _check_level("confidence", confidence)
        if self.m == 0:
            return 0.0
        return self._drop_at(float(beta.ppf(confidence, self.b + 0.5, self.c + 0.5)))

    def prob_within_budget(self, budget_pt: float) -> float:
        """Posterior probability that the true drop is at most ``budget_pt`` (Jeffreys Beta(b+1/2, c+1/2) on p).

        ``P(drop <= budget) = P(p <= (budget * n / (100 m) + 1) / 2)``. A number a user can read ("92 % sure
        this model loses at most a point"); about 0.5 when the point drop equals the budget and there are
        many discordant pairs. With no discordant pairs the drop is 0 exactly: probability 1 if the budget
        is >= 0, else 0.
        """
        if self.m == 0:
            return 1.0 if budget_pt >= 0 else 0.0
        p0 = self._p_at(budget_pt)
        if p0 >= 1.0:
            return 1.0
        if p0 <= 0.0:
            return 0.0
        return float(beta.cdf(p0, self.b + 0.5, self.c + 0.5))

    def p_value_over_budget(self, budget_pt: float) -> float:
        """Exact one-sided p-value of H0 "the true drop is >= ``budget_pt``" (small: within budget).

        ``P(Binomial(m, p0) <= b)`` with ``p0 = (budget * n / (100 m) + 1) / 2``, the ``p`` at which the drop
        equals the budget. Exact because that tail probability decreases in ``p``: every ``p >= p0`` in H0
        gives a smaller one, so ``p0`` is the least favourable point. Computed as the identical beta tail
        ``P(Beta(b + 1, c) > p0)``, which also takes fractional counts and is the exact dual of
        :meth:`upper_bound`. With no discordant pairs the drop is 0 exactly: 0 if the budget is > 0, else 1;
        a budget beyond the largest drop ``m`` pairs can make (``p0 > 1``) gives 0.
        """
        if self.m == 0:
            return 0.0 if budget_pt > 0 else 1.0
        p0 = self._p_at(budget_pt)
        if p0 > 1.0:
            return 0.0
        if p0 <= 0.0 or self.c == 0:
            return 1.0
        return float(beta.sf(p0, self.b + 1, self.c))

    def _score(self, delta: float) -> float:
        """Tango's score statistic for H0 "drop = 100 * delta" (delta a difference of proportions).

        ``z = (b - c - n delta) / sqrt(n (2 c~ + delta (1 - delta)))`` with ``c~`` the maximum-likelihood
        rate of ``c`` under H0 (Tango 1998, closed form): negative when the data say the drop is smaller.
        """
        n, b, c = float(self.n), float(self.b), float(self.c)
        big_a = 2.0 * n
        big_b = -b - c + (2.0 * n - b + c) * delta
        big_c = -c * delta * (1.0 - delta)
        c_rate = (math.sqrt(max(big_b * big_b - 4.0 * big_a * big_c, 0.0)) - big_b) / (2.0 * big_a)
        variance = n * (2.0 * c_rate + delta * (1.0 - delta))
        numerator = b - c - n * delta
        if variance <= 0.0:
            return 0.0 if numerator == 0 else math.copysign(math.inf, numerator)
        return numerator / math.sqrt(variance)

    def score_upper_bound(self, confidence: float = 0.9) -> float:
        """One-sided upper bound on the drop from Tango's score test, percentage points (unconditional).

        Does not condition on ``m``: it carries the uncertainty of the discordant count too, so it keeps near
        nominal coverage where :meth:`upper_bound` does not (discordant pairs nearly all one way; see the
        module's docstring). Asymptotic, not exact -- coverage is near ``confidence`` rather than at least
        it. At ``confidence=0.5`` it is the point estimate exactly, so the rule reduces to today's; with no
        discordant pairs it is ``100 z^2 / (n + z^2)``, not 0 (n concordant samples do not prove a zero drop).
        """
        _check_level("confidence", confidence)
        estimate = (self.b - self.c) / self.n
        if confidence == 0.5:
            return 100.0 * estimate
        z = float(norm.ppf(confidence))
        top = 1.0 - 1e-12
        if self._score(top) + z >= 0.0:
            return 100.0 * top
        # the score falls from 0 at the estimate as delta grows: the bound is where it reaches -z
        start = min(max(estimate, -top), top)
        return 100.0 * float(brentq(lambda d: self._score(d) + z, start, top, xtol=1e-12))

    def score_p_value_over_budget(self, budget_pt: float) -> float:
        """One-sided p-value of H0 "the true drop is >= ``budget_pt``" from Tango's score test (unconditional).

        The dual of :meth:`score_upper_bound` (bound <= budget iff p-value <= 1 - confidence); asymptotic.
        """
        delta = budget_pt / 100.0
        if delta >= 1.0:
            return 0.0
        if delta <= -1.0:
            return 1.0
        return float(norm.cdf(self._score(delta)))


def paired_drop(float_correct: ArrayLike, quantized_correct: ArrayLike) -> PairedDrop:
    """The paired drop of a quantized model against the float baseline, from their per-sample correctness.

    Both vectors must score the same samples in the same order; a length mismatch means they did not.
    """
    f = _bool_vector("float_correct", float_correct)
    q = _bool_vector("quantized_correct", quantized_correct)
    if f.shape != q.shape:
        raise ValueError(f"float_correct has {f.size} samples but quantized_correct has {q.size}: "
                         f"a paired drop needs the same samples")
    return PairedDrop(n=int(f.size), b=int(np.count_nonzero(f & ~q)), c=int(np.count_nonzero(~f & q)))


# ---------------------------------------------------------------------------------------------------------
# several stochastic draws of one model


def pooled(draws: Sequence[ArrayLike]) -> NDArray[np.float64]:
    """Per-sample fraction correct over several stochastic evaluation draws of one model.

    A spiking network with stochastic inputs (Poisson encoding) scores differently on each evaluation;
    pooling the draws sample by sample keeps the pairing with the baseline that averaging accuracies loses.
    """
    if len(draws) == 0:
        raise ValueError("pooled needs at least one evaluation draw")
    vectors = [_bool_vector(f"draw {i}", d) for i, d in enumerate(draws)]
    sizes = sorted({v.size for v in vectors})
    if len(sizes) != 1:
        raise ValueError(f"evaluation draws score different numbers of samples ({sizes}): they must share the split")
    return np.mean(np.stack(vectors), axis=0, dtype=np.float64)


def paired_drop_pooled(float_correct: ArrayLike, quantized_draws: Sequence[ArrayLike]) -> PairedDrop:
    """The paired drop against several stochastic draws of the quantized model, as fractional counts.

    With ``q`` the per-sample fraction correct (:func:`pooled`): ``b = sum(float_right * (1 - q))``,
    ``c = sum((1 - float_right) * q)``; one draw gives exactly :func:`paired_drop`. The same interval
    machinery applies (beta quantiles take fractional parameters). Approximation: the fractional counts
    are treated as if they were ``b`` and ``c`` observed pairs, so the bounds describe the model's *mean*
    behaviour over draws with the evidence of one draw's worth of pairs -- slightly conservative for the
    mean (pooling reduces the draw-to-draw noise it does not credit), and not a bound on any single draw.
    """
    f = _bool_vector("float_correct", float_correct)
    q = pooled(quantized_draws)
    if f.size != q.size:
        raise ValueError(f"float_correct has {f.size} samples but the quantized draws have {q.size}: "
                         f"a paired drop needs the same samples")
    return paired_drop_of_fractions(f.astype(np.float64), q)


def paired_drop_of_fractions(float_right: NDArray[np.float64], quantized_right: NDArray[np.float64]) -> PairedDrop:
    """The paired drop of per-sample fractions correct (1/0 for one draw), as expected discordant counts:
    ``b = sum(f * (1 - q))``, ``c = sum((1 - f) * q)`` -- both models may be pooled over draws."""
    if float_right.shape != quantized_right.shape:
        raise ValueError(f"the float baseline scored {float_right.size} samples, the trial {quantized_right.size}: "
                         f"a paired drop needs the same samples")
    b = float(np.sum(float_right * (1.0 - quantized_right)))
    c = float(np.sum((1.0 - float_right) * quantized_right))
    return PairedDrop(n=int(float_right.size), b=b, c=c)


# ---------------------------------------------------------------------------------------------------------
# many finalists: family-wise error


def holm_adjusted(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni step-down adjusted p-values, in the input's order (monotone, capped at 1).

    Testing every finalist at level alpha lets one in many pass by luck (the winner's curse again); Holm
    keeps the family-wise error at alpha, is uniformly more powerful than Bonferroni, and needs no
    independence between the tests (the finalists share the validation samples).
    """
    ps = [float(p) for p in p_values]
    for p in ps:
        if not 0.0 <= p <= 1.0:  # also refuses NaN
            raise ValueError(f"p-values must lie in [0, 1], got {p}")
    k = len(ps)
    order = sorted(range(k), key=lambda i: ps[i])
    adjusted = [0.0] * k
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (k - rank) * ps[i]))
        adjusted[i] = running
    return adjusted


def within_budget_after_holm(drops: Sequence[PairedDrop], budget: float, confidence: float,
                             method: Literal["exact", "score"] = "exact") -> list[bool]:
    """For each finalist: is "the true drop exceeds ``budget``" rejected at family-wise level 1 - confidence?

    Each finalist's one-sided p-value -- ``"exact"``: the conditional exact McNemar test
    (:meth:`PairedDrop.p_value_over_budget`); ``"score"``: Tango's unconditional score test
    (:meth:`PairedDrop.score_p_value_over_budget`) -- is Holm-adjusted over the finalists, so with
    probability at least ``confidence`` *no* finalist marked True is in fact over budget (as far as each
    test's own level holds). For a single finalist this is ``upper_bound(confidence) <= budget``
    (``score_upper_bound`` for ``"score"``).
    """
    _check_level("confidence", confidence)
    if method == "exact":
        p_values = [d.p_value_over_budget(budget) for d in drops]
    elif method == "score":
        p_values = [d.score_p_value_over_budget(budget) for d in drops]
    else:
        raise ValueError(f"method must be 'exact' or 'score', got {method!r}")
    adjusted = holm_adjusted(p_values)
    return [p <= 1.0 - confidence for p in adjusted]


# ---------------------------------------------------------------------------------------------------------
# what a split can resolve


def smallest_resolvable_budget(n: int) -> float:
    """The smallest budget a split of ``n`` samples can resolve, percentage points: one sample, 100 / n."""
    if n <= 0:
        raise ValueError(f"n must be a positive sample count, got {n}")
    return 100.0 / n


def resolvable(n: int, budget_pt: float) -> bool:
    """Whether a split of ``n`` samples can resolve a drop budget of ``budget_pt`` points.

    Accuracy on ``n`` samples moves in steps of one sample (100 / n pt): a budget smaller than one step
    cannot tell "within budget" from "one sample worse", whatever the statistics.
    """
    step = smallest_resolvable_budget(n)
    return budget_pt >= step * (1.0 - 1e-12)


def resolution_note(n: int, budget_pt: float, split: str = "test") -> str | None:
    """A sentence for the user when the split cannot resolve the budget, else None.

    E.g. "a 36-sample test split cannot resolve a 1 pt budget (one sample is 2.78 pt); the smallest budget
    it can resolve is 2.78 pt".
    """
    if resolvable(n, budget_pt):
        return None
    step = smallest_resolvable_budget(n)
    return (f"a {n}-sample {split} split cannot resolve a {budget_pt:g} pt budget (one sample is {step:.2f} pt); "
            f"the smallest budget it can resolve is {step:.2f} pt")

