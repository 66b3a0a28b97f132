"""Rendering result rows for people (rich tables) and scripts (JSON, CSV).

Rows are :class:`~qsearch.results.ResultRow` (or, for listings that are not trials, plain mappings); the JSON
and CSV keys are the results table's column names, which scripts depend on.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from qsearch.results import ResultRow

Record = ResultRow | Mapping[str, Any]

#: (header, column, format) of the human table
TABLE_COLUMNS: list[tuple[str, str, str]] = [
    ("trial", "trial_number", "{}"), ("scheme", "scheme", "{}"), ("weights", "weight_bits", "{}"),
    ("mem", "membrane_bits", "{}"), ("cur", "current_bits", "{}"), ("par", "param_bits", "{}"),
    ("rounding", "rounding", "{}"), ("T", "timesteps", "{}"), ("sparsity", "sparsity", "{:.2f}"),
    ("validation %", "validation_accuracy", "acc"), ("test %", "test_accuracy", "acc"),
    ("drop pt", "accuracy_drop", "{:+.2f}"), ("KiB", "memory_kib", "{:.2f}"),
    ("x smaller", "compression_ratio", "{:.1f}"), ("SOPs", "sops", "{:.0f}"),
    ("confirmed drop", "confirmed_drop", "{:+.2f}"), ("P(within)", "confirmed_p_within", "{:.2f}"),
    ("state", "state", "{}"),
]


def record(row: Record, **extra: Any) -> dict[str, Any]:
    """A row as column -> value (plus ``extra`` columns such as a note)."""
    if isinstance(row, ResultRow):
        values = {**row.as_dict(), "test_accuracy_se": row.test_accuracy_se,
                  "validation_accuracy_se": row.validation_accuracy_se}
    else:
        values = dict(row)
    return {**values, **extra}


def _cell(row: Record, column: str, fmt: str) -> str:
    value = row.get(column)
    if value is None:
        return "-"
    if column == "scheme" and row.get("is_baseline"):
        return "float32"
    if row.get("is_baseline") and column in ("weight_bits", "membrane_bits", "current_bits", "param_bits"):
        return "32"
    if fmt == "acc":  # accuracy ± standard error (n samples); a plain mapping has only the value
        if not isinstance(row, ResultRow):
            return f"{value:.2f}"
        return row.describe_accuracy(column.removesuffix("_accuracy")).replace(" %", "")
    return fmt.format(value)


def render_table(rows: Sequence[Record], title: str, marks: dict[int, str] | None = None,
                 console: Console | None = None) -> None:
    """Print rows as a table; ``marks`` maps trial numbers to a note such as 'selected' or 'knee'."""
    marks = marks or {}
    table = Table(title=title, title_justify="left")
    for header, _, _ in TABLE_COLUMNS:
        table.add_column(header, justify="right" if header not in ("scheme", "rounding", "state") else "left")
    table.add_column("note")
    for row in rows:
        note = "float baseline" if row.get("is_baseline") else ""
        if row["trial_number"] in marks:
            note = ", ".join(filter(None, [note, marks[row["trial_number"]]]))
        style = "bold green" if "selected" in note else ("cyan" if row.get("is_baseline") else None)
        table.add_row(*(_cell(row, c, f) for _, c, f in TABLE_COLUMNS), note, style=style)
    if console is None:
        console = Console()
        console.width = max(console.width, 200)  # pipes and CI logs report 80 columns; keep rows on one line
    console.print(table)


def _jsonable(row: Record) -> dict:
    out = {}
    for key, value in record(row).items():
        out[key] = value.isoformat() if hasattr(value, "isoformat") else value
    return out


def to_json(rows: Sequence[Record], extra: dict | None = None) -> str:
    payload: dict | list = [_jsonable(r) for r in rows]
    if extra is not None:
        payload = {**extra, "trials": payload}
    return json.dumps(payload, indent=2, default=str)


def to_csv(rows: Sequence[Record], columns: Sequence[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _jsonable(row).get(k) for k in columns})
    return buffer.getvalue()


def reference_line(reference: dict | None, baseline: ResultRow | None) -> str | None:
    """One line: the float SNN beside the non-spiking model fitted on the same split (does the SNN under-train?).

    ``reference`` is what the baseline trial recorded (user attribute ``reference``: name, validation, test, n,
    chance); None when the study has none (the synthetic runner, a study made by an older qsearch).
    """
    if not reference or baseline is None:
        return None
    snn = (f"float SNN: validation {baseline.describe_accuracy('validation')}, "
           f"test {baseline.describe_accuracy('test')}")
    gap = (None if baseline.test_accuracy is None or reference.get("test") is None
           else reference["test"] - baseline.test_accuracy)
    line = (f"{snn}; non-spiking reference ({reference.get('name', '?')}, same split): validation "
            f"{reference.get('validation', float('nan')):.2f}, test {reference.get('test', float('nan')):.2f}")
    if gap is not None:
        line += f" ({gap:+.2f} pt vs the SNN on test)"
    return line
