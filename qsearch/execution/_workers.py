"""The execution layer of a worker on a shared study: the exact trial count, interrupts, SQLite's limit.

Starting the processes is :mod:`qsearch.execution._launch`. Each worker is an ordinary ``qsearch run`` joining the
study by name (the same thing a container replica or a job on another machine runs); the database is the only
thing they share. Three rules make that safe:

- **The parent creates the study first** (``_launch.run_workers``): the float baseline is enqueued exactly once
  and no two workers race to create the study.
- **The trial count is exact** (:class:`TrialQuota`): ``--total-trials N`` ends with N finished (complete or
  pruned) trials, not N + workers - 1 as with Optuna's ``MaxTrialsCallback`` alone, which only looks after a
  trial has finished.
- **SQLite takes one worker** (:func:`check_parallel_storage`): SQLite locks the whole file for every write;
  parallel Optuna workers on it fail with "database is locked" under load (optuna/optuna#820; Optuna's own
  documentation advises against SQLite for parallel optimization). Use PostgreSQL or MySQL/MariaDB, or a
  journal file (``journal:FILE``), which Optuna appends to under a file lock. ``--workers auto`` (the
  default, ``_launch.resolve_workers``) is one process per usable core on those and one on SQLite.

How the quota stays exact with racing workers and retried trials. Trial numbers are given out under a lock on
the study row, in creation order, and never change. A trial that is waiting, running, complete or pruned
*holds a slot*; a failed one does not (a heartbeat-stale trial is failed and re-enqueued as a new waiting
copy with the same parameters by ``RetryHeartbeatStaleTrialCallback``, so failures must not count). When a
trial starts, the guard (:meth:`TrialQuota.guard`) counts the slot holders with a *lower number*; the trial
runs only if there are fewer than N. That set can only shrink (trials leave it by failing), so if N + 1
trials had finished, the highest-numbered of them would have seen the other N below it and not run: no
overshoot, whatever the timing. A trial that may not run is failed at once with the user attribute
``reason: quota_full`` (no parameters sampled, no results row); that only happens when workers race for the
last slots. Between trials (:meth:`TrialQuota.wait_for_slot`) a worker whose study has every slot held waits
— calling ``fail_stale_trials`` while it does, because a SIGKILLed worker's trial is only failed (and so
retried) when some live process asks — and stops once N trials have finished.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Sequence

import optuna
from optuna.trial import TrialState

from qsearch.execution._interrupt import INTERRUPTED_REASON, StopGate
from qsearch.record import (
    DEFAULT_POLICY,
    RetryPolicy,
    StorageError,
    fail_stale_trials,
    heartbeat_enabled,
    is_transient,
    retrying,
    storage_kind,
)
from qsearch.record import optuna_compat as compat
from qsearch.search import BASELINE_ATTR, BaselinePending, trial_snapshot
from qsearch.stops import StopReason

logger = logging.getLogger("qsearch.workers")


class _OneLineToStderr(logging.Handler):
    """A note for the user as its one line on the current ``sys.stderr`` (not a logging record's format)."""

    def emit(self, record: logging.LogRecord) -> None:
        print(record.getMessage(), file=sys.stderr)


#: notes for the user (``qsearch: waiting ...``), one line each, whatever logging set-up a library made
notes = logging.getLogger("qsearch.workers.notes")
notes.addHandler(_OneLineToStderr())
notes.propagate = False

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
#: states that hold one of the study's N slots (see the module docstring); FAIL does not
SLOT_STATES = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING, TrialState.WAITING)
QUOTA_REASON = StopReason.QUOTA_FULL
#: a trial that gave way to a queued baseline nobody ran (re-queued with the same parameters)
BASELINE_PENDING_REASON = StopReason.BASELINE_PENDING
#: seconds between checks while every slot is held by another worker's running trial
DEFAULT_POLL_S = 0.5

#: what ``study.optimize`` takes: one value per objective (or one value)
Objective = Callable[[optuna.Trial], float | Sequence[float]]
TrialCallback = Callable[[optuna.Study, optuna.trial.FrozenTrial], None]


class QuotaFull(Exception):  # noqa: N818 - a signal to Optuna's loop, not an error
    """This trial started after the study's N slots were taken; it is failed without running."""


class _StorageFailed(BaseException):  # noqa: N818 - carries the database's error past Optuna's loop
    """A trial's write met a database that failed for good (no ``Exception``: Optuna's ``catch`` would fail
    the trial — often with a write that fails too — and start the next one on the same broken storage)."""


class _QuietExpectedFailures(logging.Filter):
    """Drops Optuna's warnings (with traceback) about trials qsearch ended on purpose — turned away by the
    guard, interrupted by a signal, yielding to the baseline: the worker reports those itself, in one line."""

    numbers: set[int] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], (QuotaFull, KeyboardInterrupt, BaselinePending)):
            return False
        match = compat.FAILED_WITHOUT_VALUE.fullmatch(record.getMessage())
        return not (match and int(match.group(1)) in self.numbers)


_QUIET = _QuietExpectedFailures()


def _silence_expected_failures() -> None:
    target = logging.getLogger(compat.OPTIMIZE_LOGGER)
    if _QUIET not in target.filters:
        target.addFilter(_QUIET)


def check_parallel_storage(url: str, workers: int) -> None:
    """Refuse more than one worker on SQLite (one line; see the module docstring for why)."""
    if workers > 1 and storage_kind(url) == "sqlite":
        raise StorageError(f"--workers {workers}: SQLite cannot take parallel writers (locking errors, "
                           "optuna#820); use PostgreSQL (postgresql://USER@HOST/DB) or a journal file "
                           "(journal:FILE)")


def _counts(study: optuna.Study) -> dict[TrialState, int]:
    counts = dict.fromkeys(TrialState, 0)
    for t in study.get_trials(deepcopy=False):
        counts[t.state] += 1
    return counts


class TrialQuota:
    """Exactly ``target`` finished trials in the study, shared by every worker (see the module docstring).

    ``budget`` caps the trials this worker runs itself (as ``n_trials`` did), so a study whose trials keep
    failing still ends; trials the guard turns away do not count. ``deadline`` is a ``time.monotonic()`` value.
    """

    def __init__(self, target: int, budget: int | None = None, deadline: float | None = None,
                 poll_s: float = DEFAULT_POLL_S, gate: StopGate | None = None) -> None:
        self.gate = gate or StopGate()
        self.target = target
        self.budget = budget
        self.deadline = deadline
        self.poll_s = poll_s
        self.started = 0
        self.turned_away = 0
        self.lost = 0
        self.current: optuna.Trial | None = None
        self.announced: set[int] = set()

    def _out_of_time(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def wait_for_slot(self, study: optuna.Study) -> bool:
        """True when this worker should ask for another trial; False when it should stop."""
        while True:
            if self.gate.requested or compat.stop_requested(study) or self._out_of_time():
                return False
            if self.budget is not None and self.started >= self.budget:
                return False
            counts = _counts(study)
            if sum(counts[s] for s in FINISHED) >= self.target:
                return False
            if counts[TrialState.WAITING] or sum(counts[s] for s in SLOT_STATES) < self.target:
                return True
            if not heartbeat_enabled(study):
                return False  # a dead worker's trial would hold its slot for ever: leave it to the others
            self._fail_stale_and_announce(study)  # frees (and re-enqueues) the slot of a killed worker's trial
            time.sleep(self.poll_s)

    def _fail_stale_and_announce(self, study: optuna.Study) -> None:
        """``fail_stale_trials``, then one line, once per trial, when this worker waits for a trial whose worker
        may be dead — after a ``kill -9`` the rerun would otherwise sit at 0/N for up to the grace period
        without a word. A trial on SQLite (one writer) is announced at once; on a server only once its heartbeat
        is late, since another worker's healthy trial also holds a slot."""
        running = fail_stale_trials(study, report=True)
        sqlite = storage_kind(_storage_url(study) or "") == "sqlite"
        for t in running:
            if t.number in self.announced or not (sqlite or t.silent_s > t.interval_s + 1):
                continue
            self.announced.add(t.number)
            left = max(t.grace_s - t.silent_s, 0.0)
            notes.warning("qsearch: waiting up to %.0f s for trial %d's worker (no heartbeat for %.0f s, "
                           "--grace-period %.0f s) before re-queueing it", left, t.number, t.silent_s, t.grace_s)

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        """Optuna callback, after each trial: wait for a free slot or stop this worker (also once ``target``
        trials have finished: what Optuna's ``MaxTrialsCallback`` would do with one more read of the study)."""
        self.current = None  # recorded: only a trial whose ``tell`` failed stays current
        if not self.wait_for_slot(study):
            study.stop()

    def lost_current_trial(self, study: optuna.Study) -> bool:
        """Whether this worker's last trial was finished by someone else — failed as dead by another worker
        because its heartbeat stopped — so that ``tell`` could not record it. Its retry copy runs elsewhere."""
        if self.current is None:
            return False
        try:
            state = compat.study_storage(study).get_trial(compat.trial_id(self.current)).state
        except Exception:  # noqa: BLE001 - the database is not answering: not a lost trial
            return False
        if state != TrialState.FAIL:
            return False
        self.lost += 1
        logger.warning("trial %d was failed by another worker (no heartbeat for the grace period); its retry "
                       "runs elsewhere", self.current.number)
        self.current = None
        return True

    def may_run(self, trial: optuna.Trial) -> bool:
        """Whether fewer than ``target`` trials below this one hold a slot; the count is the trial's one read of
        the study, which the objective then reuses (:func:`~qsearch.search._snapshot.trial_snapshot`)."""
        return trial_snapshot(trial).slot_holders_below(trial.number, SLOT_STATES) < self.target

    def guard(self, objective: Objective) -> Objective:
        """``objective`` behind the slot check at trial start, with the stop gate open while it runs."""

        def guarded(trial: optuna.Trial) -> float | Sequence[float]:
            try:
                return run(trial)
            except (QuotaFull, BaselinePending):
                raise
            except Exception as error:
                url = _storage_url(trial.study)
                if url is not None and not is_transient(error) and StorageError.behind(error, url) is not None:
                    raise _StorageFailed() from error
                raise

        def run(trial: optuna.Trial) -> float | Sequence[float]:
            if not self.may_run(trial):
                self.turned_away += 1
                _QuietExpectedFailures.numbers.add(trial.number)
                trial.set_user_attr("reason", QUOTA_REASON)
                raise QuotaFull(f"trial {trial.number} not run: {self.target} trials are finished or running")
            self.started += 1
            self.current = trial
            try:
                self.gate.in_trial = True
                self.gate.raise_if_requested()  # a signal that came between the last check and here
                return objective(trial)
            except KeyboardInterrupt:
                self.gate.in_trial = False
                _give_back(trial, INTERRUPTED_REASON)
                raise
            except BaselinePending:
                self.started -= 1  # it gave way before measuring anything: not part of this worker's budget
                _give_back(trial, BASELINE_PENDING_REASON)
                raise
            finally:
                self.gate.in_trial = False

        return guarded


def _storage_url(study: optuna.Study) -> str | None:
    backend = compat.rdb_backend(compat.study_storage(study))
    return None if backend is None else str(backend.url)


def _fail_and_requeue(study: optuna.Study, trial: optuna.Trial) -> None:
    """What ``fail_stale_trials`` does after the grace period, done now: the trial a failing database
    interrupted is queued again (the storage's retry callback) and failed, so it is not left RUNNING where the
    storage still takes a write. The copy comes first: where it cannot be written (a dropped database, a full
    disk) the trial stays RUNNING, its heartbeat stops, and the next run fails and re-queues it after the
    grace period (and says so) — never failed without a copy."""
    storage = compat.study_storage(study)
    trial_id = compat.trial_id(trial)
    try:
        running = storage.get_trial(trial_id)
        if running.state != TrialState.RUNNING:
            return
        callback = getattr(storage, "get_heartbeat_stale_trial_callback", lambda: None)()
        if callback is not None:
            callback(study, running)
        storage.set_trial_state_values(trial_id, TrialState.FAIL)
    except Exception as error:  # noqa: BLE001 - the storage is failing: the heartbeat path takes over
        logger.debug("trial %d not failed after the storage error: %s", trial.number, error)


def _give_back(trial: optuna.Trial, reason: str) -> None:
    """Mark the running trial as ended for ``reason`` and queue a copy with the same parameters (and the
    baseline marker), so the next worker or the next ``qsearch run`` repeats it; Optuna then fails it."""
    _QuietExpectedFailures.numbers.add(trial.number)
    trial.set_user_attr("reason", reason)
    study = trial.study
    attrs = {BASELINE_ATTR: True} if trial.user_attrs.get(BASELINE_ATTR) else None
    study.enqueue_trial(dict(trial.params), user_attrs=attrs)


def optimize_exactly(study: optuna.Study, objective: Objective, target: int, budget: int | None = None,
                     timeout: float | None = None, callbacks: Sequence[TrialCallback] = (),
                     poll_s: float = DEFAULT_POLL_S, policy: RetryPolicy = DEFAULT_POLICY,
                     gate: StopGate | None = None) -> TrialQuota:
    """``study.optimize`` until the study holds ``target`` finished trials — never more, whatever other
    workers do — or this worker has run ``budget`` trials, or ``timeout`` seconds have passed, or ``gate``
    was signalled (then :class:`~qsearch.execution._interrupt.Interrupted` is raised once the trial in flight
    has been failed and re-queued).

    Transient database errors that end ``optimize`` (see :mod:`qsearch.record._retry`) are retried with
    back-off; ``policy.attempts`` consecutive ones without a trial in between end the worker. A database that
    fails for good (dropped or renamed, a full disk, a read-only file) ends it with a one-line
    :class:`~qsearch.record.StorageError` (Optuna's own loop hides the cause behind an ``UnboundLocalError``),
    the trial in flight failed and re-queued where the storage still takes the write.
    So is the error of a trial another worker failed as dead while it ran (Optuna cannot record it then).
    An interrupt is never retried.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    quota = TrialQuota(target, budget, deadline, poll_s, gate)
    _silence_expected_failures()
    guarded = quota.guard(objective)

    def retry(error: BaseException) -> bool:
        return isinstance(error, Exception) and (is_transient(error) or quota.lost_current_trial(study))

    try:
        for attempt in retrying(policy, progress=lambda: quota.started, retry=retry):
            with attempt:
                if not quota.wait_for_slot(study):
                    break
                left = None if deadline is None else max(deadline - time.monotonic(), 0.0)
                study.optimize(guarded, n_trials=None, timeout=left, callbacks=[*callbacks, quota],
                               catch=(Exception,), gc_after_trial=False)
    except (Exception, _StorageFailed) as error:
        url = _storage_url(study)
        failure = None if url is None else StorageError.behind(error, url)
        if failure is None:
            raise
        if quota.current is not None:
            _fail_and_requeue(study, quota.current)
        raise failure from None
    quota.gate.raise_if_requested()
    return quota


__all__ = ["BASELINE_PENDING_REASON", "QUOTA_REASON", "QuotaFull", "SLOT_STATES", "TrialQuota",
           "check_parallel_storage", "optimize_exactly"]
