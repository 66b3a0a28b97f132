"""``qsearch dashboard`` (optuna-dashboard over a storage, qsearch's view) and ``qsearch export`` (one trial as
a deployable integer network)."""

from __future__ import annotations

import errno
import socket
from pathlib import Path
from typing import Annotated

import typer

from qsearch.cli._app import DEFAULT_STORAGE, StorageOpt, StudyNameOpt, app, configure_kernel, fail, user_errors
from qsearch.record import mask_url


def _listen_error(host: str, port: int, error: OSError) -> str:
    """The one line for an address ``qsearch dashboard`` cannot listen on."""
    address = f"{host}:{port}"
    if isinstance(error, socket.gaierror):
        return (f"--host: {host!r} is not a host name or IPv4 address this machine can resolve "
                f"({error.strerror or error}); use 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)")
    if error.errno == errno.EADDRINUSE:
        return f"--port: {address} is in use (another dashboard?); pick another with --port"
    if error.errno == errno.EADDRNOTAVAIL:
        return (f"--host: {host} is not an address of this machine ({error.strerror}); use 127.0.0.1 "
                f"(this machine only) or 0.0.0.0 (every interface)")
    if error.errno == errno.EACCES:
        return (f"--port: not allowed to listen on {address} ({error.strerror}; ports below 1024 need "
                f"privileges); pick another with --port")
    return f"--host/--port: cannot listen on {address}: {error.strerror or error}"


@app.command()
def dashboard(
    storage: StorageOpt = DEFAULT_STORAGE,
    host: Annotated[str, typer.Option("--host", help="bind address (loopback by default)")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8080,
    artifacts: Annotated[Path | None, typer.Option(
        "--artifacts", help="artifact folder (default: FILE.artifacts beside a SQLite or journal file)")] = None,
) -> None:
    """Serve optuna-dashboard for a storage: feasibility, qsearch's front as best trials, note, figure, model."""
    from qsearch.dashboard import serve

    with user_errors(storage):
        from qsearch.record import make_storage

        make_storage(storage, heartbeat_interval=None)
    listening: list[str] = []

    def announce(address: str) -> None:  # called once the address is bound, before anything is served
        listening.append(address)
        typer.echo(f"optuna-dashboard for {mask_url(storage)} at {address}")

    try:
        serve(storage, host, port, artifacts, on_listening=announce)
    except KeyboardInterrupt:
        pass
    except OSError as error:
        if listening or error.filename is not None:  # failing while serving, or a file: not the address
            raise
        raise fail(_listen_error(host, port, error)) from None


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
    from qsearch.export import check_out_folder, export_trial, writing_into

    if trial is None or trial < 0:
        raise fail("--trial: give the trial number to export (see `qsearch best`)")
    with user_errors():  # before the study is read (and a trial retrained): a folder that cannot take the files
        check_out_folder(out)
    with user_errors(storage), writing_into(out):
        path = export_trial(storage, study_name, trial, out, artifact_dir=artifacts, retrain=retrain)
    typer.echo(str(path))

