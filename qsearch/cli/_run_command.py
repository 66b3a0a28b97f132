"""``qsearch run``: run or continue a study, with a progress bar, the end-of-run report and the dashboard view."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qsearch.cli._app import app, configure_kernel, fail, user_errors
from qsearch.record import DEFAULT_GRACE_S, DEFAULT_HEARTBEAT_S


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
    heartbeat_interval: Annotated[int, typer.Option(
        "--heartbeat-interval", min=1, help="seconds between heartbeats of a running trial")] = DEFAULT_HEARTBEAT_S,
    grace_period: Annotated[int, typer.Option("--grace-period", min=1,
                                              help="seconds without heartbeat before a trial is failed and "
                                                   "retried")] = DEFAULT_GRACE_S,
    report: Annotated[bool, typer.Option("--report/--no-report",
                                         help="print the Pareto front and write --plot at the end")] = True,
    allow_changed_study_file: Annotated[bool, typer.Option(
        "--allow-changed-study-file", help="continue a study with a study file that differs from the one it was "
                                           "started with")] = False,
    reported_by_parent: Annotated[bool, typer.Option("--reported-by-parent", hidden=True,
                                                     help="a worker of --workers: its parent reports")] = False,
    artifacts: Annotated[Path | None, typer.Option(
        "--artifacts", help="folder for the weights of trials on the front and the selected model shown in "
                            "`qsearch dashboard` (default: "
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
                               allow_changed_study_file=allow_changed_study_file,
                               artifact_dir=None if artifacts is None else str(artifacts))
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
            from qsearch.cli._confirm_command import run_confirmation
            from qsearch.record import read_study

            recorded = read_study(url, settings.study_name)  # the parent's one read of what workers wrote
            recorded = run_confirmation(recorded, quiet=quiet)
            if report:
                from qsearch.cli._views import show_front

                show_front(recorded, plot_path=plot)
                _publish_dashboard_view(recorded, artifacts)
            return
        gate = StopGate()
        try:
            with launch.stop_signals(gate):
                _run(sf, settings, plot, quiet, report, gate, artifacts, confirm=not reported_by_parent)
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
        from qsearch.api import TEST_SELECTION_WARNING

        typer.echo(f"qsearch: warning: {TEST_SELECTION_WARNING}", err=True)



def _publish_dashboard_view(recorded, artifacts: Path | None, store_model: bool = True) -> None:
    """The end-of-run (and periodic) view for optuna-dashboard: study note, Pareto figure, selected model."""
    from qsearch.dashboard import publish

    publish(recorded, artifact_dir=artifacts, store_model=store_model)


def _run(sf, settings, plot: Path, quiet: bool, report: bool, gate, artifacts: Path | None = None,
         confirm: bool = True) -> None:
    """The search in this process (the engine :func:`qsearch.api.search`), then the front and the view."""
    from qsearch.api import search
    from qsearch.cli._confirm_command import run_confirmation
    from qsearch.cli._views import show_front

    def publish(recorded, store_model: bool) -> None:
        _publish_dashboard_view(recorded, artifacts, store_model=store_model)

    searched = search(sf, settings, quiet=quiet, publish=publish if report else None, gate=gate)
    if not confirm:  # a worker of --workers: its parent confirms once, after every worker
        return
    recorded = run_confirmation(searched.read(settings), quiet=quiet, study_wall_s=searched.wall_s)
    if report:
        show_front(recorded, plot_path=plot)
        _publish_dashboard_view(recorded, artifacts)
