"""``qsearch dashboard`` (optuna-dashboard over a storage, qsearch's view) and ``qsearch export`` (one trial as
a deployable integer network)."""

from __future__ import annotations

import errno
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from qsearch.cli._app import DEFAULT_STORAGE, StorageOpt, StudyNameOpt, app, configure_kernel, fail, user_errors
from qsearch.errors import InputError
from qsearch.record import mask_url


def check_out_folder(out: Path, option: str = "--out") -> None:
    """Refuse an output folder that cannot be written, before anything is read or written: an existing file, a
    path under a file, or a folder (``out`` or the existing folder it would be created in) this process cannot
    create a file in (tried with an unnamed temporary file, which leaves nothing behind)."""
    if out.exists() and not out.is_dir():
        raise InputError(f"{option}: {out} is an existing file, not a folder; give a folder (created if missing)")
    folder = out
    while not folder.exists() and folder != folder.parent:  # the nearest existing folder (created in)
        if folder.is_symlink():  # a dangling link: its target's folder is not ours to create
            raise InputError(f"{option}: {folder} is a link to nothing; give a folder (created if missing)")
        folder = folder.parent
    if not folder.is_dir():
        raise InputError(f"{option}: cannot create {out}: {folder} is a file, not a folder")
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        where = "" if folder == out else f"cannot create {out}: "
        raise InputError(f"{option}: {where}{folder} is not writable ({error.strerror or error}); "
                         f"give a folder you can write") from None


def _topmost_missing(out: Path) -> Path | None:
    """The outermost folder of ``out`` that does not exist yet (what writing into ``out`` creates), or None."""
    missing = None
    folder = out
    while not folder.exists() and not folder.is_symlink() and folder != folder.parent:
        missing, folder = folder, folder.parent
    return missing


@contextmanager
def writing_into(out: Path, option: str = "--out") -> Iterator[None]:
    """Write into ``out`` inside the block; nothing half-written stays when it fails. A failure removes what
    the block created (the folders it made, or the new entries of an existing folder; a file it replaced stays
    replaced), and an :class:`OSError` (disk full, permission denied, ...) becomes one line naming ``option``.
    Call :func:`check_out_folder` first, before the slow work."""
    created = _topmost_missing(out)
    before = set() if created is not None or not out.is_dir() else set(os.listdir(out))
    try:
        yield
    except BaseException as error:
        if created is not None:
            shutil.rmtree(created, ignore_errors=True)
        elif out.is_dir():
            for entry in set(os.listdir(out)) - before:
                path = out / entry
                shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
        if isinstance(error, OSError) and _about_writing(error, out):
            target = error.filename or out
            raise InputError(f"{option}: cannot write {target}: {error.strerror or error}; nothing was kept "
                             f"there") from None
        raise


#: errors of a write that name no file (``write`` itself failing): a full or read-only disk
_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG}


def _about_writing(error: OSError, out: Path) -> bool:
    """Whether ``error`` is about writing into ``out`` (a file under it, or a full disk), not, say, a data file
    that could not be read on the way."""
    if error.filename is None:
        return error.errno in _WRITE_ERRNOS
    named = Path(os.path.abspath(os.fsdecode(error.filename)))
    target = Path(os.path.abspath(out))
    return named == target or target in named.parents or named in target.parents  # mkdir of a parent


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
    from qsearch.export import export_trial

    if trial is None or trial < 0:
        raise fail("--trial: give the trial number to export (see `qsearch best`)")
    with user_errors():  # before the study is read (and a trial retrained): a folder that cannot take the files
        check_out_folder(out)
    with user_errors(storage), writing_into(out):
        path = export_trial(storage, study_name, trial, out, artifact_dir=artifacts, retrain=retrain)
    typer.echo(str(path))

