"""Ctrl-C and SIGTERM stop ``qsearch run`` cleanly (real processes, real signals): exit 130/143 with one line,
no trial left RUNNING, the interrupted trial re-queued with its parameters — the float baseline above all —
and run first by the next ``qsearch run``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from distributed_helpers import POSTGRES_URL, write_study
from optuna.trial import TrialState

from qsearch.record import make_storage
from qsearch.results import engine_for, load_results
from qsearch.search import BASELINE_ATTR

SLEEP_S = 4.0  # each synthetic trial: long enough to land a signal inside it


def _run(study: Path, url: str, name: str, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, (str(Path(__file__).parents[2]), os.environ.get("PYTHONPATH"))))}
    return subprocess.Popen([sys.executable, "-m", "qsearch.cli", "run", str(study), "--storage", url,
                             "--study-name", name, "--quiet", "--no-report", "--workers", "1", *extra],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _study(url: str, name: str) -> optuna.Study | None:
    try:
        return optuna.load_study(study_name=name, storage=make_storage(url, heartbeat_interval=None,
                                                                       read_only=True))
    except Exception:  # noqa: BLE001 - not created yet
        return None


def _wait_running(url: str, name: str, process: subprocess.Popen, baseline: bool, timeout_s: float = 90) -> int:
    """The number of the first RUNNING trial of the wanted kind (baseline or not) once it has run a moment."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        study = _study(url, name)
        for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)) if study else []:
            if bool(t.user_attrs.get(BASELINE_ATTR)) == baseline:
                time.sleep(0.5)
                return t.number
        time.sleep(0.2)
    raise AssertionError("no trial started in time")


def _interrupt(url: str, name: str, study: Path, baseline: bool, signum: int) -> int:
    process = _run(study, url, name, "--n-trials", "3")
    number = _wait_running(url, name, process, baseline)
    process.send_signal(signum)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 128 + signum, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"qsearch: error: interrupted by {signal.Signals(signum).name}"), err
    return number


def _check_requeued(url: str, name: str, number: int, baseline: bool) -> None:
    trials = {t.number: t for t in _study(url, name).get_trials(deepcopy=True)}
    stopped = trials[number]
    assert stopped.state == TrialState.FAIL and stopped.user_attrs["reason"] == "interrupted"
    assert not [t for t in trials.values() if t.state == TrialState.RUNNING]
    copies = [t for t in trials.values() if t.state == TrialState.WAITING]
    assert len(copies) == 1 and copies[0].system_attrs["fixed_params"] == stopped.params
    assert bool(copies[0].user_attrs.get(BASELINE_ATTR)) == baseline


def _continue_and_check(url: str, name: str, study: Path) -> None:
    process = _run(study, url, name, "--n-trials", "2")
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    trials = _study(url, name).get_trials(deepcopy=False)
    assert not [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    baselines = [t for t in trials if t.user_attrs.get(BASELINE_ATTR) and t.state == TrialState.COMPLETE]
    assert len(baselines) == 1
    if url.startswith(("sqlite", "postgresql")):
        engine = engine_for(url)
        try:
            rows = load_results(engine, name)
        finally:
            engine.dispose()
        assert rows and all(r["accuracy_drop"] is not None for r in rows if not r["is_baseline"])


@pytest.mark.parametrize("baseline", [True, pytest.param(False, marks=pytest.mark.slow)],
                         ids=["baseline", "later-trial"])
def test_sigint_on_sqlite_stops_requeues_and_the_next_run_repeats_it(tmp_path, baseline):
    url, name = f"sqlite:///{tmp_path / 'int.db'}", "int"
    number = _interrupt(url, name, write_study(tmp_path, sleep_s=SLEEP_S), baseline, signal.SIGINT)
    _check_requeued(url, name, number, baseline)
    _continue_and_check(url, name, write_study(tmp_path, sleep_s=0.0))


@pytest.mark.services
@pytest.mark.parametrize(("baseline", "signum"), [pytest.param(True, signal.SIGINT, marks=pytest.mark.slow),
                                                  (False, signal.SIGTERM)],
                         ids=["baseline-sigint", "later-trial-sigterm"])
def test_signal_on_postgresql_stops_requeues_and_the_next_run_repeats_it(tmp_path, study_name_on, baseline,
                                                                          signum):
    name = study_name_on(POSTGRES_URL, "interrupt")
    number = _interrupt(POSTGRES_URL, name, write_study(tmp_path, sleep_s=SLEEP_S), baseline, signum)
    _check_requeued(POSTGRES_URL, name, number, baseline)
    _continue_and_check(POSTGRES_URL, name, write_study(tmp_path, sleep_s=0.0))


@pytest.mark.services
@pytest.mark.slow
def test_sigint_to_a_parent_with_workers_stops_every_worker(tmp_path, study_name_on):
    name = study_name_on(POSTGRES_URL, "interrupt-workers")
    write_study(tmp_path, sleep_s=SLEEP_S)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, (str(Path(__file__).parents[2]), os.environ.get("PYTHONPATH"))))}
    parent = subprocess.Popen([sys.executable, "-m", "qsearch.cli", "run", str(tmp_path / "synthetic.yaml"),
                               "--storage", POSTGRES_URL, "--study-name", name, "--quiet", "--no-report",
                               "--workers", "2", "--n-trials", "6"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        study = _study(POSTGRES_URL, name)
        if study and len(study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))) == 2:
            break
        assert parent.poll() is None, parent.communicate()
        time.sleep(0.2)
    else:
        raise AssertionError("the two workers did not start trials in time")
    parent.send_signal(signal.SIGINT)
    _, err = parent.communicate(timeout=60)
    assert parent.returncode == 130, err
    assert err.strip().splitlines() == [err.strip()] and "interrupted by SIGINT" in err
    trials = _study(POSTGRES_URL, name).get_trials(deepcopy=False)
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    interrupted = [t for t in trials if t.user_attrs.get("reason") == "interrupted"]
    assert len(interrupted) == 2
    assert len([t for t in trials if t.state == TrialState.WAITING]) == 2
