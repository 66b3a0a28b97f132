"""A worker SIGKILLed in the middle of a trial: the trial is failed by heartbeat, retried with the same
parameters by another worker, and the study still ends with exactly the requested number of trials."""

from __future__ import annotations

import collections
import datetime as dt
import os
import signal
import subprocess
import time
import warnings

import optuna
import pytest
from distributed_helpers import POSTGRES_URL, write_study
from optuna.trial import TrialState

from qsearch.execution._launch import worker_command, worker_env
from qsearch.record import make_storage
from qsearch.results import engine_for, load_results
from qsearch.search import BASELINE_ATTR, open_study
from qsearch.studyfile import load_study_file

TOTAL = 4
SLEEP_S = 1.5  # each synthetic trial
HEARTBEAT_S, GRACE_S = 1, 3


def _wait_for_running_trial(study: optuna.Study, process: subprocess.Popen,
                            deadline: float) -> optuna.trial.FrozenTrial:
    """A non-baseline trial whose sampling has finished (its ``config`` attribute is written right after the
    last suggestion), so the kill lands in the trial body and the snapshot holds every parameter."""
    while time.monotonic() < deadline:
        assert process.poll() is None, "the worker ended before it ran a trial"
        now = dt.datetime.now()
        for t in study.get_trials(deepcopy=True, states=(TrialState.RUNNING,)):
            sampled = "config" in t.user_attrs
            if not t.user_attrs.get(BASELINE_ATTR) and sampled and (now - t.datetime_start).total_seconds() > 0.3:
                return t
        time.sleep(0.1)
    raise AssertionError("no trial started in time")


@pytest.mark.services
def test_killed_worker_trial_is_failed_retried_and_study_completes(tmp_path, study_name_on):
    url = POSTGRES_URL
    name = study_name_on(url, "killed")
    study_path = write_study(tmp_path, sleep_s=SLEEP_S)
    study = open_study(load_study_file(study_path), url, name, heartbeat_interval=HEARTBEAT_S, grace_period=GRACE_S)
    command = worker_command(study_path, url, name, TOTAL, timeout=120, heartbeat_interval=HEARTBEAT_S,
                             grace_period=GRACE_S)

    victim = subprocess.Popen(command, env=worker_env(0, 1))
    try:
        killed = _wait_for_running_trial(study, victim, time.monotonic() + 60)
    finally:
        os.kill(victim.pid, signal.SIGKILL)
    assert victim.wait(timeout=10) == -signal.SIGKILL

    survivors = [subprocess.Popen(command, env=worker_env(i, 1)) for i in (1, 2)]
    codes = [p.wait(timeout=90) for p in survivors]
    assert codes == [0, 0]

    trials = {t.number: t for t in study.get_trials(deepcopy=True)}
    assert trials[killed.number].state == TrialState.FAIL
    retries = [t for t in trials.values() if t.system_attrs.get("failed_trial") == killed.number]
    assert len(retries) == 1
    retry = retries[0]
    assert retry.params == killed.params and retry.state == TrialState.COMPLETE
    states = collections.Counter(t.state for t in trials.values())
    assert states[TrialState.COMPLETE] == TOTAL and states[TrialState.RUNNING] == 0
    assert states[TrialState.WAITING] == 0

    engine = engine_for(url)
    try:
        rows = {r["trial_number"]: r for r in load_results(engine, name)}
    finally:
        engine.dispose()
    assert killed.number not in rows  # it never finished: no results row
    assert rows[retry.number]["state"] == "COMPLETE"
    assert sorted(rows) == sorted(n for n, t in trials.items() if t.state == TrialState.COMPLETE)


def test_dead_worker_frees_its_slot_for_a_waiting_worker(tmp_path):
    """Unit level (SQLite, one process): all slots held, one by a trial whose heartbeat stopped ->
    ``wait_for_slot`` fails it, the retry callback re-enqueues it, and the slot is free again."""
    from qsearch.execution._workers import TrialQuota

    storage = make_storage(f"sqlite:///{tmp_path / 'slots.db'}", heartbeat_interval=1, grace_period=2)
    study = optuna.create_study(storage=storage, study_name="slots")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "heartbeat is supposed to be used with optimize"
        dead = study.ask()
    dead.suggest_int("x", 0, 9)
    storage.record_heartbeat(dead._trial_id)  # the worker ran one heartbeat, then was killed
    quota = TrialQuota(target=1, poll_s=0.2, deadline=time.monotonic() + 20)
    started = time.monotonic()
    assert quota.wait_for_slot(study) is True
    assert time.monotonic() - started >= 1.5  # it waited for the grace period, then freed the slot
    states = [t.state for t in study.get_trials(deepcopy=False)]
    assert states == [TrialState.FAIL, TrialState.WAITING]
