"""Every Optuna internal qsearch uses, pinned against the installed Optuna; a missing one fails loudly."""

from __future__ import annotations

import logging

import optuna
import pytest

from qsearch.record import make_storage, set_user_attrs
from qsearch.record import optuna_compat as compat


@pytest.fixture
def rdb_study(tmp_path):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(study_name="c", storage=make_storage(f"sqlite:///{tmp_path / 'c.db'}",
                                                                    heartbeat_interval=None))


def test_every_internal_exists_on_this_optuna():
    compat.check_all()


def test_storage_trial_id_and_cached_trial_are_the_live_ones(rdb_study):
    trial = rdb_study.ask()
    storage = compat.study_storage(rdb_study)
    assert storage.get_trial(compat.trial_id(trial)).number == trial.number
    assert compat.cached_frozen_trial(trial).number == trial.number
    assert isinstance(compat.rdb_backend(storage), optuna.storages.RDBStorage)
    assert compat.rdb_backend(optuna.storages.InMemoryStorage()) is None


def test_frozen_trial_id_addresses_a_finished_trial(rdb_study):
    rdb_study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    finished = rdb_study.trials[1]
    storage = compat.study_storage(rdb_study)
    assert storage.get_trial(compat.frozen_trial_id(finished)).number == 1
    assert optuna.Trial(rdb_study, compat.frozen_trial_id(finished)).number == 1
    assert storage.get_study_id_from_name(rdb_study.study_name) == compat.study_id(rdb_study)


def test_user_attrs_in_one_transaction_are_read_back(rdb_study):
    trial = rdb_study.ask()
    set_user_attrs(trial, {"a": 1, "b": [2, 3]})
    assert trial.user_attrs["a"] == 1  # the cached trial was updated too
    assert rdb_study.trials[0].user_attrs == {"a": 1, "b": [2, 3]}  # and the database


def test_stop_flag_is_seen_inside_optimize(rdb_study):
    seen = []

    def objective(trial: optuna.Trial) -> float:
        seen.append(compat.stop_requested(rdb_study))
        rdb_study.stop()
        seen.append(compat.stop_requested(rdb_study))
        return 0.0

    rdb_study.optimize(objective, n_trials=3)
    assert seen == [False, True]


def test_failed_trial_message_matches_optunas_text(caplog):
    study = optuna.create_study()
    with caplog.at_level(logging.WARNING, logger=compat.OPTIMIZE_LOGGER):
        study.optimize(lambda t: None, n_trials=1)  # type: ignore[arg-type,return-value]
    messages = [r.getMessage() for r in caplog.records if r.name == compat.OPTIMIZE_LOGGER]
    assert any(compat.FAILED_WITHOUT_VALUE.fullmatch(m) for m in messages), messages


def test_a_missing_internal_names_the_optuna_version_and_the_internal(rdb_study, monkeypatch):
    monkeypatch.delattr(optuna.storages.RDBStorage, "_set_trial_attr_without_commit")
    trial = rdb_study.ask()
    with pytest.raises(compat.OptunaInternalMissing) as error:
        set_user_attrs(trial, {"a": 1})
    message = str(error.value)
    assert f"optuna {optuna.__version__}" in message and "_set_trial_attr_without_commit" in message
    with pytest.raises(compat.OptunaInternalMissing, match="_stop_flag"):
        compat.stop_requested(object())  # type: ignore[arg-type]
