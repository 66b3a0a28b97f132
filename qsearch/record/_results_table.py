"""The results table of a storage: its engine (the table created under the schema lock), and deleting a study
from Optuna's tables and the results table together."""

from __future__ import annotations

import optuna
from sqlalchemy import Engine

from qsearch.record._storage import make_storage, storage_kind
from qsearch.record._table_lock import set_up_schema
from qsearch.record.optuna_compat import rdb_backend
from qsearch.results import delete_results, engine_for, ensure_table


def storage_engine(storage_url: str, storage: optuna.storages.BaseStorage | None = None) -> Engine:
    """The SQL engine of an RDB storage URL: ``storage``'s own when given (one connection pool per process),
    else a new one."""
    backend = rdb_backend(storage) if storage is not None else None
    return backend.engine if backend is not None else engine_for(storage_url)


def results_engine_for(storage_url: str, storage: optuna.storages.BaseStorage | None = None) -> Engine | None:
    """The engine of the results table: the same database as an RDB storage (``storage``'s own engine when
    given, so a run opens its database once); none for journal/gRPC. The table is created under the schema
    lock (many workers may start on a new database at once)."""
    if storage_kind(storage_url) in ("sqlite", "rdb"):
        engine = storage_engine(storage_url, storage)
        set_up_schema(storage_url, lambda: ensure_table(engine))
        return engine
    return None


def delete_study(storage_url: str, study_name: str) -> None:
    """Remove a study everywhere qsearch keeps it: Optuna's rows and the results table's rows."""
    try:
        optuna.delete_study(study_name=study_name, storage=make_storage(storage_url, heartbeat_interval=None))
    except KeyError:
        pass  # already gone from Optuna's tables; its results rows may remain
    engine = results_engine_for(storage_url)
    if engine is not None:
        try:
            delete_results(engine, study_name)
        finally:
            engine.dispose()
