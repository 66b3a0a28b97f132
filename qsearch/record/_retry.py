"""Retrying transient database errors with exponential back-off (tenacity).

Several workers writing one PostgreSQL or MySQL/MariaDB database meet errors that say nothing about the
request and go away when it is repeated: deadlocks and serialization failures between concurrent
transactions, lock-wait timeouts, a connection the server (or a proxy, or a restart) dropped, SQLite's
"database is locked". Optuna turns SQLAlchemy's errors inside its storage into
``optuna.exceptions.StorageInternalError`` (the driver's error is in the ``__cause__`` chain); only trial
creation retries them itself. :func:`is_transient` looks through that chain for such an error — by SQLSTATE
(PostgreSQL), error number (MySQL/MariaDB) or, where a driver gives neither, a known message — and everything
else (a wrong password, a missing table, bad data) is *not* transient and is raised at once.

Where it is used:

- around ``study.optimize`` of a worker (``qsearch.execution._workers.optimize_exactly``): a transient error in
  ``ask``/``tell``/a callback ends ``optimize``; the worker backs off and goes on (the trial that was in flight
  when ``tell`` failed has no heartbeat any more and is failed and retried like a killed worker's);
- around writing the results row (``save_result`` replaces the row of (study, trial) in one transaction, so
  repeating it is safe).

- in the heartbeat thread (:class:`RetryingRDBStorage`): Optuna's heartbeat thread ends at its first
  exception, so one dropped connection would leave a healthy trial without heartbeats — failed as dead after
  the grace period and run a second time by another worker. A heartbeat that still fails is dropped (the
  next interval tries again), so the thread never dies with a traceback; the trial's own next write reports
  the failure.

Opening a storage at start-up is not retried: a wrong host or password must fail in a second with one line.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import optuna
import tenacity

logger = logging.getLogger("qsearch.retry")

T = TypeVar("T")

#: PostgreSQL SQLSTATEs worth repeating: serialization failure, deadlock, lock not available, connection
#: exceptions (class 08), too many connections, server shutting down or starting up
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03", "53300", "57P01", "57P02", "57P03",
                                 "08000", "08001", "08003", "08004", "08006", "08007"})
#: MySQL/MariaDB error numbers worth repeating: lock wait timeout, deadlock, too many connections, connection
#: killed, server gone away, lost connection, cannot connect (restarting server)
TRANSIENT_MYSQL_ERRNOS = frozenset({1205, 1213, 1040, 1927, 2003, 2006, 2013, 4031})
#: lower-case message fragments for drivers that give no code (SQLite; psycopg on a dropped socket)
TRANSIENT_MESSAGES = ("deadlock", "could not serialize", "serialization failure", "database is locked",
                      "lock wait timeout", "server closed the connection", "terminating connection",
                      "connection reset", "connection is closed", "connection already closed", "gone away",
                      "lost connection", "ssl syscall error", "broken pipe")


def error_chain(error: BaseException) -> Iterator[BaseException]:
    """The error, what it wraps (``orig`` of SQLAlchemy's errors) and its causes, each once."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [error]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        orig = getattr(e, "orig", None)
        todo.append(orig if isinstance(orig, BaseException) else None)
        todo.append(e.__cause__)
        if not e.__suppress_context__:
            todo.append(e.__context__)


def _mysql_errno(error: BaseException) -> int | None:
    if type(error).__module__.startswith(("pymysql", "MySQLdb", "mysql")) and error.args:
        code = error.args[0]
        return code if isinstance(code, int) else None
    return None


def is_transient(error: BaseException) -> bool:
    """Whether repeating the failed database call may succeed (see the module docstring)."""
    from sqlalchemy.exc import DBAPIError, OperationalError

    for e in error_chain(error):
        if isinstance(e, DBAPIError) and e.connection_invalidated:
            return True
        state = getattr(e, "sqlstate", None) or getattr(e, "pgcode", None)
        if isinstance(state, str) and state in TRANSIENT_SQLSTATES:
            return True
        if _mysql_errno(e) in TRANSIENT_MYSQL_ERRNOS:
            return True
        is_operational = isinstance(e, OperationalError) or type(e).__name__ == "OperationalError"
        if is_operational and any(m in str(e).lower() for m in TRANSIENT_MESSAGES):
            return True
    return False


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to repeat: ``attempts`` tries in all, waits drawn from an exponential back-off
    starting at ``initial_s`` and capped at ``max_wait_s`` (full jitter, so racing workers spread out)."""

    attempts: int = 6
    initial_s: float = 0.5
    max_wait_s: float = 30.0


DEFAULT_POLICY = RetryPolicy()


def _log_retry(state: tenacity.RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    wait = state.next_action.sleep if state.next_action else 0.0
    text = str(getattr(error, "orig", None) or error).strip().splitlines()
    logger.warning("retrying after a database error (%s): attempt %d failed, next in %.1f s",
                   text[0] if text else type(error).__name__, state.attempt_number, wait)


class _StopWithoutProgress:
    """tenacity stop: after ``attempts`` consecutive failures with no progress between them."""

    def __init__(self, attempts: int, progress: Callable[[], object] | None) -> None:
        self.attempts = attempts
        self.progress = progress
        self.mark = progress() if progress else None
        self.first = 1

    def __call__(self, state: tenacity.RetryCallState) -> bool:
        if self.progress is not None:
            now = self.progress()
            if now != self.mark:
                self.mark, self.first = now, state.attempt_number
        return state.attempt_number - self.first + 1 >= self.attempts


def retrying(policy: RetryPolicy = DEFAULT_POLICY, progress: Callable[[], object] | None = None,
             retry: Callable[[BaseException], bool] = is_transient) -> tenacity.Retrying:
    """A tenacity ``Retrying`` for transient errors (or those ``retry`` accepts); with ``progress`` (a counter
    of work done) the attempts are counted from the last time it changed, so a long-running loop is not
    stopped by rare, spread-out errors."""
    return tenacity.Retrying(
        retry=tenacity.retry_if_exception(retry),
        wait=tenacity.wait_random_exponential(multiplier=policy.initial_s, max=policy.max_wait_s),
        stop=_StopWithoutProgress(policy.attempts, progress),
        before_sleep=_log_retry,
        reraise=True,
    )


def call_with_retry(fn: Callable[..., T], *args: Any, policy: RetryPolicy = DEFAULT_POLICY, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)``, repeated on transient database errors (only for idempotent calls)."""
    return retrying(policy)(fn, *args, **kwargs)


#: the heartbeat's policy: give up well within a grace period (the thread ends then, as without retries)
HEARTBEAT_POLICY = RetryPolicy(attempts=5, initial_s=1.0, max_wait_s=10.0)


class RetryingRDBStorage(optuna.storages.RDBStorage):
    """Optuna's RDB storage whose heartbeats survive transient database errors (see the module docstring),
    with one transaction for several user attributes of a trial (:meth:`set_trial_user_attrs`)."""

    def record_heartbeat(self, trial_id: int) -> None:
        """A heartbeat, repeated on transient errors; one that still fails is dropped and the next interval tries
        again. Optuna's thread would end with a traceback on stderr, while the trial's own next write meets the
        same error and reports it in one line (a database dropped or renamed, a full disk)."""
        try:
            call_with_retry(super().record_heartbeat, trial_id, policy=HEARTBEAT_POLICY)
        except Exception as error:  # noqa: BLE001 - every driver raises its own type; the trial reports it
            logger.debug("heartbeat of trial id %d not recorded: %s", trial_id, error)

    def set_trial_user_attrs(self, trial_id: int, attrs: Mapping[str, Any]) -> None:
        """``set_trial_user_attr`` for every item in one transaction: each call is a commit of its own (a
        synced write on SQLite), and a trial records about twenty (through :mod:`._optuna_compat`)."""
        from qsearch.record.optuna_compat import write_trial_user_attrs

        write_trial_user_attrs(self, trial_id, attrs)


__all__ = ["DEFAULT_POLICY", "HEARTBEAT_POLICY", "RetryPolicy", "RetryingRDBStorage", "call_with_retry",
           "error_chain", "is_transient", "retrying"]
