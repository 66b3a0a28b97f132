"""The words that say how sure the pick is: the finalists, the pick's evidence, the test split's paired check.

Pure text over a :class:`FrontSummary`, shared by ``run``'s end report, ``best``, ``confirm``, their JSON
(:func:`selection_fields`), the dashboard note and the model card.
"""

from __future__ import annotations

from typing import Any

from qsearch.results._row import ResultRow
from qsearch.results._summary import FrontSummary

#: two-sided level of the intervals shown for the test split (a report, never used to choose)
TEST_INTERVAL_LEVEL = 0.9


def evidence_words(summary: FrontSummary) -> str:
    if summary.evidence_kind == "cross-validation":
        n = next(iter(summary.evidence.values())).n
        return (f"{summary.folds}-fold cross-validation on {n} train + validation samples (float baseline and "
                f"each finalist retrained per fold)")
    if summary.evidence_kind == "validation":
        n = next(iter(summary.evidence.values())).n
        return f"the paired validation split ({n} samples; not confirmed, so biased by the search's choice)"
    return "the point estimate on validation"


def sureness_line(summary: FrontSummary) -> str:
    """One sentence a new user understands: how sure the pick is, and on what evidence."""
    selected, budget = summary.selected, summary.budget
    if budget is None:
        return "how sure: there is no accuracy budget, so the pick is the smallest model"
    if not summary.risk_aware:
        note = ("this study recorded no paired evidence (an older qsearch, or selection.confidence 0.5)"
                if summary.confidence != 0.5 else "selection.confidence is 0.5")
        return f"how sure: not measured — {note}; the pick is the point estimate on validation"
    if selected is None:
        return ""
    drop = summary.evidence[selected.trial_number]
    upper, p = summary.upper_bound(selected.trial_number), summary.p_within(selected.trial_number)
    return (f"how sure: with {summary.confidence:.0%} confidence it loses at most {max(upper or 0.0, 0.0):.2f} "
            f"points against the float network (budget {budget:g} pt; corrected for the "
            f"{len(summary.evidence)} finalists it was chosen among); estimated loss {drop.drop_pt:+.2f} pt, "
            f"P(within budget) {p:.2f}; measured by {evidence_words(summary)}")


def no_pick_sentence(summary: FrontSummary) -> str | None:
    """Why the risk-aware rule picked nothing, naming the closest finalist; None if it does not apply."""
    if not summary.risk_aware or summary.selected is not None or not summary.evidence:
        return None
    number = min(summary.evidence, key=lambda k: (summary.upper_bound(k) or 0.0, k))
    drop = summary.evidence[number]
    return (f"no model selected: no finalist keeps the {summary.budget:g} pt budget with "
            f"{summary.confidence:.0%} confidence (judged on {evidence_words(summary)}); the closest is trial "
            f"{number}, estimated loss {drop.drop_pt:+.2f} pt, at most {summary.upper_bound(number):+.2f}"
            f" pt; lower selection.confidence or widen constraints.max_accuracy_drop to accept more risk")


def test_interval_words(summary: FrontSummary, row: ResultRow | None = None) -> str | None:
    """``paired 90 % interval -0.2 to +1.3 pt`` for a row's test drop, None without paired evidence."""
    drop = summary.test_drop(row)
    if drop is None:
        return None
    low, high = drop.interval(TEST_INTERVAL_LEVEL)
    return f"paired {TEST_INTERVAL_LEVEL:.0%} interval {low:+.2f} to {high:+.2f} pt"


def finalist_records(summary: FrontSummary) -> list[dict[str, Any]]:
    """One mapping per finalist: what the pick was judged on (JSON, the finalists table, the model card)."""
    records = []
    for row in summary.finalists:
        drop = summary.evidence[row.trial_number]
        test = summary.test_drop(row)
        records.append({
            "trial_number": row.trial_number, "memory_kib": row.memory_kib,
            "compression_ratio": row.compression_ratio, "validation_drop": row.accuracy_drop,
            "evidence": summary.evidence_kind, "drop": drop.drop_pt,
            "upper_bound": summary.upper_bound(row.trial_number),
            "bound_level": summary.bound_level(row.trial_number),
            "interval": list(drop.interval(2 * summary.confidence - 1)) if summary.confidence > 0.5 else None,
            "p_within_budget": drop.prob_within_budget(summary.budget) if summary.budget is not None else None,
            "samples": drop.n, "folds": summary.folds, "within_budget": summary.passed.get(row.trial_number),
            "test_drop": None if test is None else test.drop_pt,
            "test_interval": None if test is None else list(test.interval(TEST_INTERVAL_LEVEL)),
        })
    return records


def selection_fields(summary: FrontSummary) -> dict[str, Any]:
    """The ``selection`` object of JSON reports: the rule, its evidence, every finalist."""
    point = summary.point_selected
    return {"confidence": summary.confidence, "evidence": summary.evidence_kind, "folds": summary.folds,
            "finalists": finalist_records(summary) if summary.risk_aware else [],
            "point_estimate_pick": None if point is None else point.trial_number,
            "sureness": sureness_line(summary) or no_pick_sentence(summary)}


# ---------------------------------------------------------------------------------------------------------
# the float baseline's place: is it worth compressing?


def _settings_words(settings: dict[str, Any]) -> str:
    def value(v: Any) -> str:
        return f"{v:.3g}" if isinstance(v, float) else str(v)

    return ", ".join(f"{key.rsplit('.', 1)[-1]} {value(v)}" for key, v in settings.items()) or "the file's own"


def baseline_sentence(check: dict[str, Any] | None, tuning: dict[str, Any] | None) -> str | None:
    """One sentence a new user understands: how the float SNN compares with a plain non-spiking network on
    the same validation samples (``FrontSummary.baseline_check``), and whether its settings were tuned
    (``FrontSummary.baseline_tuning``); None for studies recorded before the check."""
    if check is None:
        return None
    lo, hi = check["gap_interval"]
    text = (f"float baseline: the SNN gets {check['share']:.0%} of a plain non-spiking network's gain over chance "
            f"on validation ({check['snn_validation']:.1f} % vs {check['reference_validation']:.1f} %, chance "
            f"{check['chance']:.1f} %; {check['gap_pt']:+.1f} pt below it, paired 90 % interval {lo:+.1f} to "
            f"{hi:+.1f}, n={check['n']}; the study asks {check['min_share']:.0%})")
    if tuning is None:
        return f"{text}; not tuned"
    if tuning.get("outcome") == "tuned":
        before = tuning.get("file_settings_validation")
        was = "" if before is None else f", {before:.1f} % with the study file's"
        return (f"{text}; tuned: {tuning.get('trials')} settings tried in {tuning.get('wall_s', 0):.0f} s (study "
                f"{tuning.get('tuning_study')!r}), chosen {_settings_words(tuning.get('settings', {}))}{was}")
    return f"{text}; not tuned: the study file's settings passed this check"
