"""Transient database errors (real deadlocks on PostgreSQL and MariaDB) are retried; other errors are not."""

from __future__ import annotations

import threading
import uuid

import optuna
import pytest
import sqlalchemy as sa
from distributed_helpers import SERVICE_URLS

from qsearch.record import RetryPolicy, call_with_retry, is_transient

FAST = RetryPolicy(attempts=4, initial_s=0.01, max_wait_s=0.05)


def _deadlock(url: str) -> Exception:
    """Make the database break a real deadlock between two connections; return the loser's error."""
    engine = sa.create_engine(url)
    table = f"qsearch_deadlock_{uuid.uuid4().hex[:8]}"
    errors: list[Exception] = []
    try:
        with engine.begin() as c:
            c.execute(sa.text(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, v INTEGER)"))
            c.execute(sa.text(f"INSERT INTO {table} VALUES (1, 0), (2, 0)"))
        first, second = engine.connect(), engine.connect()
        both_locked = threading.Barrier(2)

        def lock_then_cross(conn, mine: int, other: int) -> None:
            try:
                with conn.begin():
                    conn.execute(sa.text(f"UPDATE {table} SET v = 1 WHERE id = {mine}"))
                    both_locked.wait(timeout=10)
                    conn.execute(sa.text(f"UPDATE {table} SET v = 2 WHERE id = {other}"))
            except Exception as error:  # noqa: BLE001 - the deadlock victim's error is what we want
                errors.append(error)

        threads = [threading.Thread(target=lock_then_cross, args=(first, 1, 2)),
                   threading.Thread(target=lock_then_cross, args=(second, 2, 1))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        first.close()
        second.close()
    finally:
        with engine.begin() as c:
            c.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
        engine.dispose()
    assert len(errors) == 1, errors
    return errors[0]


def _as_optuna_raises_it(error: Exception) -> optuna.exceptions.StorageInternalError:
    try:
        raise optuna.exceptions.StorageInternalError("An exception is raised during the commit.") from error
    except optuna.exceptions.StorageInternalError as wrapped:
        return wrapped


@pytest.mark.services
@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_real_deadlock_is_transient_and_retried(backend):
    error = _deadlock(SERVICE_URLS[backend])
    assert "deadlock" in str(error).lower()
    assert is_transient(error)
    # as Optuna's storage raises it: StorageInternalError from the SQLAlchemy error
    wrapped = _as_optuna_raises_it(error)
    assert is_transient(wrapped)
    calls = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise wrapped
        return "done"

    assert call_with_retry(flaky, policy=FAST) == "done" and len(calls) == 3


@pytest.mark.services
@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_errors_that_repeat_are_not_retried(backend):
    engine = sa.create_engine(SERVICE_URLS[backend])
    calls = []

    def missing_table() -> None:
        calls.append(1)
        with engine.connect() as c:
            c.execute(sa.text("SELECT * FROM qsearch_no_such_table"))

    try:
        with pytest.raises(sa.exc.ProgrammingError) as error:
            call_with_retry(missing_table, policy=FAST)
    finally:
        engine.dispose()
    assert len(calls) == 1 and not is_transient(error.value)


def test_transient_classification_without_a_server():
    import pymysql

    assert is_transient(sa.exc.OperationalError("UPDATE", {}, Exception("database is locked")))
    assert is_transient(pymysql.err.OperationalError(2013, "Lost connection to MySQL server during query"))
    assert is_transient(pymysql.err.OperationalError(1213, "Deadlock found when trying to get lock"))
    assert not is_transient(pymysql.err.OperationalError(1045, "Access denied for user 'u'"))
    assert not is_transient(ValueError("deadlock"))  # only database errors
    assert not is_transient(sa.exc.OperationalError("SELECT", {}, Exception("no such table: trials")))


def test_retry_gives_up_after_the_attempts():
    calls = []

    def always_locked() -> None:
        calls.append(1)
        raise sa.exc.OperationalError("UPDATE", {}, Exception("database is locked"))

    with pytest.raises(sa.exc.OperationalError):
        call_with_retry(always_locked, policy=FAST)
    assert len(calls) == FAST.attempts
