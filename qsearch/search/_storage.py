"""Storage URLs: Optuna's storages built from what a user types, with credentials masked in every message."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import optuna
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from qsearch.errors import QsearchError
from qsearch.search._retry import RetryingRDBStorage

RDB_SCHEMES = ("sqlite", "postgresql", "mysql", "mariadb")


class StorageError(QsearchError, RuntimeError):
    """A storage that cannot be used; the message names host and database with the password masked."""


def mask_url(url: str) -> str:
    """The URL with any password replaced by ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url.split("@")[-1] if "@" in url else url


def storage_kind(url: str) -> str:
    scheme = url.split(":", 1)[0].split("+", 1)[0].lower()
    if scheme in RDB_SCHEMES:
        return "sqlite" if scheme == "sqlite" else "rdb"
    if scheme == "grpc":
        return "grpc"
    if url.endswith((".log", ".journal")) or scheme in ("journal", "file"):
        return "journal"
    raise StorageError(f"--storage: {mask_url(url)!r} is not a supported URL; allowed: sqlite:///FILE, "
                       "postgresql://USER@HOST/DB, mysql+pymysql://USER@HOST/DB, grpc://HOST:PORT, journal:FILE")


def make_storage(url: str, heartbeat_interval: int | None = 60, grace_period: int | None = 180,
                 max_retry: int = 3) -> optuna.storages.BaseStorage:
    """An Optuna storage for ``url``; RDB storages get heartbeats and the retry-stale-trial callback."""
    kind = storage_kind(url)
    if kind == "grpc":
        host, _, port = url.removeprefix("grpc://").partition(":")
        return optuna.storages.GrpcStorageProxy(host=host, port=int(port or 13000))
    if kind == "journal":
        path = url.split(":", 1)[1] if url.startswith(("journal:", "file:")) else url
        return optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(path))
    engine_kwargs: dict = {"connect_args": {"timeout": 60}} if kind == "sqlite" else {"pool_pre_ping": True}
    try:
        with warnings.catch_warnings():
            # heartbeats are Optuna 5's current (experimental-marked) API for failing and retrying dead trials
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            callback = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=max_retry)
            return RetryingRDBStorage(  # an RDBStorage whose heartbeats survive transient errors
                url, engine_kwargs=engine_kwargs, heartbeat_interval=heartbeat_interval,
                grace_period=grace_period, heartbeat_stale_trial_callback=callback if heartbeat_interval else None)
    except Exception as error:  # noqa: BLE001 - every driver raises its own type; report one line
        raise StorageError(f"--storage: cannot open {describe_target(url)}: {_first_line(error)}") from None


def set_user_attrs(trial: optuna.Trial, attrs: Mapping[str, Any]) -> None:
    """``trial.set_user_attr`` for every item, in one transaction on qsearch's RDB storage.

    Each ``set_user_attr`` is a transaction of its own (on SQLite a synced commit of several ms), and a trial
    records about twenty attributes for the dashboard and the CLI; on other storages (in memory, journal, gRPC)
    it is still one call per item. Readers see the same attributes either way.
    """
    storage = getattr(trial, "storage", None)
    write_all = getattr(getattr(storage, "_backend", storage), "set_trial_user_attrs", None)  # below Optuna's cache
    trial_id = getattr(trial, "_trial_id", None)
    cached = getattr(trial, "_cached_frozen_trial", None)  # what trial.user_attrs reads
    if write_all is None or trial_id is None or cached is None:
        for key, value in attrs.items():
            trial.set_user_attr(key, value)
        return
    write_all(trial_id, attrs)
    cached.user_attrs.update(attrs)


def describe_target(url: str) -> str:
    try:
        parsed = make_url(url)
    except ArgumentError:
        return mask_url(url)
    if parsed.drivername.startswith("sqlite"):
        return f"SQLite file {parsed.database}"
    port = parsed.port or {"postgresql": 5432, "mysql": 3306, "mariadb": 3306}.get(parsed.get_backend_name(), "")
    return f"database {parsed.database!r} on host {parsed.host}:{port} ({mask_url(url)})"


def _first_line(error: Exception) -> str:
    text = str(getattr(error, "orig", None) or error).strip().splitlines()
    return text[0] if text else type(error).__name__
