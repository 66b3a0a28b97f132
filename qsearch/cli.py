"""The ``qsearch`` command line (typer): parse and validate at the edge, hand typed objects inward.

Every user error ends as one line on stderr and exit code 2; credentials are masked in every message.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from qsearch.search._storage import StorageError, mask_url

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Search memory-efficient quantized spiking neural networks (Optuna + Norse).")

DEFAULT_STORAGE = "sqlite:///qsearch.db"


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"qsearch: error: {message}", err=True)
    return typer.Exit(code)


StorageOpt = Annotated[str, typer.Option("--storage", help="Optuna storage URL (sqlite:///f.db, postgresql://…)")]
StudyNameOpt = Annotated[str, typer.Option("--study-name", help="study name in the storage")]
FormatOpt = Annotated[OutputFormat, typer.Option("--format", help="table, json or csv")]


@app.command()
def run(
    study_file: Annotated[Path, typer.Argument(help="study definition (YAML), e.g. studies/digits.yaml")],
    storage: Annotated[str | None, typer.Option("--storage", help="default: the study file's storage")] = None,
    study_name: Annotated[str | None, typer.Option("--study-name", help="default: the study file's name")] = None,
    n_trials: Annotated[int | None, typer.Option("--n-trials", min=1, help="trials to add (default: file)")] = None,
    total_trials: Annotated[int | None, typer.Option("--total-trials", min=1,
                                                     help="stop when the study holds this many finished trials "
                                                          "(shared by all workers)")] = None,
    timeout: Annotated[float | None, typer.Option("--timeout", help="seconds")] = None,
    plot: Annotated[Path, typer.Option("--plot", help="interactive Pareto front (HTML)")] = Path("pareto.html"),
    quiet: Annotated[bool, typer.Option("--quiet", help="no progress bar")] = False,
    threads: Annotated[int, typer.Option("--threads", min=1, help="torch threads in this process; small SNNs "
                                         "are per-operation bound and run fastest with 1")] = 1,
    workers: Annotated[str, typer.Option("--workers", help="local worker processes on the study: a number, or "
                                         "auto = one per usable core on PostgreSQL, MySQL or journal:FILE and "
                                         "1 on SQLite")] = "auto",
    heartbeat_interval: Annotated[int, typer.Option("--heartbeat-interval", min=1,
                                                    help="seconds between heartbeats of a running trial")] = 60,
    grace_period: Annotated[int, typer.Option("--grace-period", min=1,
                                              help="seconds without heartbeat before a trial is failed and "
                                                   "retried")] = 180,
    report: Annotated[bool, typer.Option("--report/--no-report",
                                         help="print the Pareto front and write --plot at the end")] = True,
) -> None:
    """Run (or continue) a study: each trial trains and evaluates one quantized SNN."""
    import torch

    from qsearch.studyfile import StudyFileError, load_study_file

    torch.set_num_threads(threads)

    try:
        sf = load_study_file(study_file)
    except StudyFileError as error:
        raise fail(str(error)) from None
    warn_test_selection(sf)
    url = storage or sf.storage
    name = study_name or sf.name
    trials = n_trials or sf.n_trials
    if grace_period <= heartbeat_interval:
        raise fail(f"--grace-period: {grace_period} must exceed --heartbeat-interval {heartbeat_interval}")
    with user_errors(url):
        from qsearch.search import _workers, storage_kind
        from qsearch.search._trial import check_study_inputs

        count = _workers.resolve_workers(_workers.parse_workers(workers), storage_kind(url))
        check_study_inputs(sf)  # missing data or a model that does not fit it: one line, nothing recorded
        if count > 1:
            code = _workers.run_workers(study_file, url, name, count, total_trials, timeout or sf.timeout,
                                        threads_per_worker=threads, n_trials=trials,
                                        heartbeat_interval=heartbeat_interval, grace_period=grace_period)
            if code:
                raise fail(f"--workers: a worker failed (exit code {code})", code=code)
            if report:
                show_front(url, name, plot_path=plot)
            return
        _run(sf, url, name, trials, total_trials, timeout or sf.timeout, plot, quiet, heartbeat_interval,
             grace_period, report)


def warn_test_selection(sf) -> None:
    """One line on stderr when a study selects on the test split (then test accuracy no longer estimates the
    selected model's accuracy on unseen data)."""
    if sf.accuracy_split == "test":
        typer.echo("qsearch: warning: accuracy_split: test makes the search and the selection see the test split; "
                   "its accuracies are then optimistic (use validation, the default)", err=True)


@contextmanager
def user_errors(url: str | None = None) -> Iterator[None]:
    """Turn every error a user can cause (file, URL, database, filter) into one masked line and exit 2."""
    from sqlalchemy.exc import SQLAlchemyError

    from qsearch.search import storage_kind

    try:
        if url is not None:
            storage_kind(url)  # rejects unknown schemes before any driver is loaded
        yield
    except (StorageError, ValueError, RuntimeError, KeyError, FileNotFoundError) as error:
        raise fail(_one_line(error, url)) from None
    except SQLAlchemyError as error:
        from qsearch.search import describe_target

        target = describe_target(url) if url else "the database"
        detail = _one_line(getattr(error, "orig", None) or error, url)
        raise fail(f"--storage: cannot use {target}: {detail}") from None
    except ModuleNotFoundError as error:
        raise fail(f"--storage: the database driver is not installed ({error.name})") from None


def _one_line(error: BaseException, url: str | None = None) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if url and url in text:
        text = text.replace(url, mask_url(url))
    return text


def _run(sf, url: str, name: str, n_trials: int, total_trials: int | None, timeout: float | None, plot: Path,
         quiet: bool, heartbeat_interval: int = 60, grace_period: int = 180, report: bool = True) -> None:
    import optuna
    from tqdm import tqdm

    from qsearch.search import finished_trials, open_study, run_study
    from qsearch.search._workers import QUOTA_REASON

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = open_study(sf, url, name, heartbeat_interval, grace_period)
    start = finished_trials(study)
    total = (total_trials - start) if total_trials else n_trials
    bar = tqdm(total=max(total, 0), desc=f"{name} trials", unit="trial", disable=quiet, dynamic_ncols=True,
               mininterval=0.5)

    def on_epoch(trial: int, epoch: int, loss: float, accuracy: float) -> None:
        bar.set_postfix_str(f"trial {trial} epoch {epoch + 1} loss {loss:.3f} val {100 * accuracy:.1f}%")

    def on_trial(_study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if trial.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED):
            bar.update(1)
        if trial.state == optuna.trial.TrialState.FAIL and trial.user_attrs.get("reason") != QUOTA_REASON:
            bar.write(f"trial {trial.number} failed: {trial.user_attrs.get('reason', 'error')}")

    try:
        run_study(sf, url, name, n_trials, timeout=timeout, callbacks=[on_trial], on_epoch=on_epoch,
                  total_trials=total_trials, heartbeat_interval=heartbeat_interval, grace_period=grace_period)
    finally:
        bar.close()
    if report:
        show_front(url, name, plot_path=plot)


def show_front(url: str, name: str, plot_path: Path | None = None, max_accuracy_drop: float | None = None,
               output: OutputFormat = OutputFormat.table, feasible_only: bool = True) -> None:
    """The end-of-run report: the float baseline and the front, the selected model, the knee (and the plot)."""
    from qsearch.metrics import cost_objective
    from qsearch.report import record, render_table, to_csv, to_json
    from qsearch.results import COLUMNS, pareto_front
    from qsearch.search._rows import read_results

    rows = read_results(url, name)
    if not rows:
        raise ValueError(f"--study-name: no results for study {name!r} in {mask_url(url)}")
    summary = _summarize(url, name, rows, max_accuracy_drop)
    split = _study_settings(url, name)[2]
    selected, marks = summary.selected, summary.marks()
    front = summary.front if feasible_only else tuple(pareto_front(summary.candidates, summary.objectives))
    shown = ([summary.baseline] if summary.baseline is not None else []) + list(front)
    if output == OutputFormat.json:
        typer.echo(to_json(shown, _summary_fields(name, summary, split)))
    elif output == OutputFormat.csv:
        typer.echo(to_csv([record(r, note=marks.get(r.trial_number, "")) for r in shown], [*COLUMNS, "note"]),
                   nl=False)
    else:
        render_table(shown, f"Pareto front of {name!r} ({len(front)} of {len(rows)} trials; selection: smallest "
                            f"{cost_objective(summary.objectives)} within {summary.budget} pt of float)", marks)
        if selected is not None:
            typer.echo(f"selected: trial {selected.trial_number}  {selected.memory_kib:.2f} KiB "
                       f"({selected.compression_ratio:.1f}x smaller than float32), "
                       f"{split} accuracy {selected.accuracy:.2f}% ({selected.accuracy_drop:+.2f} pt)")
            typer.echo(_test_check(summary))
    if plot_path is not None:
        from qsearch.plots import write_pareto_html

        write_pareto_html(summary, plot_path, title=f"qsearch study {name}", accuracy_split=split)
        if output == OutputFormat.table:
            typer.echo(f"Pareto front plot: {plot_path}")


def _summarize(url: str, name: str, rows, max_accuracy_drop: float | None = None):
    """The study's :class:`~qsearch.results.FrontSummary` over ``rows``; a given budget replaces the stored one."""
    from qsearch.results import summarize

    objectives, budget, _ = _study_settings(url, name)
    return summarize(rows, objectives, max_accuracy_drop if max_accuracy_drop is not None else budget)


def _summary_fields(name: str, summary, split: str) -> dict:
    """The keys every JSON report of a front carries (scripts read them)."""
    selected = summary.selected
    return {"study": name, "objectives": list(summary.objectives), "accuracy_split": split,
            "max_accuracy_drop": summary.budget,
            "selected": selected.trial_number if selected else None,
            "knee": summary.knee.trial_number if summary.knee else None,
            "selected_on_test": None if selected is None else {
                "test_accuracy": selected.test_accuracy, "test_n": selected.test_n,
                "test_accuracy_se": selected.test_accuracy_se, "test_drop": summary.selected_test_drop,
                "within_budget": summary.selected_within_budget_on_test}}


def _test_check(summary) -> str:
    """One line: the selected model on the test split, which selection never looks at."""
    selected, drop = summary.selected, summary.selected_test_drop
    line = (f"on test (reported only): validation {selected.describe_accuracy('validation')}, "
            f"test {selected.describe_accuracy('test')}")
    if drop is None:
        return line
    verdict = "within" if summary.selected_within_budget_on_test else "NOT within"
    return f"{line}; test drop {drop:+.2f} pt vs float, {verdict} the {summary.budget} pt budget"


def _study_settings(url: str, name: str) -> tuple[list[str], float | None, str]:
    """Objectives, accuracy budget and accuracy split stored with the study (defaults if made elsewhere)."""
    import optuna

    from qsearch.search import make_storage
    from qsearch.search._study import STUDY_FILE_ATTR

    try:
        study = optuna.load_study(study_name=name, storage=make_storage(url, heartbeat_interval=None))
    except KeyError:
        raise ValueError(f"--study-name: no study {name!r} in {mask_url(url)}") from None
    spec = study.user_attrs.get(STUDY_FILE_ATTR, {})
    objectives = spec.get("objectives", ["accuracy", "memory"])
    budget = spec.get("constraints", {}).get("max_accuracy_drop", 1.0)
    return objectives, budget, spec.get("accuracy_split", "validation")


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
    from qsearch.report import record, render_table, to_csv, to_json
    from qsearch.results import COLUMNS, ResultFilter, filter_rows, pareto_front
    from qsearch.search._rows import read_results

    flt = ResultFilter(max_accuracy_drop=max_drop, max_memory_kib=max_kib, states=["COMPLETE"],
                       feasible_only=not include_infeasible, include_baseline=False)
    rows = read_results(url, name)
    baseline = [r for r in rows if r.is_baseline]  # not a candidate, but the reference of the test-split check
    summary = _summarize(url, name, filter_rows(rows, flt) + baseline, max_drop)
    split = _study_settings(url, name)[2]
    front = (pareto_front(summary.candidates, summary.objectives) if include_infeasible else list(summary.front))
    marks = summary.marks()
    rows_out = [record(r, note=marks.get(r.trial_number, "")) for r in front]
    if output == OutputFormat.json:
        typer.echo(to_json(rows_out, _summary_fields(name, summary, split)))
    elif output == OutputFormat.csv:
        typer.echo(to_csv(rows_out, [*COLUMNS, "note"]), nl=False)
    else:
        render_table(front, f"Pareto front of {name!r} ({len(front)} trials; selected on {split})", marks)
        if summary.selected is not None:
            typer.echo(f"selected: trial {summary.selected.trial_number}; {_test_check(summary)}")


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
    from qsearch.report import render_table, to_csv, to_json
    from qsearch.results import COLUMNS, ResultFilter
    from qsearch.search._rows import read_results

    allowed = {"COMPLETE", "PRUNED", "FAIL"}
    for s in state or []:
        if s.upper() not in allowed:
            raise fail(f"--state: {s!r} is unknown; allowed: {', '.join(sorted(allowed))}")
    with user_errors(storage):
        flt = ResultFilter(max_accuracy_drop=max_accuracy_drop, max_memory_kib=max_memory_kib, states=state,
                           feasible_only=feasible)
        rows = read_results(storage, study_name, flt, sort=sort, descending=descending)
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

    from qsearch.report import to_json
    from qsearch.search import make_storage

    with user_errors(storage):
        summaries = optuna.get_all_study_summaries(make_storage(storage, heartbeat_interval=None))
    rows = [{"study_name": s.study_name, "trials": s.n_trials,
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
    """Pareto front, hypervolume history and parameter importances as HTML (and PNG)."""
    import optuna

    from qsearch.plots import write_plots
    from qsearch.search import make_storage
    from qsearch.search._rows import read_results

    with user_errors(storage):
        summary = _summarize(storage, study_name, read_results(storage, study_name))
        study = optuna.load_study(study_name=study_name, storage=make_storage(storage, heartbeat_interval=None))
        paths = write_plots(study, summary, out, png=png, accuracy_split=_study_settings(storage, study_name)[2])
    for p in paths:
        typer.echo(str(p))


@app.command()
def dashboard(
    storage: StorageOpt = DEFAULT_STORAGE,
    host: Annotated[str, typer.Option("--host", help="bind address (loopback by default)")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8080,
) -> None:
    """Serve optuna-dashboard for a storage (configuration and cost breakdown appear as user attributes)."""
    from optuna_dashboard import run_server

    from qsearch.search import make_storage

    with user_errors(storage):
        backend = make_storage(storage, heartbeat_interval=None)
    typer.echo(f"optuna-dashboard for {mask_url(storage)} at http://{host}:{port}/")
    run_server(backend, host=host, port=port)


@app.command()
def export(
    storage: StorageOpt = DEFAULT_STORAGE,
    study_name: StudyNameOpt = "qsearch",
    trial: Annotated[int, typer.Option("--trial", help="trial number to export")] = -1,
    out: Annotated[Path, typer.Option("--out", help="output folder")] = Path("exports"),
) -> None:
    """Write a trial's network: integer weights and formats, fixed-point neuron constants, model card, NIR graph."""
    from qsearch.export import export_trial

    if trial < 0:
        raise fail("--trial: give the trial number to export (see `qsearch best`)")
    with user_errors(storage):
        path = export_trial(storage, study_name, trial, out)
    typer.echo(str(path))


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("qsearch: interrupted; finished trials are saved", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
