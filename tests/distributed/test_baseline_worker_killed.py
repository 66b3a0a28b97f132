"""The worker running the float baseline is SIGKILLed while another worker waits for the baseline's accuracy:
the survivor fails the stale baseline (heartbeat), runs it itself and completes the study within the grace
period plus a trial — not after an hour's wait — with every accuracy drop filled in."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import optuna
import pytest
from distributed_helpers import POSTGRES_URL, write_study
from optuna.trial import TrialState

from qsearch.execution._launch import worker_command, worker_env
from qsearch.results import engine_for, load_results
from qsearch.search import BASELINE_ATTR, open_study
from qsearch.studyfile import load_study_file

TOTAL = 2  # the baseline and one trial
SLEEP_S = 20.0  # longer than a worker's start-up on a loaded machine: the baseline still runs when it is killed
HEARTBEAT_S, GRACE_S = 1, 3


def _running(study: optuna.Study, baseline: bool) -> bool:
    return any(bool(t.user_attrs.get(BASELINE_ATTR)) == baseline
               for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)))


@pytest.mark.services
@pytest.mark.slow  # three 20 s trials
def test_survivor_reruns_a_killed_workers_baseline(tmp_path, study_name_on):
    name = study_name_on(POSTGRES_URL, "baseline-killed")
    path = write_study(tmp_path, sleep_s=SLEEP_S)
    study = open_study(load_study_file(path), POSTGRES_URL, name, heartbeat_interval=HEARTBEAT_S,
                       grace_period=GRACE_S)
    command = worker_command(path, POSTGRES_URL, name, TOTAL, timeout=300, heartbeat_interval=HEARTBEAT_S,
                             grace_period=GRACE_S)
    victim = subprocess.Popen(command, env=worker_env(0, 1))
    survivor = None
    try:
        deadline = time.monotonic() + 120
        while not _running(study, baseline=True):
            assert time.monotonic() < deadline and victim.poll() is None, "the baseline did not start"
            time.sleep(0.1)
        survivor = subprocess.Popen(command, env=worker_env(1, 1))
        while not _running(study, baseline=False):
            assert time.monotonic() < deadline and survivor.poll() is None, "the survivor did not start a trial"
            time.sleep(0.1)
    finally:
        os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=10)
    killed_at = time.monotonic()
    # the survivor's trial ends, waits for the stale baseline (grace), yields, reruns it and its own trial
    try:
        code = survivor.wait(timeout=GRACE_S + 4 * SLEEP_S + 30)
    except subprocess.TimeoutExpired:
        survivor.kill()
        raise AssertionError([(t.number, t.state.name, t.user_attrs.get("reason"),
                               bool(t.user_attrs.get(BASELINE_ATTR)))
                              for t in study.get_trials(deepcopy=False)]) from None
    assert code == 0
    elapsed = time.monotonic() - killed_at

    trials = study.get_trials(deepcopy=False)
    states = [t.state for t in trials]
    assert states.count(TrialState.COMPLETE) == TOTAL, (states, elapsed)
    assert TrialState.RUNNING not in states and TrialState.WAITING not in states
    baselines = [t for t in trials if t.user_attrs.get(BASELINE_ATTR) and t.state == TrialState.COMPLETE]
    assert len(baselines) == 1
    engine = engine_for(POSTGRES_URL)
    try:
        rows = load_results(engine, name)
    finally:
        engine.dispose()
    assert len(rows) == TOTAL and all(r["accuracy_drop"] is not None for r in rows if not r["is_baseline"])
