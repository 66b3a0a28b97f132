"""Several worker processes on one study: local workers, the exact trial count they share, SQLite's limit.

Each worker is an ordinary ``qsearch run`` joining the study by name (the same thing a container replica or a
job on another machine runs); the database is the only thing they share. Three rules make that safe:

- **The parent creates the study first** (:func:`run_workers`): the float baseline is enqueued exactly once
  and no two workers race to create the study.
- **The trial count is exact** (:class:`TrialQuota`): ``--total-trials N`` ends with N finished (complete or
  pruned) trials, not N + workers - 1 as with Optuna's ``MaxTrialsCallback`` alone, which only looks after a
  trial has finished.
- **SQLite takes one worker** (:func:`check_parallel_storage`): SQLite locks the whole file for every write;
  parallel Optuna workers on it fail with "database is locked" under load (optuna/optuna#820; Optuna's own
  documentation advises against SQLite for parallel optimization). Use PostgreSQL or MySQL/MariaDB, or a
  journal file (``journal:FILE``), which Optuna appends to under a file lock. ``--workers auto`` (the
  default, :func:`resolve_workers`) is one process per usable core on those and one on SQLite.

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
import math
import os
import re
import signal
import socket
import subprocess
import sys
import time
import warnings
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

import optuna
from optuna.trial import TrialState

from qsearch.search._retry import DEFAULT_POLICY, RetryPolicy, is_transient, retrying
from qsearch.search._storage import StorageError, storage_kind

logger = logging.getLogger("qsearch.workers")

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
#: states that hold one of the study's N slots (see the module docstring); FAIL does not
SLOT_STATES = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING, TrialState.WAITING)
QUOTA_REASON = "quota_full"
#: seconds between checks while every slot is held by another worker's running trial
DEFAULT_POLL_S = 0.5
#: thread-count variables set for each worker process (torch reads them when it starts)
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
#: each worker's index (0..K-1, or "auto" for container replicas): seeds each worker's sampler differently
WORKER_INDEX_ENV = "QSEARCH_WORKER_INDEX"
#: ``--workers auto`` (the default): see :func:`resolve_workers`
AUTO_WORKERS = "auto"

Objective = Callable[[optuna.Trial], object]
TrialCallback = Callable[[optuna.Study, optuna.trial.FrozenTrial], None]


class QuotaFull(Exception):
    """This trial started after the study's N slots were taken; it is failed without running."""


class _QuietQuotaFull(logging.Filter):
    """Drops Optuna's two warnings (with traceback) about a trial the guard turned away: it is expected."""

    numbers: set[int] = set()
    _value = re.compile(r"Trial (\d+) failed with value None\.")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], QuotaFull):
            return False
        match = self._value.fullmatch(record.getMessage())
        return not (match and int(match.group(1)) in self.numbers)


_QUIET = _QuietQuotaFull()


def _silence_turned_away_trials() -> None:
    target = logging.getLogger("optuna.study._optimize")
    if _QUIET not in target.filters:
        target.addFilter(_QUIET)


def cgroup_cpu_limit(root: Path = Path("/sys/fs/cgroup"), cgroup_file: Path = Path("/proc/self/cgroup")) -> int | None:
    """CPUs the cgroup v2 quota of this process allows (``docker --cpus``, Kubernetes CPU limits), rounded up;
    None without one. Affinity does not show such a quota, and a container that started one worker per host
    core would oversubscribe its share."""
    try:
        lines = cgroup_file.read_text().splitlines()
        relative = next(line.split("::", 1)[1].strip() for line in lines if line.startswith("0::"))
        quota, period = (root / relative.lstrip("/") / "cpu.max").read_text().split()[:2]
        return None if quota == "max" else max(1, math.ceil(int(quota) / int(period)))
    except (OSError, StopIteration, ValueError):
        return None


def available_cores() -> int:
    """Cores this process may use: its CPU affinity (Slurm, taskset), capped by a cgroup CPU quota."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    limit = cgroup_cpu_limit()
    return max(1, min(cores, limit) if limit is not None else cores)


def default_worker_count(cores: int | None = None) -> int:
    """One worker per core: a trial of these small networks is fastest on one thread, and C processes x 1
    thread beat 1 process x C threads (benchmarks/study_throughput.py)."""
    return max(1, cores if cores is not None else available_cores())


def parse_workers(value: str) -> int | str:
    """``--workers``: a positive number or ``auto``."""
    text = value.strip().lower()
    if text == AUTO_WORKERS:
        return AUTO_WORKERS
    if text.isdigit() and int(text) >= 1:
        return int(text)
    raise ValueError(f"--workers: {value!r} is not a positive number or auto")


def resolve_workers(requested: int | str, kind: str, cores: int | None = None) -> int:
    """Local worker processes for ``--workers``: a number as given; ``auto`` one per usable core where the
    storage (``storage_kind``) takes parallel writers, else 1 — on SQLite (a whole-file lock per write,
    optuna#820) and in a process that is itself a worker (``QSEARCH_WORKER_INDEX`` set: a container replica or
    a worker of ``--workers``, which must not start workers of its own)."""
    if requested != AUTO_WORKERS:
        return int(requested)
    if kind == "sqlite" or os.environ.get(WORKER_INDEX_ENV, "").strip():
        return 1
    return default_worker_count(cores)


def default_threads(workers: int, cores: int | None = None) -> int:
    """Torch threads for each of ``workers`` processes: the cores shared out, at least one."""
    return max(1, (cores if cores is not None else available_cores()) // max(workers, 1))


def worker_seed(seed: int | None) -> int | None:
    """The sampler seed of this process: the study file's ``seed`` plus the worker index.

    Workers with one seed would all propose the same configurations (each runs its own sampler, seeded the
    same way). Worker 0 — and any process without ``QSEARCH_WORKER_INDEX`` — keeps the study file's seed, so a
    single-process study stays reproducible. ``QSEARCH_WORKER_INDEX=auto`` (container replicas, which share
    one environment) offsets by a hash of host name and process id.
    """
    index = os.environ.get(WORKER_INDEX_ENV, "").strip()
    if seed is None or not index:
        return seed
    if index == "auto":
        offset = zlib.crc32(f"{socket.gethostname()}:{os.getpid()}".encode())
    else:
        offset = int(index)
    return (seed + offset) % 2**32


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


def _fail_stale_trials(study: optuna.Study) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)


def _heartbeat_enabled(study: optuna.Study) -> bool:
    interval = getattr(study._storage, "get_heartbeat_interval", None)
    return interval is not None and interval() is not None


class TrialQuota:
    """Exactly ``target`` finished trials in the study, shared by every worker (see the module docstring).

    ``budget`` caps the trials this worker runs itself (as ``n_trials`` did), so a study whose trials keep
    failing still ends; trials the guard turns away do not count. ``deadline`` is a ``time.monotonic()`` value.
    """

    def __init__(self, target: int, budget: int | None = None, deadline: float | None = None,
                 poll_s: float = DEFAULT_POLL_S) -> None:
        self.target = target
        self.budget = budget
        self.deadline = deadline
        self.poll_s = poll_s
        self.started = 0
        self.turned_away = 0
        self.lost = 0
        self.current: optuna.Trial | None = None

    def _out_of_time(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def wait_for_slot(self, study: optuna.Study) -> bool:
        """True when this worker should ask for another trial; False when it should stop."""
        while True:
            if getattr(study, "_stop_flag", False) or self._out_of_time():
                return False
            if self.budget is not None and self.started >= self.budget:
                return False
            counts = _counts(study)
            if sum(counts[s] for s in FINISHED) >= self.target:
                return False
            if counts[TrialState.WAITING] or sum(counts[s] for s in SLOT_STATES) < self.target:
                return True
            if not _heartbeat_enabled(study):
                return False  # a dead worker's trial would hold its slot for ever: leave it to the others
            _fail_stale_trials(study)  # frees (and re-enqueues) the slot of a killed worker's trial
            time.sleep(self.poll_s)

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        """Optuna callback, after each trial: wait for a free slot or stop this worker."""
        self.current = None  # recorded: only a trial whose ``tell`` failed stays current
        if not self.wait_for_slot(study):
            study.stop()

    def lost_current_trial(self, study: optuna.Study) -> bool:
        """Whether this worker's last trial was finished by someone else — failed as dead by another worker
        because its heartbeat stopped — so that ``tell`` could not record it. Its retry copy runs elsewhere."""
        if self.current is None:
            return False
        try:
            state = study._storage.get_trial(self.current._trial_id).state
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
        below = sum(1 for t in trial.study.get_trials(deepcopy=False, states=SLOT_STATES) if t.number < trial.number)
        return below < self.target

    def guard(self, objective: Objective) -> Objective:
        """``objective`` behind the slot check at trial start."""

        def guarded(trial: optuna.Trial) -> object:
            if not self.may_run(trial):
                self.turned_away += 1
                _QuietQuotaFull.numbers.add(trial.number)
                trial.set_user_attr("reason", QUOTA_REASON)
                raise QuotaFull(f"trial {trial.number} not run: {self.target} trials are finished or running")
            self.started += 1
            self.current = trial
            return objective(trial)

        return guarded


def optimize_exactly(study: optuna.Study, objective: Objective, target: int, budget: int | None = None,
                     timeout: float | None = None, callbacks: Sequence[TrialCallback] = (),
                     poll_s: float = DEFAULT_POLL_S, policy: RetryPolicy = DEFAULT_POLICY) -> TrialQuota:
    """``study.optimize`` until the study holds ``target`` finished trials — never more, whatever other
    workers do — or this worker has run ``budget`` trials, or ``timeout`` seconds have passed.

    Transient database errors that end ``optimize`` (see :mod:`qsearch.search._retry`) are retried with
    back-off; ``policy.attempts`` consecutive ones without a trial in between end the worker with the error.
    So is the error of a trial another worker failed as dead while it ran (Optuna cannot record it then).
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    quota = TrialQuota(target, budget, deadline, poll_s)
    _silence_turned_away_trials()
    stop = optuna.study.MaxTrialsCallback(target, states=FINISHED)
    guarded = quota.guard(objective)
    for attempt in retrying(policy, progress=lambda: quota.started,
                            retry=lambda e: is_transient(e) or quota.lost_current_trial(study)):
        with attempt:
            if not quota.wait_for_slot(study):
                break
            left = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            study.optimize(guarded, n_trials=None, timeout=left, callbacks=[stop, *callbacks, quota],
                           catch=(Exception,), gc_after_trial=False)
    return quota


def worker_command(study_path: Path, storage_url: str, study_name: str, total_trials: int,
                   timeout: float | None = None, heartbeat_interval: int | None = None,
                   grace_period: int | None = None, python: str = sys.executable,
                   threads: int | None = None) -> list[str]:
    """The command line of one worker: ``qsearch run`` joining the study as one process, no progress bar, no
    report."""
    command = [python, "-m", "qsearch.cli", "run", str(study_path), "--storage", storage_url, "--study-name",
               study_name, "--total-trials", str(total_trials), "--workers", "1", "--quiet", "--no-report"]
    if threads is not None:
        command += ["--threads", str(threads)]
    if timeout is not None:
        command += ["--timeout", str(timeout)]
    if heartbeat_interval is not None:
        command += ["--heartbeat-interval", str(heartbeat_interval)]
    if grace_period is not None:
        command += ["--grace-period", str(grace_period)]
    return command


def worker_env(index: int, threads: int, base: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    env.update(dict.fromkeys(THREAD_ENV, str(threads)))
    env[WORKER_INDEX_ENV] = str(index)
    return env


def _exit_code(returncode: int) -> int:
    return 128 - returncode if returncode < 0 else returncode  # killed by signal s -> 128 + s, as a shell


def run_workers(study_path: Path, storage_url: str, study_name: str, workers: int, total_trials: int | None,
                timeout: float | None = None, threads_per_worker: int | None = None, *,
                n_trials: int | None = None, heartbeat_interval: int | None = None,
                grace_period: int | None = None, python: str = sys.executable) -> int:
    """Run ``workers`` local worker processes on one study until it holds ``total_trials`` finished trials
    (default: the finished ones plus ``n_trials``, else plus the study file's ``n_trials``).

    The study is opened (created, baseline enqueued) here before any worker starts. Each worker gets
    ``threads_per_worker`` torch threads (default: cores // workers, at least 1) through ``--threads`` and
    ``OMP_NUM_THREADS``/``MKL_NUM_THREADS``. Returns 0 when every worker succeeded, else the first failing
    worker's exit code (128 + signal for a killed one). Raises :class:`StorageError` for SQLite with more
    than one worker.
    """
    from qsearch.search._study import finished_trials, open_study
    from qsearch.studyfile import load_study_file

    if workers < 1:
        raise ValueError(f"--workers: {workers} must be >= 1")
    check_parallel_storage(storage_url, workers)
    study_file = load_study_file(study_path)
    study = open_study(study_file, storage_url, study_name)
    if total_trials is None:
        total_trials = finished_trials(study) + (n_trials or study_file.n_trials)
    threads = threads_per_worker or default_threads(workers)
    command = worker_command(study_path, storage_url, study_name, total_trials, timeout, heartbeat_interval,
                             grace_period, python, threads)
    processes = [subprocess.Popen(command, env=worker_env(i, threads)) for i in range(workers)]
    try:
        codes = [p.wait() for p in processes]
    except KeyboardInterrupt:
        _stop_all(processes)
        return 130
    failed = [_exit_code(c) for c in codes if c != 0]
    return failed[0] if failed else 0


def _stop_all(processes: Sequence[subprocess.Popen], grace_s: float = 10.0) -> None:
    """Interrupt the workers (their running trials end as failed), then kill what is left."""
    for p in processes:
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
    deadline = time.monotonic() + grace_s
    for p in processes:
        try:
            p.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


__all__ = ["AUTO_WORKERS", "QUOTA_REASON", "QuotaFull", "SLOT_STATES", "TrialQuota", "available_cores",
           "cgroup_cpu_limit", "check_parallel_storage", "default_threads", "default_worker_count",
           "optimize_exactly", "parse_workers", "resolve_workers", "run_workers", "worker_command", "worker_seed"]
