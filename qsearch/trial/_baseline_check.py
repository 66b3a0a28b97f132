"""Does the float baseline earn its place? Its validation accuracy against the non-spiking reference, paired.

A compression figure is only as honest as its float baseline: "13.9x within budget" of an SNN that learned 21 %
where a plain MLP gets 52 % on the same split is a front nobody would deploy. The rule compares the two on the
same validation samples. The *gap* is the reference's accuracy minus the SNN's (points; positive: the SNN is
worse), a paired statistic like every drop of the pick (:mod:`qsearch.results._paired`). The SNN must reach
``min_share`` of the reference's gain over chance, so the allowed gap is ``(1 - min_share) * (reference -
chance)``. The baseline *falls short* when the evidence is clear: the Jeffreys posterior gives less than
:data:`SHORT_BELOW` probability that the gap is within the allowed one (90 % sure it is not); it is *probably
short*, reason enough to tune it, below :data:`PROBABLY_SHORT_BELOW`. A borderline baseline is not stopped; the
report shows its gap and interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qsearch.results import PairedDrop, paired_drop_pooled, unpack_correct
from qsearch.trial._reference_classifier import ReferenceResult

#: a baseline falls short when the probability that its gap is within the allowed one is below this
SHORT_BELOW = 0.1
#: ``baseline.tune.when: auto`` tunes a baseline whose probability of being within the allowed gap is below this
PROBABLY_SHORT_BELOW = 0.5
#: the two-sided level of the gap's interval in the words shown to users
GAP_LEVEL = 0.9


@dataclass(frozen=True)
class BaselineCheck:
    """The float SNN against the non-spiking reference on validation: the paired gap and the verdict."""

    snn: float  # validation accuracy, percent
    reference: float
    chance: float
    min_share: float
    gap: PairedDrop  # reference minus SNN, paired on the validation samples

    @property
    def allowed_pt(self) -> float:
        """The largest gap the rule allows, points."""
        return (1.0 - self.min_share) * max(self.reference - self.chance, 0.0)

    @property
    def share(self) -> float:
        """The SNN's gain over chance as a share of the reference's (1: as good; can exceed 1)."""
        gain = self.reference - self.chance
        return (self.snn - self.chance) / gain if gain > 0 else 1.0

    @property
    def p_within(self) -> float:
        """Posterior probability that the true gap is at most the allowed one."""
        return self.gap.prob_within_budget(self.allowed_pt)

    @property
    def short(self) -> bool:
        """Clearly below the reference (never when the rule is off or the reference learned nothing)."""
        return self._judged and self.p_within < SHORT_BELOW

    @property
    def probably_short(self) -> bool:
        """More likely below the allowed gap than not: reason enough to tune (``baseline.tune.when: auto``)."""
        return self._judged and self.p_within < PROBABLY_SHORT_BELOW

    @property
    def _judged(self) -> bool:
        return self.min_share > 0 and self.reference > self.chance

    def gap_words(self) -> str:
        lo, hi = self.gap.interval(GAP_LEVEL)
        return (f"{self.gap.drop_pt:+.1f} pt below the reference (paired {GAP_LEVEL:.0%} interval {lo:+.1f} to "
                f"{hi:+.1f}, n={self.gap.n})")

    def as_dict(self) -> dict:
        lo, hi = self.gap.interval(GAP_LEVEL)
        return {"snn_validation": self.snn, "reference_validation": self.reference, "chance": self.chance,
                "min_share": self.min_share, "share": self.share, "gap_pt": self.gap.drop_pt,
                "gap_interval": [lo, hi], "allowed_gap_pt": self.allowed_pt, "p_within": self.p_within,
                "short": self.short, "probably_short": self.probably_short, "n": self.gap.n}


def check_baseline(snn_correct: Sequence[str], reference: ReferenceResult, chance: float,
                   min_share: float) -> BaselineCheck | None:
    """Judge the float SNN's packed validation correctness (one string per evaluation draw) against the
    reference's; None when the reference carries no per-sample correctness (recorded before it did)."""
    n = reference.validation_n
    if not reference.validation_correct or not snn_correct or n <= 0:
        return None
    ref = unpack_correct(reference.validation_correct, n)
    draws = [unpack_correct(packed, n) for packed in snn_correct]
    snn = 100.0 * float(np.mean([d.mean() for d in draws]))
    return BaselineCheck(snn=snn, reference=reference.validation, chance=chance, min_share=min_share,
                         gap=paired_drop_pooled(ref, draws))


__all__ = ["GAP_LEVEL", "PROBABLY_SHORT_BELOW", "SHORT_BELOW", "BaselineCheck", "check_baseline"]
