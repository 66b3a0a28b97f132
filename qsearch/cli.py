"""The ``qsearch`` command line (typer): parse and validate at the edge, hand typed objects inward.

Exit codes: 0 success; 2 a user error (one line on stderr: a :class:`~qsearch.errors.QsearchError`, a bad
option, or the user's database refusing — credentials masked); 130/143 stopped by SIGINT/SIGTERM (the running
trials are failed with reason ``interrupted`` and queued again); a worker's own code when one of ``--workers``
dies (137 for SIGKILL); 1 with a traceback for anything else, which is a bug in qsearch.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from qsearch.errors import InputError, QsearchError
from qsearch.record import StorageError, mask_url


class _OneLineUsageErrors(TyperGroup):
    """Option and argument errors (``--format xml``, ``--n-trials 0``) as one line and exit 2, not a box."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, windows_expand_args: bool = True, **extra: Any) -> Any:
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False,
                                windows_expand_args=windows_expand_args, **extra)
        except typer.TyperException as error:  # typer's click: UsageError, BadParameter, NoArgsIsHelpError
            if type(error).__name__ == "NoArgsIsHelpError":
                typer.echo(error.format_message(), err=True)
            else:
                typer.echo(f"qsearch: error: {error.format_message()}", err=True)
            code = error.exit_code
        except typer.Abort:
            typer.echo("qsearch: aborted", err=True)
            code = 1
        if not standalone_mode:
            return code
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(cls=_OneLineUsageErrors, add_completion=False, no_args_is_help=True,
                  pretty_exceptions_enable=False,
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
    timeout: Annotated[float | None, typer.Option("--timeout", help="seconds (> 0)")] = None,
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
    allow_changed_study_file: Annotated[bool, typer.Option(
        "--allow-changed-study-file", help="continue a study with a study file that differs from the one it was "
                                           "started with")] = False,
    reported_by_parent: Annotated[bool, typer.Option("--reported-by-parent", hidden=True,
                                                     help="a worker of --workers: its parent reports")] = False,
    artifacts: Annotated[Path | None, typer.Option(
        "--artifacts", help="folder for the selected model shown in `qsearch dashboard` (default: "
                            "FILE.artifacts beside a SQLite or journal file)")] = None,
) -> None:
    """Run (or continue) a study: each trial trains and evaluates one quantized SNN."""
    configure_kernel()
    import optuna
    import torch

    from qsearch.execution import Interrupted, RunSettings, StopGate, launch
    from qsearch.record import check_persistent, storage_kind
    from qsearch.studyfile import load_study_file
    from qsearch.trial import check_study_inputs, study_device

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    torch.set_num_threads(threads)
    if timeout is not None and not timeout > 0:
        raise fail(f"--timeout: {timeout:g} must be a positive number of seconds")
    environment = launch.launch_environment()  # the only read of the environment
    with user_errors(None):
        sf = load_study_file(study_file)
    warn_test_selection(sf)
    url = storage or sf.storage
    with user_errors(url, create=True):
        settings = RunSettings(url, study_name or sf.name, n_trials or sf.n_trials, total_trials,
                               timeout or sf.timeout, heartbeat_interval, grace_period,
                               worker_index=environment.seed_offset(),
                               allow_changed_study_file=allow_changed_study_file)
        check_persistent(url)
        check_study_inputs(sf)  # missing data or a model that does not fit it: one line, nothing recorded
        gpus = torch.cuda.device_count() if study_device(sf) == "cuda" else 0
        count = launch.resolve_workers(launch.parse_workers(workers), storage_kind(url),
                                        inside_worker=environment.is_worker, gpus=gpus)
        if count > 1:
            result = launch.run_workers(study_file, settings, count, threads_per_worker=threads, gpus=gpus)
            if result.signum is not None:
                raise fail(_interrupted_line(result.signum), code=result.code)
            if result.code:
                raise fail(f"--workers: a worker ended with exit code {result.code}{_signal_name(result.code)}",
                           code=result.code)
            if report:
                show_front(url, settings.study_name, plot_path=plot)
                _publish_dashboard_view(url, settings.study_name, artifacts)
            return
        gate = StopGate()
        try:
            with launch.stop_signals(gate):
                _run(sf, settings, plot, quiet, report, gate, artifacts)
        except Interrupted as stop:
            if reported_by_parent:
                raise typer.Exit(stop.exit_code) from None
            raise fail(_interrupted_line(stop.signum), code=stop.exit_code) from None


def _interrupted_line(signum: int) -> str:
    import signal

    return (f"interrupted by {signal.Signals(signum).name}; finished trials are saved, the interrupted ones are "
            "queued to run again")


def _signal_name(code: int) -> str:
    import signal

    try:
        return f" ({signal.Signals(code - 128).name})" if code > 128 else ""
    except ValueError:
        return ""


def warn_test_selection(sf) -> None:
    """One line on stderr when a study selects on the test split (then test accuracy no longer estimates the
    selected model's accuracy on unseen data)."""
    if sf.accuracy_split == "test":
        typer.echo("qsearch: warning: accuracy_split: test makes the search and the selection see the test split; "
                   "its accuracies are then optimistic (use validation, the default)", err=True)


@contextmanager
def user_errors(url: str | None = None, create: bool = False) -> Iterator[None]:
    """Turn every error a user can cause into one masked line and exit 2: a :class:`QsearchError`, or the
    user's database refusing (SQLAlchemy and driver errors). Anything else is a bug and keeps its traceback.

    Without ``create`` (every command but ``run``) the storage is only read: a missing SQLite file is refused
    and nothing opened inside creates a table (:func:`~qsearch.record._storage.readers_only`).
    """
    from sqlalchemy.exc import SQLAlchemyError

    from qsearch.record import check_readable, readers_only, storage_kind

    try:
        if url is not None:
            storage_kind(url)  # rejects unknown schemes before any driver is loaded
            if not create:
                check_readable(url)
        if create:
            yield
        else:
            with readers_only():
                yield
    except typer.Exit:
        raise
    except QsearchError as error:
        raise fail(_one_line(error, url)) from None
    except SQLAlchemyError as error:
        from qsearch.record import describe_target

        target = describe_target(url) if url else "the database"
        detail = _one_line(getattr(error, "orig", None) or error, url)
        raise fail(f"--storage: cannot use {target}: {detail}") from None
    except ModuleNotFoundError as error:
        if url is None or error.name not in _DRIVERS:
            raise
        raise fail(f"--storage: the database driver is not installed ({error.name})") from None


#: database driver modules a storage URL may need (a missing one is the user's to install)
_DRIVERS = ("psycopg", "psycopg2", "pymysql", "MySQLdb", "mysql", "grpc", "redis")


def _one_line(error: BaseException, url: str | None = None) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if url and url in text:
        text = text.replace(url, mask_url(url))
    return text


#: completed trials between two refreshes of the dashboard note and figure during a run
DASHBOARD_REFRESH_TRIALS = 10


def _publish_dashboard_view(url: str, name: str, artifacts: Path | None, store_model: bool = True) -> None:
    """The end-of-run (and periodic) view for optuna-dashboard: study note, Pareto figure, selected model."""
    from qsearch.dashboard import publish

    publish(url, name, artifact_dir=artifacts, store_model=store_model)


def _run(sf, settings, plot: Path, quiet: bool, report: bool, gate, artifacts: Path | None = None) -> None:
    import optuna
    from tqdm import tqdm

    from qsearch.execution import (
        BASELINE_PENDING_REASON,
        INTERRUPTED_REASON,
        QUOTA_REASON,
        execute,
        open_settings_study,
    )
    from qsearch.search import finished_trials

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = open_settings_study(sf, settings)
    start = finished_trials(study)
    total = (settings.total_trials - start) if settings.total_trials else settings.n_trials
    bar = tqdm(total=max(total, 0), desc=f"{settings.study_name} trials", unit="trial", disable=quiet,
               dynamic_ncols=True, mininterval=0.5)
    quiet_reasons = (QUOTA_REASON, INTERRUPTED_REASON, BASELINE_PENDING_REASON)

    def on_epoch(trial: int, epoch: int, loss: float, accuracy: float) -> None:
        bar.set_postfix_str(f"trial {trial} epoch {epoch + 1} loss {loss:.3f} val {100 * accuracy:.1f}%")

    finished = [0]

    def on_trial(_study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if trial.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED):
            bar.update(1)
            finished[0] += 1  # the bar counts nothing when disabled (--quiet)
            if report and finished[0] % DASHBOARD_REFRESH_TRIALS == 0:
                _publish_dashboard_view(settings.storage_url, settings.study_name, artifacts, store_model=False)
        if trial.state == optuna.trial.TrialState.FAIL and trial.user_attrs.get("reason") not in quiet_reasons:
            bar.write(f"trial {trial.number} failed: {trial.user_attrs.get('reason', 'error')}")

    try:
        execute(sf, settings, callbacks=[on_trial], on_epoch=on_epoch, gate=gate)
    finally:
        bar.close()
    if report:
        show_front(settings.storage_url, settings.study_name, plot_path=plot)
        _publish_dashboard_view(settings.storage_url, settings.study_name, artifacts)


def show_front(url: str, name: str, plot_path: Path | None = None, max_accuracy_drop: float | None = None,
               output: OutputFormat = OutputFormat.table, feasible_only: bool = True) -> None:
    """The end-of-run report: the float baseline and the front, the selected model, the knee (and the plot)."""
    from qsearch.metrics import cost_objective
    from qsearch.record import read_results
    from qsearch.report import record, reference_line, render_table, to_csv, to_json
    from qsearch.results import COLUMNS, pareto_front

    rows = read_results(url, name)
    if not rows:
        raise InputError(f"--study-name: no results for study {name!r} in {mask_url(url)}")
    summary = _summarize(url, name, rows, max_accuracy_drop)
    split = _study_settings(url, name)[2]
    selected, marks = summary.selected, summary.marks()
    front = summary.front if feasible_only else tuple(pareto_front(summary.candidates, summary.objectives))
    shown = ([summary.baseline] if summary.baseline is not None else []) + list(front)
    if output == OutputFormat.json:
        typer.echo(to_json(shown, {**_summary_fields(name, summary, split),
                                   "reference": _study_reference(url, name)}))
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
        reference = reference_line(_study_reference(url, name), summary.baseline)
        if reference is not None:
            typer.echo(reference)
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


def _study_reference(url: str, name: str) -> dict | None:
    """The non-spiking reference the float baseline recorded with the study (None if it has none)."""
    import optuna

    from qsearch.record import make_storage
    from qsearch.search import REFERENCE_ATTR

    study = optuna.load_study(study_name=name, storage=make_storage(url, heartbeat_interval=None))
    return study.user_attrs.get(REFERENCE_ATTR)


def _study_settings(url: str, name: str) -> tuple[list[str], float | None, str]:
    """Objectives, accuracy budget and accuracy split stored with the study (defaults if made elsewhere)."""
    from qsearch.dashboard import study_settings

    return study_settings(url, name)


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
    from qsearch.record import read_results
    from qsearch.report import record, reference_line, render_table, to_csv, to_json
    from qsearch.results import COLUMNS, ResultFilter, filter_rows, pareto_front

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
        typer.echo(to_json(rows_out, {**_summary_fields(name, summary, split),
                                      "reference": _study_reference(url, name)}))
    elif output == OutputFormat.csv:
        typer.echo(to_csv(rows_out, [*COLUMNS, "note"]), nl=False)
    else:
        render_table(front, f"Pareto front of {name!r} ({len(front)} trials; selected on {split})", marks)
        if summary.selected is not None:
            typer.echo(f"selected: trial {summary.selected.trial_number}; {_test_check(summary)}")
        reference = reference_line(_study_reference(url, name), summary.baseline)
        if reference is not None:
            typer.echo(reference)


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
    from qsearch.record import read_results
    from qsearch.report import render_table, to_csv, to_json
    from qsearch.results import COLUMNS, ResultFilter

    allowed = {"COMPLETE", "PRUNED", "FAIL"}
    for s in state or []:
        if s.upper() not in allowed:
            raise fail(f"--state: {s!r} is unknown; allowed: {', '.join(sorted(allowed))}")
    with user_errors(storage):
        _require_study(storage, study_name)
        flt = ResultFilter(max_accuracy_drop=max_accuracy_drop, max_memory_kib=max_memory_kib, states=state,
                           feasible_only=feasible)
        rows = read_results(storage, study_name, flt, sort=sort, descending=descending)
    if output == OutputFormat.json:
        typer.echo(to_json(rows))
    elif output == OutputFormat.csv:
        typer.echo(to_csv(rows, COLUMNS), nl=False)
    else:
        render_table(rows, f"Trials of {study_name!r} ({len(rows)})")


def _require_study(url: str, name: str) -> None:
    """Refuse a study name the storage does not hold (an empty table would look like a study without trials)."""
    import optuna

    from qsearch.record import make_storage

    names = optuna.get_all_study_names(make_storage(url, heartbeat_interval=None))
    if name not in names:
        known = ", ".join(sorted(names)[:10]) or "none"
        raise StorageError(f"--study-name: no study {name!r} in {mask_url(url)}; studies there: {known}")


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
    """Pareto front, hypervolume history and parameter importances as HTML (and PNG)."""
    import optuna

    from qsearch.plots import write_plots
    from qsearch.record import make_storage, read_results

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
    artifacts: Annotated[Path | None, typer.Option(
        "--artifacts", help="artifact folder (default: FILE.artifacts beside a SQLite or journal file)")] = None,
) -> None:
    """Serve optuna-dashboard for a storage: feasibility, qsearch's front as best trials, note, figure, model."""
    from qsearch.dashboard import serve

    with user_errors(storage):
        from qsearch.record import make_storage

        make_storage(storage, heartbeat_interval=None)
    typer.echo(f"optuna-dashboard for {mask_url(storage)} at http://{host}:{port}/")
    try:
        serve(storage, host, port, artifacts)
    except KeyboardInterrupt:
        pass


@app.command()
def export(
    storage: StorageOpt = DEFAULT_STORAGE,
    study_name: StudyNameOpt = "qsearch",
    trial: Annotated[int, typer.Option("--trial", help="trial number to export")] = -1,
    out: Annotated[Path, typer.Option("--out", help="output folder")] = Path("exports"),
) -> None:
    """Write a trial's network: integer weights and formats, fixed-point neuron constants, model card, NIR graph."""
    configure_kernel()
    from qsearch.export import export_trial

    if trial < 0:
        raise fail("--trial: give the trial number to export (see `qsearch best`)")
    with user_errors(storage):
        path = export_trial(storage, study_name, trial, out)
    typer.echo(str(path))


def configure_kernel() -> None:
    """Hand the fused LIF kernel its settings from the environment (the core reads none); called by the commands
    that train (``run`` and its workers, ``export``), not by the readers."""
    import os

    from qsearch.snn import KernelSettings, configure_fused_kernel

    configure_fused_kernel(KernelSettings.from_environment(os.environ))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
