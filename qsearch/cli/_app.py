"""The command line's frame: the typer app, its shared options, and how errors become one line and exit 2."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from enum import StrEnum
from typing import Annotated, Any

import typer
from typer.core import TyperGroup


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



@contextmanager
def user_errors(url: str | None = None, create: bool = False) -> Iterator[None]:
    """Turn every error a user can cause into one masked line and exit 2: a :class:`QsearchError`, or the
    user's database refusing (SQLAlchemy and driver errors). Anything else is a bug and keeps its traceback.

    Without ``create`` (every command but ``run``) the storage is only read: a missing SQLite file is refused
    and nothing opened inside creates a table (:func:`~qsearch.record._storage.readers_only`).
    """
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
    except Exception as error:  # noqa: BLE001 - only the user's errors become a line (user_error_line)
        from qsearch.api import user_error_line

        line = user_error_line(error, url)
        if line is None:
            raise
        raise fail(line) from None



def configure_kernel() -> None:
    """Hand the fused LIF kernel its settings from the environment (the core reads none); called by the commands
    that train (``run`` and its workers, ``export``), not by the readers."""
    import os

    from qsearch.snn import KernelSettings, configure_fused_kernel

    configure_fused_kernel(KernelSettings.from_environment(os.environ))


def _one_line_warnings() -> None:
    """Notes about the user's input (:class:`~qsearch.errors.QsearchWarning`) as one line on stderr, not
    Python's two-line warning with a source line; every other warning is shown as Python shows it."""
    import warnings

    from qsearch.errors import QsearchWarning

    python_way = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001 - warnings' API
        if issubclass(category, QsearchWarning):
            typer.echo(f"qsearch: warning: {message}", err=True)
        else:
            python_way(message, category, filename, lineno, file, line)

    warnings.showwarning = show


def main() -> None:
    _one_line_warnings()
    app()

