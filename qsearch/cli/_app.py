"""The command line's frame: the typer app, its shared options, and how errors become one line and exit 2."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from enum import StrEnum
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from qsearch.errors import QsearchError
from qsearch.record import mask_url


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
    except Exception as error:  # noqa: BLE001 - only a database that failed under us becomes a line
        from qsearch.record import StorageError

        failure = StorageError.behind(error, url) if url else None
        if failure is None:
            raise
        raise fail(_one_line(failure, url)) from None


#: database driver modules a storage URL may need (a missing one is the user's to install)
_DRIVERS = ("psycopg", "psycopg2", "pymysql", "MySQLdb", "mysql", "grpc", "redis")


def _one_line(error: BaseException, url: str | None = None) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if url and url in text:
        text = text.replace(url, mask_url(url))
    return text



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

