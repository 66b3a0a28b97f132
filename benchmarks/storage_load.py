"""Benchmark: many concurrent workers on one PostgreSQL study — trials per second and the exact-count check.

Every worker runs the real search path — ``open_study``, the ``Objective`` (sampling, user attributes,
constraints, the results-table row) and ``optimize_exactly`` (the exact shared trial count) — with the
synthetic trial runner (``qsearch.trial._synthetic``) in place of training, so what is measured is the
storage: Optuna's tables, the results table, the sampler reading the study. Two set-ups:

- ``direct``: every worker talks to PostgreSQL (``--url``), with heartbeats (as ``qsearch run`` does);
- ``grpc``: every worker talks to Optuna's gRPC proxy (``optuna.storages.run_grpc_proxy_server`` in its own
  process on a loopback port), which alone talks to PostgreSQL. The proxy has no heartbeats (a killed
  worker's trial is never failed), and qsearch writes no results rows through it, so here the workers write
  their rows straight to PostgreSQL, as in ``direct``.

For each set-up it prints the trials per second from the moment all workers are ready to the last finished
trial (``overall``) and over the middle 80 % of finished trials (``sustained``: no start-up or tail), the most
PostgreSQL connections open at once, and the count check: requested == COMPLETE, each trial number once, one
results row per complete trial. Workers are forked from a server process that imported qsearch once (so 32 of
them start in seconds, not minutes of torch imports). Exit code 1 if any check fails.

    .venv/bin/python benchmarks/storage_load.py --workers 32 --trials 640
    .venv/bin/python benchmarks/storage_load.py --workers 8 --trials 80 --modes direct grpc
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import multiprocessing as mp
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def study_spec(sleep_s: float, sampler: str) -> dict:
    return {"name": "storage-load", "n_trials": 10, "trial_runner": "synthetic", "synthetic_sleep_s": sleep_s,
            "model": {"hidden": [128]}, "training": {"epochs": 2, "qat_epochs": 1},
            "sampler": {"kind": sampler, "seed": 0, "population_size": 16}}


def tagged(url: str, tag: str) -> str:
    """The URL with a libpq application_name, to count this run's connections in pg_stat_activity."""
    return f"{url}{'&' if '?' in url else '?'}application_name={tag}"


def _worker(index: int, study_url: str, results_url: str, name: str, total: int, spec: dict,
            heartbeat: int | None, ready, go) -> None:
    os.environ["QSEARCH_WORKER_INDEX"] = str(index)
    import warnings

    import optuna

    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # the gRPC proxy client

    from qsearch.execution._workers import optimize_exactly
    from qsearch.results import engine_for, ensure_table
    from qsearch.search import Objective, open_study
    from qsearch.studyfile import parse_study
    from qsearch.trial import runner_for

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sf = parse_study(spec)
    study = open_study(sf, study_url, name, heartbeat_interval=heartbeat,
                       grace_period=None if heartbeat is None else 4 * heartbeat)
    engine = engine_for(results_url)
    ensure_table(engine)
    objective = Objective(sf, name, engine, runner=runner_for(sf))
    ready.release()
    go.wait()
    optimize_exactly(study, objective, total, budget=total)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_proxy(url: str) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    code = ("import warnings, optuna; from qsearch.search import make_storage;"
            "warnings.simplefilter('ignore', optuna.exceptions.ExperimentalWarning);"
            "optuna.logging.set_verbosity(optuna.logging.WARNING);"
            f"optuna.storages.run_grpc_proxy_server(make_storage({url!r}, heartbeat_interval=None), "
            f"host='127.0.0.1', port={port})")
    proxy = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proxy, f"grpc://127.0.0.1:{port}"
        except OSError:
            if proxy.poll() is not None:
                raise RuntimeError("the gRPC proxy exited") from None
            time.sleep(0.2)
    proxy.kill()
    raise RuntimeError("the gRPC proxy did not start")


class ConnectionCounter(threading.Thread):
    """Samples how many PostgreSQL connections carry this run's application_name."""

    def __init__(self, url: str, tag: str) -> None:
        super().__init__(daemon=True)
        import sqlalchemy as sa

        self.engine = sa.create_engine(url)
        self.query = sa.text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :tag")
        self.tag, self.peak, self.stop = tag, 0, threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.25):
            with self.engine.connect() as c:
                self.peak = max(self.peak, int(c.execute(self.query, {"tag": self.tag}).scalar()))

    def close(self) -> int:
        self.stop.set()
        self.join()
        self.engine.dispose()
        return self.peak


def run_mode(mode: str, url: str, workers: int, trials: int, spec: dict, ctx) -> dict:
    import optuna
    from optuna.trial import TrialState

    from qsearch.record import delete_study, make_storage
    from qsearch.results import engine_for, load_results
    from qsearch.search import open_study
    from qsearch.studyfile import parse_study

    tag = f"qsearch-bench-{uuid.uuid4().hex[:8]}"
    pg_url = tagged(url, tag)
    name = f"storage-load-{mode}-{uuid.uuid4().hex[:8]}"
    proxy = None
    study_url = pg_url
    if mode == "grpc":
        proxy, study_url = start_proxy(pg_url)
    counter = ConnectionCounter(url, tag)
    counter.start()
    try:
        open_study(parse_study(spec), study_url, name, heartbeat_interval=None)  # the parent creates it first
        ready, go = ctx.Semaphore(0), ctx.Event()
        heartbeat = 10 if mode == "direct" else None
        processes = [ctx.Process(target=_worker, args=(i, study_url, pg_url, name, trials, spec, heartbeat, ready, go))
                     for i in range(workers)]
        for p in processes:
            p.start()
        for _ in processes:
            ready.acquire()
        started = dt.datetime.now()
        go.set()
        for p in processes:
            p.join()
        codes = [p.exitcode for p in processes]
        peak = counter.close()

        study = optuna.load_study(study_name=name, storage=make_storage(url, heartbeat_interval=None))
        all_trials = study.get_trials(deepcopy=False)
        states = collections.Counter(t.state for t in all_trials)
        numbers = [t.number for t in all_trials]
        complete = sorted(t.datetime_complete for t in all_trials if t.state == TrialState.COMPLETE)
        engine = engine_for(url)
        rows = [r["trial_number"] for r in load_results(engine, name)]
        engine.dispose()
        span = (complete[-1] - started).total_seconds() if complete else float("nan")
        lo, hi = complete[len(complete) // 10], complete[(9 * len(complete)) // 10 - 1]
        middle = (9 * len(complete)) // 10 - len(complete) // 10
        sustained = middle / max((hi - lo).total_seconds(), 1e-9)
        checks = {
            "workers exited 0": all(c == 0 for c in codes),
            "requested == COMPLETE": states[TrialState.COMPLETE] == trials,
            "no RUNNING/WAITING left": states[TrialState.RUNNING] == states[TrialState.WAITING] == 0,
            "trial numbers unique": len(numbers) == len(set(numbers)),
            "one results row per COMPLETE trial": sorted(rows) == sorted(
                t.number for t in all_trials if t.state == TrialState.COMPLETE),
        }
        return {"mode": mode, "workers": workers, "requested": trials, "complete": states[TrialState.COMPLETE],
                "turned_away": states[TrialState.FAIL], "overall_tps": len(complete) / span,
                "sustained_tps": sustained, "seconds": span, "peak_connections": peak, "checks": checks}
    finally:
        if counter.is_alive():
            counter.close()
        if proxy is not None:
            proxy.terminate()
            proxy.wait(timeout=10)
        delete_study(url, name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=32)
    parser.add_argument("--trials", type=int, default=320, help="total trials per set-up (shared by the workers)")
    parser.add_argument("--url", default=DEFAULT_URL, help="PostgreSQL URL (the study is deleted afterwards)")
    parser.add_argument("--modes", nargs="+", choices=["direct", "grpc"], default=["direct", "grpc"])
    parser.add_argument("--sleep-s", type=float, default=0.0, help="seconds each synthetic trial takes")
    parser.add_argument("--sampler", default="nsga2", choices=["nsga2", "tpe", "random"])
    args = parser.parse_args()

    import warnings

    import optuna

    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # the gRPC proxy client
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["qsearch.search", "qsearch.results", "optuna"])
    spec = study_spec(args.sleep_s, args.sampler)
    print(f"{args.workers} workers, {args.trials} trials per set-up, sampler {args.sampler}, "
          f"synthetic trials of {args.sleep_s} s, {os.cpu_count()} cores")
    ok = True
    for mode in args.modes:
        r = run_mode(mode, args.url, args.workers, args.trials, spec, ctx)
        failed = [k for k, v in r["checks"].items() if not v]
        ok = ok and not failed
        print(f"{mode:>6}: {r['overall_tps']:6.1f} trials/s overall, {r['sustained_tps']:6.1f} sustained "
              f"({r['complete']}/{r['requested']} complete in {r['seconds']:.1f} s, {r['turned_away']} turned away "
              f"at the last slots, peak {r['peak_connections']} PostgreSQL connections); "
              f"checks: {'all passed' if not failed else 'FAILED ' + ', '.join(failed)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
