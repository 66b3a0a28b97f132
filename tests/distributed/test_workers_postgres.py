"""Four worker processes on one study: exactly N trials, each number once, one baseline.

On PostgreSQL through ``run_workers`` (the parent creates the study first); on MariaDB as container replicas
start — four ``qsearch run`` processes at once, no parent — so they also race to create the study.
"""

from __future__ import annotations

import collections
import subprocess
import time

import optuna
import pytest
from distributed_helpers import SERVICE_URLS, write_study
from optuna.trial import TrialState

from qsearch.execution import QUOTA_REASON, RunSettings
from qsearch.execution._launch import run_workers, worker_command, worker_env
from qsearch.record import make_storage
from qsearch.results import engine_for, load_results
from qsearch.search import BASELINE_ATTR

WORKERS = 4
TOTAL = 16


@pytest.mark.services
@pytest.mark.parametrize(("backend", "start"), [("postgresql", "run_workers"), ("mariadb", "replicas")])
def test_four_workers_end_with_exactly_the_requested_trials(backend, start, tmp_path, study_name_on):
    url = SERVICE_URLS[backend]
    name = study_name_on(url, f"workers-{backend}")
    study_path = write_study(tmp_path, sleep_s=0.0)

    started = time.monotonic()
    if start == "run_workers":
        result = run_workers(study_path, RunSettings(url, name, n_trials=0, total_trials=TOTAL, timeout=120),
                             workers=WORKERS)
        assert result.code == 0
    else:
        command = worker_command(study_path, url, name, TOTAL, timeout=120)
        replicas = [subprocess.Popen(command, env=worker_env(i, 1)) for i in range(WORKERS)]
        assert [p.wait(timeout=150) for p in replicas] == [0] * WORKERS
    elapsed = time.monotonic() - started

    study = optuna.load_study(study_name=name, storage=make_storage(url, heartbeat_interval=None))
    trials = study.get_trials(deepcopy=False)
    states = collections.Counter(t.state for t in trials)
    assert states[TrialState.COMPLETE] == TOTAL, (states, elapsed)
    assert states[TrialState.RUNNING] == 0 and states[TrialState.WAITING] == 0
    numbers = [t.number for t in trials]
    assert len(numbers) == len(set(numbers)) and sorted(numbers) == list(range(len(numbers)))
    # the only failed trials are the ones turned away at the last slots: nothing sampled, nothing recorded
    for t in trials:
        if t.state == TrialState.FAIL:
            assert t.user_attrs.get("reason") == QUOTA_REASON and not t.params
    assert sum(bool(t.user_attrs.get(BASELINE_ATTR)) for t in trials) == 1

    engine = engine_for(url)
    try:
        rows = load_results(engine, name)
    finally:
        engine.dispose()
    row_numbers = [r["trial_number"] for r in rows]
    assert len(row_numbers) == len(set(row_numbers)) == TOTAL
    assert set(row_numbers) == {t.number for t in trials if t.state == TrialState.COMPLETE}
    assert {r["state"] for r in rows} == {"COMPLETE"}
    # the workers sample differently (per-worker seeds): not four copies of one sequence
    configs = {r["config"]["scheme"] + str(sorted(r["config"].items())) for r in rows if not r["is_baseline"]}
    assert len(configs) > TOTAL // 2
