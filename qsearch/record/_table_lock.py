"""Creating the tables (Optuna's and qsearch's) safely when many processes start on a new database at once.

``CREATE TABLE`` after a check that the table is missing is not atomic: eight workers started together on a
fresh PostgreSQL database fail with ``duplicate key value violates unique constraint "pg_type_typname_nsp_index"``
or ``relation ... already exists``, on MariaDB with ``Table 'trial_params' already exists`` or a duplicate
``version_info`` row. So the whole set-up — Optuna's ``create_all``, its version row and alembic stamp, and
qsearch's results table — runs under one database-wide lock: ``pg_advisory_lock`` on PostgreSQL, ``GET_LOCK``
on MySQL/MariaDB. SQLite has no such lock; there the set-up is repeated on the specific "already exists"
errors (SQLite serialises the writes, so the second pass finds everything in place).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

T = TypeVar("T")

#: the advisory lock's key (PostgreSQL: a bigint; MySQL: a name) — one per database, shared by every qsearch
LOCK_KEY = 0x71736561726368  # "qsearch"
LOCK_NAME = "qsearch_schema"
#: seconds a process waits for another one's schema set-up
LOCK_TIMEOUT_S = 120
#: lower-case fragments of the errors of two processes creating the same table or row at once (SQLite)
RACE_MESSAGES = ("already exists", "unique constraint failed", "duplicate entry", "duplicate key value")


@contextmanager
def schema_lock(url: str) -> Iterator[None]:
    """Hold the database-wide schema lock of ``url`` (nothing on SQLite) while the block runs."""
    backend = make_url(url).get_backend_name()
    if backend not in ("postgresql", "mysql", "mariadb"):
        yield
        return
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            if backend == "postgresql":
                connection.execute(text("SELECT set_config('lock_timeout', :ms, false)"),
                                   {"ms": f"{LOCK_TIMEOUT_S * 1000}"})
                connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": LOCK_KEY})
                connection.commit()
                try:
                    yield
                finally:
                    connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
                    connection.commit()
            else:
                got = connection.execute(text("SELECT GET_LOCK(:name, :timeout)"),
                                         {"name": LOCK_NAME, "timeout": LOCK_TIMEOUT_S}).scalar()
                if got != 1:
                    raise TimeoutError(f"schema lock {LOCK_NAME!r} not granted within {LOCK_TIMEOUT_S} s")
                try:
                    yield
                finally:
                    connection.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": LOCK_NAME})
    finally:
        engine.dispose()


def is_creation_race(error: BaseException) -> bool:
    """Whether ``error`` (or its cause) is two processes creating the same table or version row."""
    current: BaseException | None = error
    while current is not None:
        if any(m in str(current).lower() for m in RACE_MESSAGES):
            return True
        current = current.__cause__ or getattr(current, "orig", None)
    return False


def set_up_schema(url: str, create: Callable[[], T], attempts: int = 5) -> T:
    """``create()`` under the schema lock; on SQLite repeated after a creation race (see the module docstring)."""
    for attempt in range(attempts):
        try:
            with schema_lock(url):
                return create()
        except Exception as error:
            if attempt == attempts - 1 or not is_creation_race(error):
                raise
            time.sleep(0.1 * (attempt + 1))
    raise AssertionError("unreachable")


__all__ = ["is_creation_race", "schema_lock", "set_up_schema"]
