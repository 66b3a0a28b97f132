"""Storage URLs: Optuna's storages built from what a user types, with credentials masked in every message."""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError, ProgrammingError

from qsearch.errors import QsearchError
from qsearch.record import optuna_compat as compat
from qsearch.record._journal import TolerantJournalFileBackend
from qsearch.record._retry import RetryingRDBStorage, error_chain
from qsearch.record._table_lock import set_up_schema

#: seconds between a running trial's heartbeats, and without one before it is failed and retried: the one
#: place these defaults are stated (``qsearch run --heartbeat-interval/--grace-period``, the library calls)
DEFAULT_HEARTBEAT_S = 60
DEFAULT_GRACE_S = 180
RDB_SCHEMES = ("sqlite", "postgresql", "mysql", "mariadb")
#: set by :func:`readers_only`: storages opened inside never create a file, a table or a row
_READ_ONLY: ContextVar[bool] = ContextVar("qsearch_read_only_storage", default=False)


class StorageError(QsearchError, RuntimeError):
    """A storage that cannot be used; the message names host and database with the password masked."""

    @classmethod
    def behind(cls, error: BaseException, url: str) -> StorageError | None:
        """The one line for a database that failed under a running study — dropped or renamed, a full disk, a
        read-only file — when ``error`` (or what it wraps) is that; None otherwise (a bug keeps its traceback).

        Optuna hides the database's error: when ``tell`` fails and so does the read after it, its trial loop
        raises ``UnboundLocalError`` (``updated_state``) or ``AssertionError('Should not reach.')`` with the
        database's error in the ``__context__`` chain, which is where this looks."""
        failure = next((e for e in error_chain(error) if _is_database_failure(e)), None)
        if failure is None:
            return None
        return cls(f"storage: {_database_problem(failure, url)}")


def mask_url(url: str) -> str:
    """The URL with any password replaced by ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return url.split("@")[-1] if "@" in url else url


def mask_study_file(spec: dict[str, Any]) -> dict[str, Any]:
    """A recorded study file (its JSON form) with the password in its ``storage`` URL masked.

    The study file is recorded with the study, and the record is read by everyone who can read the storage:
    optuna-dashboard serves it, ``export`` copies it into the model card. A password must not travel with it;
    the run itself was given the URL by the user and never reads it back from the record."""
    storage = spec.get("storage")
    if not isinstance(storage, str) or mask_url(storage) == storage:
        return spec
    return {**spec, "storage": mask_url(storage)}


def storage_kind(url: str) -> str:
    scheme = url.split(":", 1)[0].split("+", 1)[0].lower()
    if scheme in RDB_SCHEMES:
        try:
            make_url(url).port  # noqa: B018 - parsing checks host, port and database
        except (ArgumentError, ValueError):
            raise StorageError(f"--storage: {mask_url(url)!r} is not a valid database URL (a port must be a "
                               "number); e.g. postgresql://USER@HOST:5432/DB") from None
        return "sqlite" if scheme == "sqlite" else "rdb"
    if scheme == "grpc":
        return "grpc"
    if url.endswith((".log", ".journal")) or scheme in ("journal", "file"):
        return "journal"
    raise StorageError(f"--storage: {mask_url(url)!r} is not a supported URL; allowed: sqlite:///FILE, "
                       "postgresql://USER@HOST/DB, mysql+pymysql://USER@HOST/DB, grpc://HOST:PORT, journal:FILE")


def make_storage(url: str, heartbeat_interval: int | None = DEFAULT_HEARTBEAT_S,
                 grace_period: int | None = DEFAULT_GRACE_S,
                 max_retry: int = 3, *, read_only: bool | None = None) -> optuna.storages.BaseStorage:
    """An Optuna storage for ``url``; RDB storages get heartbeats and the retry-stale-trial callback.

    ``read_only`` (the readers: ``best``, ``trials``, ``studies``, ``plot``, ``export``): never create a file,
    a table or a row — a missing SQLite file or a database without Optuna's tables is refused in one line.
    Otherwise the tables are created under the schema lock (:mod:`qsearch.record._table_lock`). The default is
    read-only inside :func:`readers_only`.
    """
    read_only = _READ_ONLY.get() if read_only is None else read_only
    kind = storage_kind(url)
    if kind == "grpc":
        return _grpc_storage(url)
    if kind == "journal":
        return _journal_storage(url, read_only)
    if read_only:
        check_readable(url)
    else:
        check_writable(url)
    engine_kwargs: dict = {"connect_args": {"timeout": 60}} if kind == "sqlite" else {"pool_pre_ping": True}

    def build() -> optuna.storages.BaseStorage:
        with warnings.catch_warnings():
            # heartbeats are Optuna 5's current (experimental-marked) API for failing and retrying dead trials
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            callback = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=max_retry)
            return RetryingRDBStorage(  # an RDBStorage whose heartbeats survive transient errors
                url, engine_kwargs=engine_kwargs, heartbeat_interval=heartbeat_interval,
                grace_period=grace_period, heartbeat_stale_trial_callback=callback if heartbeat_interval else None,
                skip_table_creation=read_only)

    try:
        return build() if read_only else set_up_schema(url, build)
    except ModuleNotFoundError:
        raise
    except Exception as error:  # noqa: BLE001 - every driver raises its own type; report one line
        raise StorageError(f"--storage: cannot open {describe_target(url)}: {_first_line(error)}") from None


@contextmanager
def readers_only() -> Iterator[None]:
    """Every storage opened in the block is read-only (the CLI's reading commands run inside one)."""
    token = _READ_ONLY.set(True)
    try:
        yield
    finally:
        _READ_ONLY.reset(token)


def check_readable(url: str) -> None:
    """Refuse a SQLite file that does not exist (opening it would create an empty database)."""
    if storage_kind(url) != "sqlite":
        return
    parsed = make_url(url)
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file::memory:"):
        raise StorageError("--storage: an in-memory SQLite database holds no study; give sqlite:///FILE")
    if not Path(database).is_file():
        raise StorageError(f"--storage: SQLite file {database} does not exist")


def check_writable(url: str) -> None:
    """Refuse a SQLite file (or its folder, where SQLite writes its journal beside it) that this process may not
    write: Optuna would only find out at its first write, with a traceback."""
    if storage_kind(url) != "sqlite":
        return
    database = make_url(url).database or ""
    path = Path(database)
    if database in ("", ":memory:") or database.startswith("file:") or not path.is_file():
        return  # a new file: creating it (or its folder) reports its own error
    try:
        with path.open("r+b"):
            pass
    except OSError as error:
        raise StorageError(f"--storage: SQLite file {database} is read-only ({error.strerror or error}); "
                           "make it writable, or read it with qsearch trials/best") from None
    try:
        with tempfile.TemporaryFile(dir=path.parent):
            pass
    except OSError as error:
        raise StorageError(f"--storage: SQLite file {database} is read-only: its folder {path.parent} is not "
                           f"writable ({error.strerror or error}; SQLite writes its journal there)") from None


def check_persistent(url: str) -> None:
    """Refuse storage that vanishes with the process (``sqlite://``, ``:memory:``) for a run: its heartbeat
    thread and its results would outlive nothing."""
    if storage_kind(url) != "sqlite":
        return
    database = make_url(url).database or ""
    if database in ("", ":memory:") or "mode=memory" in url or database.startswith("file::memory:"):
        raise StorageError(f"--storage: {mask_url(url)!r} is in memory and lost when the run ends; "
                           "give sqlite:///FILE, postgresql://USER@HOST/DB or journal:FILE")


def _grpc_storage(url: str) -> optuna.storages.BaseStorage:
    host, _, port = url.removeprefix("grpc://").partition(":")
    if port and not port.isdigit():
        raise StorageError(f"--storage: port {port!r} of {mask_url(url)!r} is not a number")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # the proxy is Optuna's API
            storage = optuna.storages.GrpcStorageProxy(host=host, port=int(port or 13000))
        storage.get_all_studies()  # fails in a second when nothing listens there
    except ModuleNotFoundError:
        raise
    except Exception as error:  # noqa: BLE001 - grpc raises its own types; report one line
        details = getattr(error, "details", None)
        reason = details() if callable(details) else _first_line(error)
        raise StorageError(f"--storage: cannot reach the gRPC storage proxy at {host}:{port or 13000}: "
                           f"{reason}") from None
    return storage


def _journal_storage(url: str, read_only: bool) -> optuna.storages.BaseStorage:
    path = Path(url.split(":", 1)[1] if url.startswith(("journal:", "file:")) else url)
    if read_only and not path.is_file():
        raise StorageError(f"--storage: journal file {path} does not exist")
    try:
        if not read_only:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(exist_ok=True)
            with path.open("a"):
                pass  # writable? (Optuna only finds out at the first write, with a traceback)
        return optuna.storages.JournalStorage(TolerantJournalFileBackend(str(path)))
    except OSError as error:
        raise StorageError(f"--storage: cannot write journal file {path}: {error.strerror or error}") from None


def set_user_attrs(trial: optuna.Trial, attrs: Mapping[str, Any]) -> None:
    """``trial.set_user_attr`` for every item, in one transaction on qsearch's RDB storage.

    Each ``set_user_attr`` is a transaction of its own (on SQLite a synced commit of several ms), and a trial
    records about twenty attributes for the dashboard and the CLI; on other storages (in memory, journal, gRPC)
    it is still one call per item. Readers see the same attributes either way.
    """
    backend = compat.rdb_backend(trial.storage)
    if not isinstance(backend, RetryingRDBStorage):
        for key, value in attrs.items():
            trial.set_user_attr(key, value)
        return
    backend.set_trial_user_attrs(compat.trial_id(trial), attrs)
    compat.cached_frozen_trial(trial).user_attrs.update(attrs)


def heartbeat_enabled(study: optuna.Study) -> bool:
    """Whether the study's storage fails trials whose heartbeat stopped (RDB storages with an interval)."""
    interval = getattr(compat.study_storage(study), "get_heartbeat_interval", None)
    return interval is not None and interval() is not None


@dataclass(frozen=True)
class SilentTrial:
    """A running trial of the study and how long its worker has been silent (no heartbeat)."""

    number: int
    silent_s: float
    grace_s: float
    interval_s: float


def fail_stale_trials(study: optuna.Study, *, report: bool = False) -> list[SilentTrial]:
    """Fail (and, through the storage's callback, re-queue) trials whose worker stopped sending heartbeats:
    Optuna only does so when some live process asks. With ``report``: the running trials left, each with the
    seconds since its last heartbeat (what a worker waiting for a slot is waiting for)."""
    if not heartbeat_enabled(study):
        return []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
    return _silent_trials(study) if report else []


#: Optuna's tables as far as :func:`_silent_trials` reads them (its schema, not a Python internal)
_TRIALS = sa.table("trials", sa.column("trial_id"), sa.column("number"), sa.column("study_id"), sa.column("state"))
_HEARTBEATS = sa.table("trial_heartbeats", sa.column("trial_id"), sa.column("heartbeat", sa.DateTime()))


def _silent_trials(study: optuna.Study) -> list[SilentTrial]:
    backend = compat.rdb_backend(compat.study_storage(study))
    if backend is None or backend.heartbeat_interval is None:
        return []
    interval = float(backend.heartbeat_interval)
    grace = float(backend.grace_period if backend.grace_period is not None else 2 * interval)
    # the state is compared here, not in SQL: PostgreSQL stores it as an enum type of Optuna's
    query = (sa.select(_TRIALS.c.number, _TRIALS.c.state, _HEARTBEATS.c.heartbeat, sa.func.now().label("now"))
             .select_from(_TRIALS.join(_HEARTBEATS, _TRIALS.c.trial_id == _HEARTBEATS.c.trial_id))
             .where(_TRIALS.c.study_id == compat.study_id(study))
             .order_by(_TRIALS.c.number))
    with backend.engine.connect() as connection:  # the database's clock, as Optuna's staleness check uses
        rows = connection.execute(query).all()
    return [SilentTrial(int(number), max((_naive(now) - _naive(beat)).total_seconds(), 0.0), grace, interval)
            for number, state, beat, now in rows
            if str(state).rsplit(".", 1)[-1] == "RUNNING" and beat is not None and now is not None]


def _naive(moment: Any) -> Any:
    if isinstance(moment, str):  # SQLite's CURRENT_TIMESTAMP in a select without a column type
        import datetime as dt

        moment = dt.datetime.fromisoformat(moment)
    return moment.replace(tzinfo=None)


#: driver codes of a missing database or table that are the storage's state, not qsearch's query: PostgreSQL's
#: invalid catalog name / undefined table, MySQL's no such table (SQLSTATE and error numbers: unknown database,
#: no such table)
_MISSING_CODES = frozenset({"3D000", "42P01", "42S02", 1049, 1146})


def _is_database_failure(error: BaseException) -> bool:
    if isinstance(error, OperationalError):  # connection, missing database, disk full, read-only, I/O
        return True
    if isinstance(error, ProgrammingError):
        orig = error.orig
        errno = orig.args[0] if orig is not None and orig.args else None
        return getattr(orig, "sqlstate", None) in _MISSING_CODES or errno in _MISSING_CODES
    return False


def _database_problem(error: BaseException, url: str) -> str:
    """What the database said, in one line, with what it is about: the SQLite file, or the masked URL."""
    orig = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    args: tuple[Any, ...] = tuple(getattr(orig, "args", ()))
    if len(args) >= 2 and isinstance(args[0], int) and isinstance(args[1], str):  # pymysql: (errno, text)
        text = args[1]
    else:
        text = _first_line(orig)
    for marker in ("FATAL:", "ERROR:"):  # libpq's severity prefix, after "connection to server ... failed:"
        if marker in text:
            text = text.rsplit(marker, 1)[1]
    text = " ".join(text.replace(url, mask_url(url)).split())
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return f"{text} ({mask_url(url)})"
    if not parsed.drivername.startswith("sqlite"):
        return f"{text} ({mask_url(url)})"
    lowered = text.lower()
    if "readonly" in lowered or "read-only" in lowered:
        return f"SQLite file {parsed.database} is read-only ({text}); make it and its folder writable"
    if "full" in lowered:
        return f"SQLite file {parsed.database}: the disk is full ({text}); free space and run again"
    if "i/o error" in lowered:
        return f"SQLite file {parsed.database}: cannot write ({text}{_write_limit(parsed.database or '')})"
    return f"SQLite file {parsed.database}: {text}"


def _write_limit(database: str) -> str:
    """Why a write may have failed where SQLite only says "disk I/O error": its file at the process's file-size
    limit (``ulimit -f``: SQLite reports EFBIG so), or a disk with almost no space left."""
    import resource
    import shutil

    path = Path(database)
    try:
        limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
        if limit != resource.RLIM_INFINITY and path.stat().st_size + 65536 > limit:
            return f"; the file-size limit of this process is reached, ulimit -f {limit // 1024}"
        if shutil.disk_usage(path.parent).free < 1 << 20:
            return "; the disk is full"
    except (OSError, ValueError):
        pass
    return ""


def describe_target(url: str) -> str:
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return mask_url(url)
    if parsed.drivername.startswith("sqlite"):
        return f"SQLite file {parsed.database}"
    port = parsed.port or {"postgresql": 5432, "mysql": 3306, "mariadb": 3306}.get(parsed.get_backend_name()) or ""
    return f"database {parsed.database!r} on host {parsed.host}:{port} ({mask_url(url)})"


def _first_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error).strip().splitlines()
    return text[0] if text else type(error).__name__
