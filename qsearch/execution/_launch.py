"""The launch layer: cores, worker processes, signals and the environment — read once, here, at the edge.

Nothing below this layer reads ``os.environ`` or installs a signal handler: the CLI calls
:func:`launch_environment` once and hands what it found inward (the worker index as a seed offset in
:class:`~qsearch.execution._settings.RunSettings`). Each local worker is an ordinary ``qsearch run`` joining the
study by name (the same thing a container replica or a job on another machine runs), started in its own
session so that a Ctrl-C reaches the parent only, which forwards it: every worker then ends its trial
cleanly (failed with reason ``interrupted`` and re-queued) and the parent reports once.
"""

from __future__ import annotations

import math
import os
import signal
import socket
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from qsearch.devices import gpu_environments, gpu_worker_layout
from qsearch.errors import InputError
from qsearch.execution._interrupt import StopGate
from qsearch.execution._loop import open_settings_study
from qsearch.execution._settings import RunSettings
from qsearch.execution._workers import check_parallel_storage
from qsearch.search import finished_trials
from qsearch.studyfile import load_study_file

#: thread-count variables set for each worker process (torch reads them when it starts)
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
#: each worker's index (0..K-1, or "auto" for container replicas): seeds each worker's sampler differently
WORKER_INDEX_ENV = "QSEARCH_WORKER_INDEX"
#: ``--workers auto`` (the default): see :func:`resolve_workers`
AUTO_WORKERS = "auto"
#: the signals that stop a run cleanly (exit 128 + signal: 130, 143)
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass(frozen=True)
class LaunchEnvironment:
    """What the environment says about this process; read once by :func:`launch_environment`."""

    worker_index: str = ""  # "" (not a worker), "0".."K-1", or "auto" (container replicas)

    @property
    def is_worker(self) -> bool:
        return bool(self.worker_index)

    def seed_offset(self) -> int:
        """The sampler seed offset of this process: its worker index; ``auto`` (replicas sharing one
        environment) a hash of host name and process id; 0 outside a worker (reproducible)."""
        if not self.worker_index:
            return 0
        if self.worker_index == "auto":
            return zlib.crc32(f"{socket.gethostname()}:{os.getpid()}".encode())
        if not self.worker_index.isdigit():
            raise InputError(f"{WORKER_INDEX_ENV}: {self.worker_index!r} is not a number or auto")
        return int(self.worker_index)


def launch_environment(env: Mapping[str, str] | None = None) -> LaunchEnvironment:
    return LaunchEnvironment(worker_index=(os.environ if env is None else env).get(WORKER_INDEX_ENV, "").strip())


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
    raise InputError(f"--workers: {value!r} is not a positive number or auto")


def resolve_workers(requested: int | str, kind: str, cores: int | None = None, inside_worker: bool = False,
                    gpus: int = 0) -> int:
    """Local worker processes for ``--workers``: a number as given; ``auto`` one per usable core where the
    storage (``storage_kind``) takes parallel writers, else 1 — on SQLite (a whole-file lock per write,
    optuna#820) and in a process that is itself a worker (``inside_worker``: a container replica or a worker of
    ``--workers``, which must not start workers of its own). A study on CUDA with ``gpus`` GPUs gets the
    processes of :func:`qsearch.devices.gpu_worker_layout` instead (several small-SNN trials per GPU)."""
    if requested != AUTO_WORKERS:
        return int(requested)
    if kind == "sqlite" or inside_worker:
        return 1
    if gpus > 0:
        return len(gpu_worker_layout(gpus, cores if cores is not None else available_cores()))
    return default_worker_count(cores)


def default_threads(workers: int, cores: int | None = None) -> int:
    """Torch threads for each of ``workers`` processes: the cores shared out, at least one."""
    return max(1, (cores if cores is not None else available_cores()) // max(workers, 1))


def worker_command(study_path: Path, storage_url: str, study_name: str, total_trials: int,
                   timeout: float | None = None, heartbeat_interval: int | None = None,
                   grace_period: int | None = None, python: str = sys.executable,
                   threads: int | None = None, allow_changed_study_file: bool = False,
                   reported_by_parent: bool = False, artifact_dir: str | None = None) -> list[str]:
    """The command line of one worker: ``qsearch run`` joining the study as one process, no progress bar, no
    report."""
    command = [python, "-m", "qsearch.cli", "run", str(study_path), "--storage", storage_url, "--study-name",
               study_name, "--total-trials", str(total_trials), "--workers", "1", "--quiet", "--no-report"]
    if reported_by_parent:
        command += ["--reported-by-parent"]
    if threads is not None:
        command += ["--threads", str(threads)]
    if timeout is not None:
        command += ["--timeout", str(timeout)]
    if heartbeat_interval is not None:
        command += ["--heartbeat-interval", str(heartbeat_interval)]
    if grace_period is not None:
        command += ["--grace-period", str(grace_period)]
    if allow_changed_study_file:
        command += ["--allow-changed-study-file"]
    if artifact_dir is not None:
        command += ["--artifacts", artifact_dir]
    return command


def worker_env(index: int, threads: int, base: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    env.update(dict.fromkeys(THREAD_ENV, str(threads)))
    env[WORKER_INDEX_ENV] = str(index)
    return env


def exit_code(returncode: int) -> int:
    """A child's return code as a shell reports it: killed by signal s -> 128 + s."""
    return 128 - returncode if returncode < 0 else returncode


@contextmanager
def stop_signals(gate: StopGate) -> Iterator[StopGate]:
    """SIGINT and SIGTERM go to ``gate`` while the block runs (the previous handlers come back after)."""
    previous = {s: signal.signal(s, gate.on_signal) for s in STOP_SIGNALS}
    try:
        yield gate
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


@dataclass(frozen=True)
class WorkersResult:
    """How a ``--workers`` run ended: 0, the first failing worker's code, or 128 + the signal that stopped it."""

    code: int
    signum: int | None = None


def run_workers(study_path: Path, settings: RunSettings, workers: int, threads_per_worker: int | None = None,
                python: str = sys.executable, gpus: int = 0) -> WorkersResult:
    """Run ``workers`` local worker processes on one study until it holds its total of finished trials.

    ``settings`` is the :class:`~qsearch.execution._settings.RunSettings` of the run (its ``total_trials`` —
    default: the finished ones plus ``n_trials`` — is resolved here, after the study is opened, created and
    its baseline enqueued before any worker starts). Each worker gets ``threads_per_worker`` torch threads
    (default: cores // workers, at least 1) and, on a study that runs on ``gpus`` GPUs, one of them
    (:func:`gpu_environments`). A SIGINT/SIGTERM here is forwarded to every worker.
    """
    if workers < 1:
        raise InputError(f"--workers: {workers} must be >= 1")
    check_parallel_storage(settings.storage_url, workers)
    study_file = load_study_file(study_path)
    study = open_settings_study(study_file, settings)
    total = settings.total_trials
    if total is None:
        total = finished_trials(study) + settings.n_trials
    threads = threads_per_worker or default_threads(workers)
    command = worker_command(study_path, settings.storage_url, settings.study_name, total, settings.timeout,
                             settings.heartbeat_interval, settings.grace_period, python, threads,
                             settings.allow_changed_study_file, reported_by_parent=True,
                             artifact_dir=settings.artifact_dir)
    processes: list[subprocess.Popen] = []
    received: list[int] = []

    def forward(signum: int, _frame: object = None) -> None:
        received.append(signum)
        for p in processes:
            if p.poll() is None:
                p.send_signal(signum)

    previous = {s: signal.signal(s, forward) for s in STOP_SIGNALS}
    try:
        devices = gpu_environments(workers, gpus)
        processes.extend(subprocess.Popen(command, env={**worker_env(i, threads), **devices[i]},
                                          start_new_session=True) for i in range(workers))
        if received:
            forward(received[0])
        codes = [_wait(p) for p in processes]
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        _stop_all(processes)
    if received:
        return WorkersResult(128 + received[0], received[0])
    failed = [exit_code(c) for c in codes if c != 0]
    return WorkersResult(failed[0] if failed else 0)


def _wait(process: subprocess.Popen) -> int:
    while True:
        try:
            return process.wait(timeout=0.5)  # short waits: the signal handler runs between them
        except subprocess.TimeoutExpired:
            continue


def _stop_all(processes: Sequence[subprocess.Popen], grace_s: float = 30.0) -> None:
    """Interrupt workers still running (their running trials end as failed and re-queued), then kill."""
    alive = [p for p in processes if p.poll() is None]
    for p in alive:
        p.send_signal(signal.SIGINT)
    deadline = time.monotonic() + grace_s
    for p in alive:
        try:
            p.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


__all__ = ["AUTO_WORKERS", "LaunchEnvironment", "STOP_SIGNALS", "THREAD_ENV", "WORKER_INDEX_ENV", "WorkersResult",
           "available_cores", "cgroup_cpu_limit", "default_threads", "default_worker_count", "exit_code",
           "launch_environment", "parse_workers", "resolve_workers", "run_workers", "stop_signals",
           "worker_command", "worker_env"]
