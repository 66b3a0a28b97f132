"""Benchmark: trials per hour of the default study under several worker layouts, and the storage cost per trial.

**Layouts.** The default study (``studies/digits.yaml``: real SNN trials) is run with ``qsearch run`` several
times in this one run, each on a fresh study that is deleted afterwards, each with ``--total-trials N``:

- ``1x1``: 1 process x 1 torch thread (the reference; what ``qsearch run studies/digits.yaml`` did so far);
- ``1xC``: 1 process x C threads (C = usable cores of this process);
- ``Cx1``: C worker processes x 1 thread each (``--workers C --threads 1``);
- ``auto``: ``--workers auto`` (what the command does without ``--workers``), any ``PxT`` as well.

Every layout is timed from the launch of ``qsearch run`` to the completion of the study's last trial, so the
start-up of every process (imports, loading the fused kernel, encoding the data) and the float network that
each process trains once per T for its PTQ and QAT trials are part of the cost. All layouts use the same
storage (a journal file by default, or ``--storage URL``). The trial mix differs between layouts (each worker
process runs its own sampler with its own seed, and PTQ trials cost a fraction of QAT ones), so besides trials
per hour it prints the mix and a *work* speedup: every trial weighted by the mean seconds its kind (float, ptq,
qat, pruned, duplicate) took in the 1x1 reference. ``--rounds R`` repeats the layouts round-robin (load from
other processes hits them alike), round r with the study's seeds + r (another mix), and pools the rounds.

**Storage overhead.** The same study with the synthetic test double (``trial_runner: synthetic``: the real
sampler, objective, user attributes, constraints and results row; no training) runs in this process on an
in-memory storage, a journal file, SQLite and PostgreSQL (when ``--pg-url`` answers): milliseconds per
trial, the overhead over in-memory, and the storage writes per trial counted at the storage API (Optuna's
``set_trial_*``/``create_new_trial``/heartbeats, by method) and, for the SQL databases, SQL commits and
statements per trial. SQLite and PostgreSQL run a second time with one transaction per user attribute (how
qsearch wrote them before :func:`qsearch.record._storage.set_user_attrs`), for comparison. Finally it checks
that a trial's writes do not grow with its epochs (the epoch hook must not write to the storage): the same
trials with 1 and with 20 epochs.

Prints ``trials_per_hour_<layout>: X``, ``speedup_<layout>_vs_single: X`` and ``work_speedup_<layout>_vs_single``
(``threads`` for 1xC, ``workers`` for Cx1), ``storage_ms_per_trial_<backend>: X``, ``storage_writes_per_trial: X``
and ``speedup_batched_attrs_<backend>`` (one transaction for a trial's user attributes vs one per attribute).

    .venv/bin/python benchmarks/study_throughput.py                       # 60 trials per layout
    .venv/bin/python benchmarks/study_throughput.py --total-trials 6 --storage-trials 20   # smoke test
    .venv/bin/python benchmarks/study_throughput.py --storage postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_STUDY = ROOT / "studies" / "digits.yaml"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
#: Optuna storage methods that write (counted per trial); everything else on a storage only reads
WRITE_METHODS = ("create_new_study", "set_study_user_attr", "set_study_system_attr", "create_new_trial",
                 "set_trial_param", "set_trial_state_values", "set_trial_intermediate_value",
                 "set_trial_user_attr", "set_trial_user_attrs", "set_trial_system_attr", "record_heartbeat")


# ---------------------------------------------------------------------------------------------- layouts


@dataclass(frozen=True)
class Layout:
    """``processes`` x ``threads``; ``processes`` None means ``--workers auto`` (the command's own choice)."""

    label: str
    processes: int | None
    threads: int | None

    def options(self) -> list[str]:
        workers = ["--workers", "auto" if self.processes is None else str(self.processes)]
        return workers + ([] if self.threads is None else ["--threads", str(self.threads)])

    def describe(self) -> str:
        if self.processes is None:
            return "--workers auto"
        return f"{self.processes} process{'es' if self.processes > 1 else ''} x {self.threads} thread" + (
            "s" if (self.threads or 1) > 1 else "")


def parse_layout(token: str, cores: int) -> Layout:
    """``1x1``, ``1xC``, ``Cx1``, ``2x1``, ``auto`` (C = this machine's usable cores)."""
    if token == "auto":
        return Layout("auto", None, None)
    processes, sep, threads = token.lower().partition("x")
    if not sep:
        raise ValueError(f"layout {token!r}: write PROCESSESxTHREADS (e.g. 1x1, Cx1, 1xC) or auto")
    value = {"c": cores}
    return Layout(token, int(value.get(processes, processes) or 0), int(value.get(threads, threads) or 0))


def unique_layouts(layouts: list[Layout]) -> list[Layout]:
    """Each layout once (on one core 1xC and Cx1 are 1x1)."""
    seen: dict[tuple, Layout] = {}
    for layout in layouts:
        seen.setdefault(("auto",) if layout.processes is None else (layout.processes, layout.threads), layout)
    return list(seen.values())


def ratio_name(layout: Layout, cores: int) -> str:
    """The name of the speedup line of a layout (the brief's names for 1xC and Cx1)."""
    if layout.processes == 1 and layout.threads == cores and cores > 1:
        return "threads"
    if layout.processes == cores and layout.threads == 1 and cores > 1:
        return "workers"
    return layout.label.lower()


@dataclass
class LayoutRun:
    """One run of a layout: its times from launch, and what its finished trials were and took."""

    layout: Layout
    seconds_to_last: float  # launch -> the last trial's completion
    seconds_to_exit: float  # launch -> the command's exit
    first_start_s: float  # launch -> the first trial's start (imports, study, first process ready)
    kinds: collections.Counter = field(default_factory=collections.Counter)  # finished trials by kind
    trial_seconds: dict[str, list[float]] = field(default_factory=dict)  # start -> complete, by kind
    failed: int = 0  # turned away at the last slots (quota) or failed
    returncode: int = 0

    @property
    def finished(self) -> int:
        return sum(self.kinds.values())


def trial_kind(trial) -> str:
    """What a finished trial cost: ``float``/``ptq``/``qat`` by scheme, ``pruned`` (stopped silent) or
    ``duplicate`` (an earlier trial's result reused)."""
    from optuna.trial import TrialState

    if trial.state == TrialState.PRUNED:
        return "pruned"
    if "duplicate_of" in trial.user_attrs:
        return "duplicate"
    return str(trial.user_attrs.get("config", {}).get("scheme", "?"))


@dataclass
class LayoutTotal:
    """A layout's runs pooled: trials and seconds summed over the rounds."""

    layout: Layout
    runs: list[LayoutRun]

    @property
    def seconds(self) -> float:
        return sum(r.seconds_to_last for r in self.runs)

    @property
    def kinds(self) -> collections.Counter:
        return sum((r.kinds for r in self.runs), collections.Counter())

    @property
    def trials_per_hour(self) -> float:
        return 3600.0 * sum(self.kinds.values()) / self.seconds if self.seconds > 0 else float("nan")

    def mean_seconds(self) -> dict[str, float]:
        """Mean seconds per finished trial of each kind (start to complete)."""
        pooled: dict[str, list[float]] = collections.defaultdict(list)
        for r in self.runs:
            for kind, seconds in r.trial_seconds.items():
                pooled[kind].extend(seconds)
        return {kind: statistics.fmean(v) for kind, v in pooled.items()}

    def work_per_hour(self, costs: dict[str, float]) -> float:
        """Reference-trial-seconds per hour: every trial weighted by what its kind costs in the reference
        layout, so that a layout whose samplers happened to pick cheaper trials is not credited for it."""
        fallback = statistics.fmean(costs.values()) if costs else 1.0
        work = sum(n * costs.get(kind, fallback) for kind, n in self.kinds.items())
        return 3600.0 * work / self.seconds if self.seconds > 0 else float("nan")


def run_layout(layout: Layout, study_path: Path, storage_url: str, total: int) -> LayoutRun:
    """One fresh study with this layout, timed from launch; the study is deleted afterwards."""
    name = f"throughput-{layout.label.lower()}-{uuid.uuid4().hex[:8]}"
    command = [sys.executable, "-m", "qsearch.cli", "run", str(study_path), "--storage", storage_url,
               "--study-name", name, "--total-trials", str(total), "--quiet", "--no-report", *layout.options()]
    launched = dt.datetime.now()
    start = time.perf_counter()
    try:
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        exit_s = time.perf_counter() - start
        if result.returncode != 0:
            print(f"  {layout.label}: qsearch run exited {result.returncode}:\n{result.stderr[-2000:]}")
        return _summarise(layout, storage_url, name, launched, exit_s, result.returncode)
    finally:
        _delete(storage_url, name)


def _summarise(layout: Layout, url: str, name: str, launched: dt.datetime, exit_s: float,
               returncode: int) -> LayoutRun:
    import optuna
    from optuna.trial import TrialState

    from qsearch.record import make_storage

    study = optuna.load_study(study_name=name, storage=make_storage(url, heartbeat_interval=None))
    trials = study.get_trials(deepcopy=False)
    done = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    seconds: dict[str, list[float]] = collections.defaultdict(list)
    for t in done:
        seconds[trial_kind(t)].append((t.datetime_complete - t.datetime_start).total_seconds())
    last = max((t.datetime_complete for t in done), default=None)
    first = min((t.datetime_start for t in trials if t.datetime_start), default=None)
    return LayoutRun(layout, (last - launched).total_seconds() if last else float("nan"), exit_s,
                     (first - launched).total_seconds() if first else float("nan"),
                     collections.Counter({kind: len(v) for kind, v in seconds.items()}), dict(seconds),
                     len(trials) - len(done), returncode)


def _delete(url: str, name: str) -> None:
    from qsearch.record import delete_study, storage_kind

    if storage_kind(url) == "journal":
        return  # the journal file is in a temporary folder removed at the end
    with contextlib.suppress(Exception):
        delete_study(url, name)


def study_for_round(study_path: Path, round_index: int, folder: Path) -> Path:
    """The study file of a round: round 0 as it is, round r with its seeds + r (another trial mix, the same
    for every layout of the round)."""
    if round_index == 0:
        return study_path
    data = yaml.safe_load(study_path.read_text())
    data["seed"] = data.get("seed", 0) + round_index
    data.setdefault("sampler", {})["seed"] = data["sampler"].get("seed", 0) + round_index
    path = folder / f"round-{round_index}-{study_path.name}"
    path.write_text(yaml.safe_dump(data))
    return path


def measure_layouts(layouts: list[Layout], study_path: Path, storage: str, total: int,
                    rounds: int) -> dict[str, LayoutTotal]:
    """Every layout once per round, round-robin (load from other processes hits them alike)."""
    totals = {layout.label: LayoutTotal(layout, []) for layout in layouts}
    with tempfile.TemporaryDirectory(prefix="qsearch-throughput-") as folder:
        for round_index in range(rounds):
            study = study_for_round(study_path, round_index, Path(folder))
            for layout in layouts:
                url = storage
                if storage == "journal":
                    url = f"journal:{Path(folder) / f'{layout.label}-{round_index}.journal'}"
                run = run_layout(layout, study, url, total)
                totals[layout.label].runs.append(run)
                mix = ", ".join(f"{k} {v}" for k, v in sorted(run.kinds.items()))
                print(f"  round {round_index + 1} {layout.label:>5}: {run.finished} trials ({mix}) in "
                      f"{run.seconds_to_last:.1f} s to the last trial (first trial started at "
                      f"{run.first_start_s:.1f} s, exit at {run.seconds_to_exit:.1f} s)", flush=True)
    return totals


def report_layouts(totals: dict[str, LayoutTotal], cores: int) -> None:
    reference = totals.get("1x1")
    costs = reference.mean_seconds() if reference else {}
    if costs:
        print("reference seconds per trial (1x1): " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(costs.items())))
    for label, t in totals.items():
        mix = ", ".join(f"{k} {v}" for k, v in sorted(t.kinds.items()))
        print(f"{label:>5} ({t.layout.describe()}): {sum(t.kinds.values())} trials ({mix}) in {t.seconds:.1f} s: "
              f"{t.trials_per_hour:.0f} trials/h")
    for label, t in totals.items():
        print(f"trials_per_hour_{label.lower()}: {t.trials_per_hour:.0f}")
    if reference is None:
        return
    for label, t in totals.items():
        if label != "1x1":
            name = ratio_name(t.layout, cores)
            print(f"speedup_{name}_vs_single: {t.trials_per_hour / reference.trials_per_hour:.2f}")
            print(f"work_speedup_{name}_vs_single: "
                  f"{t.work_per_hour(costs) / reference.work_per_hour(costs):.2f}  (trial mix weighted by 1x1 costs)")


# ---------------------------------------------------------------------------------------------- storage


@dataclass
class StorageRun:
    backend: str
    trials: int
    seconds: float
    writes: collections.Counter
    commits: int
    statements: int

    @property
    def ms_per_trial(self) -> float:
        return 1000.0 * self.seconds / self.trials

    def per_trial(self, count: float) -> float:
        return count / self.trials


@contextlib.contextmanager
def counting_writes() -> Iterator[collections.Counter]:
    """Counts calls of Optuna's storage write methods (as a study makes them) and SQL commits and
    statements on every SQLAlchemy engine while the block runs."""
    import optuna
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from qsearch.record._retry import RetryingRDBStorage

    counter: collections.Counter = collections.Counter()
    # an RDB storage is used through Optuna's cache, which calls the RDB storage's private methods: count there
    # (and qsearch's one-transaction user attributes on its RDB storage)
    classes = (optuna.storages.InMemoryStorage, optuna.storages.JournalStorage, optuna.storages._CachedStorage,
               RetryingRDBStorage)
    originals = [(cls, name, cls.__dict__[name]) for cls in classes for name in WRITE_METHODS if name in cls.__dict__]

    def wrap(name: str, method):
        def counted(self, *args, **kwargs):
            counter[name] += 1
            return method(self, *args, **kwargs)
        return counted

    def on_commit(_connection) -> None:
        counter["sql:commit"] += 1

    def on_statement(*_args) -> None:
        counter["sql:statement"] += 1

    for cls, name, method in originals:
        setattr(cls, name, wrap(name, method))
    event.listen(Engine, "commit", on_commit)
    event.listen(Engine, "before_cursor_execute", on_statement)
    try:
        yield counter
    finally:
        for cls, name, method in originals:
            setattr(cls, name, method)
        event.remove(Engine, "commit", on_commit)
        event.remove(Engine, "before_cursor_execute", on_statement)


def synthetic_study(study_path: Path, **training) -> object:
    """The study file with the synthetic test double in place of training (and optional training changes)."""
    from qsearch.studyfile import parse_study

    data = yaml.safe_load(study_path.read_text())
    data.update(trial_runner="synthetic", synthetic_sleep_s=0.0)
    data.setdefault("training", {}).update(training)
    return parse_study(data)


def run_synthetic(sf, url: str | None, trials: int) -> StorageRun:
    """``trials`` synthetic trials on a fresh study, as ``run_study`` runs them (``url`` None: in memory)."""
    import optuna

    from qsearch.execution._workers import optimize_exactly
    from qsearch.record import results_engine_for
    from qsearch.search import Objective, open_study
    from qsearch.search import _study as study_module
    from qsearch.trial import runner_for

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    name = f"storage-overhead-{uuid.uuid4().hex[:8]}"
    if url is None:  # open_study's own path, on Optuna's in-memory storage
        memory = optuna.storages.InMemoryStorage()
        saved, study_module.make_storage = study_module.make_storage, lambda *_a, **_k: memory
        try:
            study = open_study(sf, "memory", name)
        finally:
            study_module.make_storage = saved
        engine = None
    else:
        study = open_study(sf, url, name)
        engine = results_engine_for(url)
    objective = Objective(sf, name, engine, runner=runner_for(sf), on_epoch=lambda *_: None)
    try:
        with counting_writes() as counter:
            start = time.perf_counter()
            optimize_exactly(study, objective, trials, budget=trials)
            seconds = time.perf_counter() - start
    finally:
        if engine is not None:
            engine.dispose()
        if url is not None:
            _delete(url, name)
    writes = collections.Counter({k: v for k, v in counter.items() if not k.startswith("sql:")})
    return StorageRun("memory" if url is None else url, trials, seconds, writes, counter["sql:commit"],
                      counter["sql:statement"])


def postgres_answers(url: str) -> bool:
    import sqlalchemy as sa

    engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001 - any failure means: skip this backend
        return False
    finally:
        engine.dispose()


@contextlib.contextmanager
def per_key_user_attrs() -> Iterator[None]:
    """User attributes written as before qsearch batched them: one storage call (one transaction) per key."""
    from qsearch.record._retry import RetryingRDBStorage

    batched = RetryingRDBStorage.__dict__["set_trial_user_attrs"]
    del RetryingRDBStorage.set_trial_user_attrs  # set_user_attrs then calls trial.set_user_attr per key
    try:
        yield
    finally:
        RetryingRDBStorage.set_trial_user_attrs = batched


def measure_storage(study_path: Path, trials: int, pg_url: str | None) -> dict[str, StorageRun]:
    """Every backend on a fresh study; the SQL ones also with one transaction per user attribute (``per key``),
    each right after its batched run so that both see the same load."""
    sf = synthetic_study(study_path)
    runs: dict[str, StorageRun] = {}
    with tempfile.TemporaryDirectory(prefix="qsearch-storage-") as folder:
        backends: dict[str, str | None] = {"memory": None, "journal": f"journal:{Path(folder) / 'study.journal'}",
                                           "sqlite": f"sqlite:///{Path(folder) / 'study.db'}"}
        if pg_url and postgres_answers(pg_url):
            backends["postgresql"] = pg_url
        elif pg_url:
            print(f"  postgresql: skipped ({pg_url} does not answer)")
        for backend, url in backends.items():
            runs[backend] = run_synthetic(sf, url, trials)
            if backend in ("sqlite", "postgresql"):
                with per_key_user_attrs():
                    other = url.replace("study.db", "per-key.db")
                    runs[f"{backend} (per key)"] = run_synthetic(sf, other, trials)
    return runs


def report_storage(runs: dict[str, StorageRun]) -> None:
    memory = runs["memory"].ms_per_trial
    for backend, r in runs.items():
        writes = sum(r.writes.values())
        detail = ", ".join(f"{k} {r.per_trial(v):.1f}" for k, v in sorted(r.writes.items()))
        sql = (f"; SQL commits/trial {r.per_trial(r.commits):.1f}, statements/trial {r.per_trial(r.statements):.1f}"
               if r.statements else "")
        print(f"{backend:>21}: {r.ms_per_trial:6.1f} ms/trial ({r.trials} synthetic trials, "
              f"{r.ms_per_trial - memory:+.1f} ms vs in-memory); storage writes/trial {r.per_trial(writes):.1f} "
              f"({detail}){sql}")
    for backend, r in runs.items():
        key = backend.replace(" (per key)", "_per_key")
        print(f"storage_ms_per_trial_{key}: {r.ms_per_trial:.1f}")
        if backend != "memory":
            print(f"storage_overhead_ms_{key}: {r.ms_per_trial - memory:.1f}")
    for backend in ("sqlite", "postgresql"):
        if backend in runs:
            batched, per_key = runs[backend], runs[f"{backend} (per key)"]
            print(f"speedup_batched_attrs_{backend}: {per_key.ms_per_trial / batched.ms_per_trial:.2f} "
                  f"(SQL commits/trial {per_key.per_trial(per_key.commits):.1f} -> "
                  f"{batched.per_trial(batched.commits):.1f})")
    r = runs["memory"]
    print(f"storage_writes_per_trial: {r.per_trial(sum(r.writes.values())):.1f}")
    if "sqlite" in runs:
        r = runs["sqlite"]
        print(f"storage_transactions_per_trial_sqlite: {r.per_trial(sum(r.writes.values())):.1f}")


def check_epoch_writes(study_path: Path, trials: int) -> bool:
    """Whether a trial's storage writes are the same with 1 and with 20 epochs (no per-epoch writes)."""
    per_trial = {}
    for epochs in (1, 20):
        run = run_synthetic(synthetic_study(study_path, epochs=epochs, qat_epochs=epochs), None, trials)
        per_trial[epochs] = run.per_trial(sum(run.writes.values()))
    same = per_trial[1] == per_trial[20]
    print(f"storage writes/trial with 1 epoch: {per_trial[1]:.2f}, with 20 epochs: {per_trial[20]:.2f} -> "
          f"{'no per-epoch writes' if same else 'PER-EPOCH WRITES'}")
    print(f"per_epoch_storage_writes: {0 if same else (per_trial[20] - per_trial[1]) / 19:.2f}")
    return same


# ---------------------------------------------------------------------------------------------- main


def load_line() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "load average unknown"
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", type=Path, default=DEFAULT_STUDY)
    parser.add_argument("--total-trials", "--n-trials", dest="total", type=int, default=60,
                        help="finished trials per layout (each on a fresh study; the float baseline included)")
    parser.add_argument("--layouts", nargs="+", default=["1x1", "1xC", "Cx1"],
                        help="PROCESSESxTHREADS (C = usable cores) or auto; 1x1 is the reference")
    parser.add_argument("--storage", default="journal",
                        help="storage of the layout runs: journal (a temporary file) or an RDB URL")
    parser.add_argument("--rounds", type=int, default=1,
                        help="repeat the layouts round-robin, round r with the study's seeds + r; pooled")
    parser.add_argument("--storage-trials", type=int, default=100, help="synthetic trials per storage backend")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL, help="PostgreSQL for the storage overhead ('' skips)")
    parser.add_argument("--skip-layouts", action="store_true")
    parser.add_argument("--skip-storage", action="store_true")
    args = parser.parse_args()
    from qsearch.execution._launch import available_cores

    cores = available_cores()  # the C of --workers auto (affinity, capped by a cgroup CPU quota)
    layouts = unique_layouts([parse_layout(token, cores) for token in args.layouts])
    print(f"{cores} usable cores, {os.cpu_count()} CPUs, {load_line()}")
    ok = True
    if not args.skip_layouts:
        print(f"== layouts: {args.study.name}, {args.total} finished trials each, storage {args.storage}, "
              f"{args.rounds} round(s)", flush=True)
        report_layouts(measure_layouts(layouts, args.study, args.storage, args.total, args.rounds), cores)
        print(load_line())
    if not args.skip_storage:
        print(f"== storage overhead: synthetic trials of {args.study.name}, {args.storage_trials} per backend",
              flush=True)
        report_storage(measure_storage(args.study, args.storage_trials, args.pg_url or None))
        ok = check_epoch_writes(args.study, min(args.storage_trials, 40))
        print(load_line())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
