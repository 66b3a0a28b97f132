"""The exact trial count with racing workers, made deterministic: workers simulated with ask/tell in one process."""

from __future__ import annotations

import warnings

import optuna
import pytest
from optuna.trial import TrialState

from qsearch.execution import QUOTA_REASON, check_parallel_storage
from qsearch.execution._launch import default_threads, default_worker_count, launch_environment, worker_command
from qsearch.execution._workers import QuotaFull, TrialQuota, optimize_exactly
from qsearch.record import RetryPolicy, StorageError
from qsearch.search._samplers import sampler_seed


def _study_with_finished(n: int) -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study()
    for _ in range(n):
        trial = study.ask()
        study.tell(trial, 1.0)
    return study


def _objective(trial: optuna.Trial) -> float:
    return trial.suggest_float("x", 0, 1)


def test_max_trials_callback_alone_overshoots_by_the_racing_workers():
    """What the guard fixes: two workers start trials with N-1 finished; both finish -> N+1."""
    study = _study_with_finished(4)
    a, b = study.ask(), study.ask()
    study.tell(a, 1.0)
    study.tell(b, 1.0)
    assert len(study.get_trials(states=(TrialState.COMPLETE,))) == 6  # asked for 5


def test_guard_lets_exactly_the_lower_numbered_racer_run():
    study = _study_with_finished(4)
    quota = TrialQuota(target=5)
    guarded = quota.guard(_objective)
    a, b = study.ask(), study.ask()  # both workers passed their check before either trial started
    assert isinstance(guarded(a), float)
    with pytest.raises(QuotaFull):
        guarded(b)
    assert b.user_attrs["reason"] == QUOTA_REASON and not b.params
    assert quota.started == 1 and quota.turned_away == 1


def test_failed_trials_free_their_slot_for_a_later_one():
    study = _study_with_finished(4)
    quota = TrialQuota(target=5)
    a, b = study.ask(), study.ask()
    study.tell(a, state=TrialState.FAIL)  # a dies: FAIL holds no slot (a retry copy would be a new trial)
    assert quota.may_run(b)


def test_waiting_copies_hold_a_slot_and_are_run_before_new_trials():
    study = _study_with_finished(3)
    study.enqueue_trial({"x": 0.5})  # e.g. the retry copy of a killed worker's trial
    quota = TrialQuota(target=5, budget=10)
    assert quota.wait_for_slot(study) is True
    first = study.ask()  # pops the waiting copy
    assert first.suggest_float("x", 0, 1) == 0.5 and quota.may_run(first)
    second = study.ask()
    assert quota.may_run(second)  # 3 finished + 1 running below it
    third = study.ask()
    assert not quota.may_run(third)


def test_wait_for_slot_stops_at_target_budget_or_deadline():
    study = _study_with_finished(5)
    assert TrialQuota(target=5).wait_for_slot(study) is False
    assert TrialQuota(target=9).wait_for_slot(study) is True
    budget_spent = TrialQuota(target=9, budget=2)
    budget_spent.started = 2
    assert budget_spent.wait_for_slot(study) is False
    assert TrialQuota(target=9, deadline=0.0).wait_for_slot(study) is False


def test_all_slots_held_without_heartbeats_stops_instead_of_waiting_for_ever():
    study = _study_with_finished(4)
    study.ask()  # held by another worker; without heartbeats nobody could tell if it died
    assert TrialQuota(target=5).wait_for_slot(study) is False


def test_optimize_exactly_counts_to_the_target_and_keeps_the_callbacks():
    study = _study_with_finished(2)
    seen: list[int] = []
    quota = optimize_exactly(study, _objective, target=7, budget=10, callbacks=[lambda s, t: seen.append(t.number)])
    assert len(study.get_trials(states=(TrialState.COMPLETE,))) == 7
    assert quota.started == 5 and seen == [2, 3, 4, 5, 6]


def test_optimize_exactly_budget_counts_failing_trials():
    study = _study_with_finished(0)

    def broken(trial: optuna.Trial) -> float:
        raise RuntimeError("diverged")

    quota = optimize_exactly(study, broken, target=5, budget=3)
    assert quota.started == 3 and [t.state for t in study.trials] == [TrialState.FAIL] * 3


def test_sqlite_refuses_parallel_workers_in_one_line():
    check_parallel_storage("sqlite:///x.db", 1)
    check_parallel_storage("postgresql://u@h/db", 8)
    check_parallel_storage("journal:study.log", 8)
    with pytest.raises(StorageError) as error:
        check_parallel_storage("sqlite:///x.db", 2)
    message = str(error.value)
    assert "\n" not in message and "PostgreSQL" in message and "journal:FILE" in message


def test_thread_and_worker_defaults():
    assert default_worker_count(8) == 8 and default_worker_count(0) == 1
    assert default_threads(4, cores=8) == 2 and default_threads(16, cores=8) == 1


def test_worker_seeds_differ_per_worker_and_keep_worker_zero():
    def seed(env: dict, file_seed: int | None = 7) -> int | None:
        return sampler_seed(file_seed, launch_environment(env).seed_offset())

    assert seed({}) == 7 and seed({}, None) is None
    assert seed({"QSEARCH_WORKER_INDEX": "0"}) == 7
    assert seed({"QSEARCH_WORKER_INDEX": "3"}) == 10
    assert 0 <= seed({"QSEARCH_WORKER_INDEX": "auto"}) < 2**32


def test_worker_command_is_a_valid_qsearch_run(tmp_path):
    import typer

    from qsearch.cli import app

    command = worker_command(tmp_path / "s.yaml", "postgresql://u@h/db", "s", 20, timeout=60.0,
                             heartbeat_interval=5, grace_period=20, python="python", threads=2)
    assert command[:3] == ["python", "-m", "qsearch.cli"]
    group = typer.main.get_command(app)
    ctx = group.make_context("qsearch", command[3:])
    sub = group.get_command(ctx, command[3])
    params = sub.make_context(command[3], command[4:], parent=ctx).params
    assert params["total_trials"] == 20 and params["quiet"] and params["report"] is False
    assert params["heartbeat_interval"] == 5 and params["grace_period"] == 20 and params["threads"] == 2


def test_worker_goes_on_when_another_worker_failed_its_trial_as_dead():
    """A trial whose heartbeat stalled is failed (and re-enqueued) by another worker while it still runs;
    Optuna then cannot record it and ``optimize`` raises. The worker carries on with the next trial."""
    study = _study_with_finished(0)

    def declared_dead_once(trial: optuna.Trial) -> float:
        if trial.number == 1:
            study._storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL)
        return trial.suggest_float("x", 0, 1)

    quota = optimize_exactly(study, declared_dead_once, target=4, budget=10,
                             policy=RetryPolicy(attempts=3, initial_s=0.01, max_wait_s=0.02))
    assert quota.lost == 1
    assert [t.state for t in study.trials].count(TrialState.COMPLETE) == 4
    assert study.trials[1].state == TrialState.FAIL


def test_heartbeats_survive_a_transient_error(tmp_path, monkeypatch):
    import sqlalchemy as sa

    from qsearch.record._retry import HEARTBEAT_POLICY, RetryingRDBStorage

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # heartbeat arguments
        storage = RetryingRDBStorage(f"sqlite:///{tmp_path / 'hb.db'}", heartbeat_interval=1, grace_period=2)
    calls = []

    def flaky(self, trial_id: int) -> None:
        calls.append(trial_id)
        if len(calls) < 3:
            raise sa.exc.OperationalError("UPDATE", {}, Exception("database is locked"))

    monkeypatch.setattr(optuna.storages.RDBStorage, "record_heartbeat", flaky)
    monkeypatch.setattr("qsearch.record._retry.HEARTBEAT_POLICY",
                        RetryPolicy(attempts=HEARTBEAT_POLICY.attempts, initial_s=0.01, max_wait_s=0.02))
    storage.record_heartbeat(7)
    assert calls == [7, 7, 7]
