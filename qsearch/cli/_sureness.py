"""The finalists table of ``run``, ``best`` and ``confirm`` (the words themselves: qsearch.results)."""

from __future__ import annotations

from qsearch.results import FrontSummary, evidence_words, finalist_records


def render_finalists(summary: FrontSummary) -> None:
    """The finalists as a table: each one's evidence and whether it was shown within budget."""
    from rich.console import Console
    from rich.table import Table

    if not summary.risk_aware:
        return
    table = Table(title=f"finalists, judged on {evidence_words(summary)} at {summary.confidence:.0%} confidence")
    for header in ("trial", "KiB", "x smaller", "val drop", "drop", f"at most ({summary.confidence:.0%})",
                   "P(within)", "n", "test drop", "within budget"):
        table.add_column(header, justify="right")
    for rec in finalist_records(summary):
        mark = "yes" if rec["within_budget"] else "no"
        if summary.selected is not None and rec["trial_number"] == summary.selected.trial_number:
            mark = "yes, selected"
        table.add_row(str(rec["trial_number"]), f"{rec['memory_kib']:.2f}", f"{rec['compression_ratio']:.1f}",
                      f"{rec['validation_drop']:+.2f}", f"{rec['drop']:+.2f}", f"{rec['upper_bound']:+.2f}",
                      "-" if rec["p_within_budget"] is None else f"{rec['p_within_budget']:.2f}",
                      str(rec["samples"]), "-" if rec["test_drop"] is None else f"{rec['test_drop']:+.2f}", mark)
    Console(width=200).print(table)
