"""The study note qsearch writes into optuna-dashboard: the front summary as Markdown (pure, no I/O).

It renders the same :class:`~qsearch.results.FrontSummary` as ``qsearch best``, the Pareto figure and the
model card, so the dashboard names the same float baseline, budget, selected model and knee.
"""

from __future__ import annotations

import datetime as dt

from qsearch.metrics import cost_objective, metric
from qsearch.results import (
    FrontSummary,
    ResultRow,
    baseline_sentence,
    finalist_records,
    no_pick_sentence,
    sureness_line,
)

#: the note's first line; tests and the browser check find the note by it
NOTE_HEADING = "## qsearch summary"


def _point(row: ResultRow, objectives: tuple[str, ...]) -> str:
    parts = []
    for name in objectives:
        value = row.value(name)
        parts.append(f"{metric(name).axis_title} {'-' if value is None else format(value, '.4g')}")
    return ", ".join(parts)


def _config(row: ResultRow) -> str:
    return (f"{row.scheme}, weights {row.weight_bits} bit, membrane {row.membrane_bits}, current "
            f"{row.current_bits}, params {row.param_bits}, {row.rounding} rounding, T={row.timesteps}, "
            f"sparsity {row.sparsity:.2f}")


def note_markdown(summary: FrontSummary, study_name: str, *, accuracy_split: str = "validation",
                  updated: dt.datetime | None = None) -> str:
    """The study note: baseline, budget, selected model, knee, trials by state, time of writing."""
    lines = [NOTE_HEADING, "", f"Study **{study_name}**, objectives {', '.join(summary.objectives)}; "
             f"accuracies on the {accuracy_split} split.", ""]
    base = summary.baseline
    if base is not None:
        lines.append(f"- **float baseline**: trial {base.trial_number} (not a candidate: marked infeasible), "
                     f"{accuracy_split} accuracy {base.describe_accuracy(accuracy_split)}, "
                     f"{base.memory_kib:.2f} KiB")
    else:
        lines.append("- **float baseline**: not finished yet")
    place = baseline_sentence(summary.baseline_check, summary.baseline_tuning)
    if place is not None:
        lines.append(f"- **is the baseline worth compressing?** {place.removeprefix('float baseline: ')}")
    if summary.budget is not None:
        floor = f" (accuracy at least {base.accuracy - summary.budget:.2f} %)" if base and base.accuracy else ""
        lines.append(f"- **budget**: at most {summary.budget} points below float{floor}")
    selected, knee = summary.selected, summary.knee
    if selected is not None:
        lines.append(f"- **selected**: trial {selected.trial_number} — smallest "
                     f"{cost_objective(summary.objectives)} within budget: {_point(selected, summary.objectives)}"
                     f" ({selected.compression_ratio or 0:.1f}x smaller than float32); {_config(selected)}")
    else:
        lines.append(f"- **selected**: none ({no_pick_sentence(summary) or 'no feasible trial within the budget yet'})")
    sure = sureness_line(summary)
    if sure:
        lines.append(f"- **how sure**: {sure.removeprefix('how sure: ')}")
    if summary.risk_aware:
        lines.append(f"- **finalists** ({summary.evidence_kind}, {summary.confidence:.0%} confidence): " + "; ".join(
            f"trial {f['trial_number']} drop {f['drop']:+.2f} pt, at most {f['upper_bound']:+.2f}, "
            f"P(within) {f['p_within_budget']:.2f}" + (" **selected**" if summary.selected is not None
                                                        and f["trial_number"] == summary.selected.trial_number
                                                        else "")
            for f in finalist_records(summary)))
    if knee is not None:
        lines.append(f"- **knee**: trial {knee.trial_number} — {_point(knee, summary.objectives)}")
    lines.append(f"- **Pareto front** (feasible): trials {', '.join(str(r.trial_number) for r in summary.front)}"
                 if summary.front else "- **Pareto front**: empty")
    states = ", ".join(f"{count} {state.lower()}" for state, count in sorted(summary.states.items()))
    lines.append(f"- **trials**: {states or 'none'}")
    when = (updated or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%d %H:%M UTC")
    lines += ["", f"Written by qsearch at {when}; `qsearch best` prints the same front."]
    return "\n".join(lines)
