"""``qsearch dashboard`` (optuna-dashboard over a storage, qsearch's view) and ``qsearch export`` (one trial as
a deployable integer network)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qsearch.cli._app import DEFAULT_STORAGE, StorageOpt, StudyNameOpt, app, configure_kernel, fail, user_errors
from qsearch.record import mask_url


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
    trial: Annotated[int | None, typer.Option("--trial", show_default=False,
                                              help="trial number to export (required; see `qsearch best`)")] = None,
    out: Annotated[Path, typer.Option("--out", help="output folder")] = Path("exports"),
    artifacts: Annotated[Path | None, typer.Option(
        "--artifacts", help="the run's artifact folder, where trials on the front kept their weights (default: "
                            "FILE.artifacts beside a SQLite or journal file)")] = None,
    retrain: Annotated[bool, typer.Option("--retrain", help="train the trial again instead of using its kept "
                                                            "weights (a reproducibility check)")] = False,
) -> None:
    """Write a trial's network: integer weights and formats, fixed-point neuron constants, model card, NIR graph."""
    configure_kernel()
    from qsearch.export import export_trial

    if trial is None or trial < 0:
        raise fail("--trial: give the trial number to export (see `qsearch best`)")
    with user_errors(storage):
        path = export_trial(storage, study_name, trial, out, artifact_dir=artifacts, retrain=retrain)
    typer.echo(str(path))

