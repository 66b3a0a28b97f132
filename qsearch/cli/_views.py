"""The views of a recorded study: ``best``, ``trials``, ``studies``, ``plot`` and ``run``'s end-of-run report.

Each reads the study once (:func:`qsearch.record.read_study`) and renders its
:class:`~qsearch.results.FrontSummary`; none of them opens the storage again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from qsearch.cli._app import (
    DEFAULT_STORAGE,
    FormatOpt,
    OutputFormat,
    StorageOpt,
    StudyNameOpt,
    app,
    fail,
    user_errors,
)
from qsearch.cli._sureness import render_finalists
from qsearch.errors import InputError
from qsearch.record import RecordedStudy, mask_url
from qsearch.results import (
    TEST_INTERVAL_LEVEL,
    baseline_sentence,
    no_pick_sentence,
    selection_fields,
    sureness_line,
    test_interval_words,
)


def show_front(recorded: RecordedStudy, plot_path: Path | None = None, max_accuracy_drop: float | None = None,
               output: OutputFormat = OutputFormat.table, feasible_only: bool = True) -> None:
    """The end-of-run report: the float baseline and the front, the selected model, the knee (and the plot)."""
    from qsearch.metrics import cost_objective
    from qsearch.report import record, reference_line, render_table, to_csv, to_json
    from qsearch.results import COLUMNS, pareto_front

    name, rows = recorded.name, recorded.rows
    if not rows:
        raise InputError(f"--study-name: no results for study {name!r} in {mask_url(recorded.url)}")
    summary = recorded.summary(max_accuracy_drop)
    split = summary.accuracy_split
    selected, marks = summary.selected, summary.marks()
    front = summary.front if feasible_only else tuple(pareto_front(summary.candidates, summary.objectives))
    shown = ([summary.baseline] if summary.baseline is not None else []) + list(front)
    if selected is not None and selected not in shown:  # a finalist off the validation front, confirmed
        shown.append(selected)
    if output == OutputFormat.json:
        typer.echo(to_json(shown, {**_summary_fields(name, summary, split), "reference": summary.reference}))
    elif output == OutputFormat.csv:
        typer.echo(to_csv([record(r, note=marks.get(r.trial_number, "")) for r in shown], [*COLUMNS, "note"]),
                   nl=False)
    else:
        render_table(shown, f"Pareto front of {name!r} ({len(front)} of {len(rows)} trials; selection: "
                            f"{_rule_words(summary, cost_objective(summary.objectives))})", marks)
        render_finalists(summary)
        if selected is not None:
            typer.echo(f"selected: trial {selected.trial_number}  {selected.memory_kib:.2f} KiB "
                       f"({selected.compression_ratio:.1f}x smaller than float32), "
                       f"{split} accuracy {selected.accuracy:.2f}% (drop {selected.accuracy_drop:+.2f} pt vs float)")
            typer.echo(_test_check(summary))
        else:
            typer.echo(_no_pick_line(summary))
        sure = sureness_line(summary)
        if sure:
            typer.echo(sure)
        reference = reference_line(summary.reference, summary.baseline)
        if reference is not None:
            typer.echo(reference)
        place = baseline_sentence(summary.baseline_check, summary.baseline_tuning)
        if place is not None:
            typer.echo(place)
    if plot_path is not None:
        from qsearch.plots import write_pareto_html

        write_pareto_html(summary, plot_path, title=f"qsearch study {name}", accuracy_split=split)
        if output == OutputFormat.table:
            typer.echo(f"Pareto front plot: {plot_path}")


def _rule_words(summary, cost: str) -> str:
    """The selection rule in a few words, for a table title."""
    if summary.risk_aware:
        return (f"smallest {cost} within {summary.budget} pt of float with {summary.confidence:.0%} confidence")
    return f"smallest {cost} within {summary.budget} pt of float"


def _summary_fields(name: str, summary, split: str) -> dict:
    """The keys every JSON report of a front carries (scripts read them)."""
    selected = summary.selected
    test = summary.test_drop()
    return {"selection": selection_fields(summary), "study": name, "objectives": list(summary.objectives),
            "accuracy_split": split,
            "max_accuracy_drop": summary.budget,
            "baseline_check": summary.baseline_check, "baseline_tuning": summary.baseline_tuning,
            "selected": selected.trial_number if selected else None,
            "knee": summary.knee.trial_number if summary.knee else None,
            "selected_on_test": None if selected is None else {
                "test_accuracy": selected.test_accuracy, "test_n": selected.test_n,
                "test_accuracy_se": selected.test_accuracy_se, "test_drop": summary.selected_test_drop,
                "within_budget": summary.selected_within_budget_on_test,
                "test_interval": None if test is None else list(test.interval(TEST_INTERVAL_LEVEL))}}


def _no_pick_line(summary) -> str:
    """One line when nothing is selected: which budget nothing met, and the closest trial (drop = float minus
    quantized accuracy, points; positive is worse)."""
    sentence = no_pick_sentence(summary)
    if sentence is not None:
        return sentence
    measured = [r for r in summary.candidates if r.accuracy_drop is not None]
    if not measured:
        return "no model selected: no trial besides the float baseline has finished"
    closest = min(measured, key=lambda r: (r.accuracy_drop, r.trial_number))
    rule = "the constraints" if summary.budget is None else f"{summary.budget} pt of float"
    return (f"no model selected: no trial is within {rule} on {summary.accuracy_split}; the closest is "
            f"trial {closest.trial_number} at {closest.accuracy_drop:+.2f} pt")


def _test_check(summary) -> str:
    """One line: the selected model on the test split, which selection never looks at."""
    selected, drop = summary.selected, summary.selected_test_drop
    line = (f"on test (reported only): validation {selected.describe_accuracy('validation')}, "
            f"test {selected.describe_accuracy('test')}")
    if drop is None:
        return line
    verdict = "within" if summary.selected_within_budget_on_test else "NOT within"
    interval = test_interval_words(summary)
    return (f"{line}; test drop {drop:+.2f} pt vs float{f' ({interval})' if interval else ''}, {verdict} the "
            f"{summary.budget} pt budget")


@app.command()
def best(
    storage: StorageOpt = DEFAULT_STORAGE,
    study_name: StudyNameOpt = "qsearch",
    max_accuracy_drop: Annotated[float | None, typer.Option("--max-accuracy-drop",
                                                            help="points below float")] = None,
    max_memory_kib: Annotated[float | None, typer.Option("--max-memory-kib")] = None,
    include_infeasible: Annotated[bool, typer.Option("--include-infeasible")] = False,
    output: FormatOpt = OutputFormat.table,
) -> None:
    """The Pareto front (feasible trials by default) with the selected model and the knee marked."""
    with user_errors(storage):
        _best(storage, study_name, max_accuracy_drop, max_memory_kib, include_infeasible, output)


def _best(url, name, max_drop, max_kib, include_infeasible, output) -> None:
    from qsearch.record import read_study
    from qsearch.report import record, reference_line, render_table, to_csv, to_json
    from qsearch.results import COLUMNS, ResultFilter, filter_rows, pareto_front

    flt = ResultFilter(max_accuracy_drop=max_drop, max_memory_kib=max_kib, states=["COMPLETE"],
                       feasible_only=not include_infeasible, include_baseline=False)
    recorded = read_study(url, name)
    baseline = [r for r in recorded.rows if r.is_baseline]  # not a candidate; the test-split check's reference
    summary = recorded.summary(max_drop, rows=filter_rows(recorded.rows, flt) + baseline)
    split = summary.accuracy_split
    front = (pareto_front(summary.candidates, summary.objectives) if include_infeasible else list(summary.front))
    marks = summary.marks()
    if summary.selected is not None and summary.selected not in front:  # a confirmed finalist off the front
        front = [*front, summary.selected]
    rows_out = [record(r, note=marks.get(r.trial_number, "")) for r in front]
    if output == OutputFormat.json:
        typer.echo(to_json(rows_out, {**_summary_fields(name, summary, split), "reference": summary.reference}))
    elif output == OutputFormat.csv:
        typer.echo(to_csv(rows_out, [*COLUMNS, "note"]), nl=False)
    else:
        render_table(front, f"Pareto front of {name!r} ({len(front)} trials; selected on {split})", marks)
        render_finalists(summary)
        if summary.selected is not None:
            typer.echo(f"selected: trial {summary.selected.trial_number}; {_test_check(summary)}")
            typer.echo(sureness_line(summary))
        else:
            typer.echo(_no_pick_line(recorded.summary(max_drop)))  # the closest among every trial, not the shown
        reference = reference_line(summary.reference, summary.baseline)
        if reference is not None:
            typer.echo(reference)
        place = baseline_sentence(summary.baseline_check, summary.baseline_tuning)
        if place is not None:
            typer.echo(place)


@app.command()
def trials(
    storage: StorageOpt = DEFAULT_STORAGE,
    study_name: StudyNameOpt = "qsearch",
    max_accuracy_drop: Annotated[float | None, typer.Option("--max-accuracy-drop")] = None,
    max_memory_kib: Annotated[float | None, typer.Option("--max-memory-kib")] = None,
    state: Annotated[list[str] | None, typer.Option("--state", help="COMPLETE, PRUNED or FAIL (repeatable)")] = None,
    feasible: Annotated[bool, typer.Option("--feasible", help="only feasible trials")] = False,
    sort: Annotated[str, typer.Option("--sort", help="column to sort by")] = "trial_number",
    descending: Annotated[bool, typer.Option("--desc")] = False,
    output: FormatOpt = OutputFormat.table,
) -> None:
    """Every recorded trial, filtered and sorted."""
    from qsearch.record import read_study
    from qsearch.report import render_table, to_csv, to_json
    from qsearch.results import COLUMNS, ResultFilter, filter_rows

    allowed = {"COMPLETE", "PRUNED", "FAIL"}
    for s in state or []:
        if s.upper() not in allowed:
            raise fail(f"--state: {s!r} is unknown; allowed: {', '.join(sorted(allowed))}")
    with user_errors(storage):
        flt = ResultFilter(max_accuracy_drop=max_accuracy_drop, max_memory_kib=max_memory_kib, states=state,
                           feasible_only=feasible)
        # the summary's rows carry the finalists' confirmation on every storage (SQL: also in the table)
        rows = filter_rows(read_study(storage, study_name).summary().rows, flt, sort=sort, descending=descending)
    if output == OutputFormat.json:
        typer.echo(to_json(rows))
    elif output == OutputFormat.csv:
        typer.echo(to_csv(rows, COLUMNS), nl=False)
    else:
        render_table(rows, f"Trials of {study_name!r} ({len(rows)})")


@app.command()
def studies(storage: StorageOpt = DEFAULT_STORAGE, output: FormatOpt = OutputFormat.table) -> None:
    """List the studies in a storage."""
    import optuna

    from qsearch.record import make_storage
    from qsearch.report import to_json

    with user_errors(storage):
        summaries = optuna.get_all_study_summaries(make_storage(storage, heartbeat_interval=None))
    rows: list[dict[str, Any]] = [{"study_name": s.study_name, "trials": s.n_trials,
                                   "directions": [d.name.lower() for d in s.directions],
                                   "started": s.datetime_start} for s in summaries]
    if output == OutputFormat.json:
        typer.echo(to_json(rows))
    elif output == OutputFormat.csv:
        from qsearch.report import to_csv

        typer.echo(to_csv(rows, ["study_name", "trials", "directions", "started"]), nl=False)
    else:
        for r in rows:
            typer.echo(f"{r['study_name']}\t{r['trials']} trials\t{','.join(r['directions'])}")


@app.command()
def plot(
    storage: StorageOpt = DEFAULT_STORAGE,
    study_name: StudyNameOpt = "qsearch",
    out: Annotated[Path, typer.Option("--out", help="output folder")] = Path("plots"),
    png: Annotated[bool, typer.Option("--png", help="also PNG (needs kaleido and Chromium)")] = False,
) -> None:
    """Pareto front, hypervolume history and parameter importances as HTML (and PNG); the HTML files load
    plotly.js from plotly.min.js in the same folder (keep the folder together: it opens offline)."""
    from qsearch.export import check_out_folder, writing_into
    from qsearch.plots import write_plots
    from qsearch.record import read_study

    with user_errors():  # before the study is read: a folder that cannot take the files
        check_out_folder(out)
    with user_errors(storage):
        recorded = read_study(storage, study_name)
        summary = recorded.summary()
        with writing_into(out):
            paths = write_plots(recorded.study, summary, out, png=png, accuracy_split=summary.accuracy_split)
    for p in paths:
        typer.echo(str(p))
