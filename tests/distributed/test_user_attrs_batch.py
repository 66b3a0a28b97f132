"""A trial's user attributes in one transaction on SQL storages: same attributes, far fewer commits."""

from __future__ import annotations

import optuna
import pytest
from distributed_helpers import synthetic_study_dict
from sqlalchemy import event

from qsearch.execution import run_study
from qsearch.record import make_storage, set_user_attrs
from qsearch.studyfile import parse_study

ATTRS = {f"key_{i}": {"value": i, "list": [i, i + 1]} for i in range(16)} | {"none": None, "text": "w4/4"}


def _commits(engine) -> list[int]:
    seen = [0]

    def count(_connection) -> None:
        seen[0] += 1

    event.listen(engine, "commit", count)
    return seen


def test_attributes_are_one_commit_on_sqlite_and_read_back_alike(tmp_path):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    storage = make_storage(url, heartbeat_interval=None)
    study = optuna.create_study(study_name="batch", storage=storage)
    trial = study.ask()
    commits = _commits(storage.engine)
    set_user_attrs(trial, ATTRS)
    assert commits[0] == 1
    assert trial.user_attrs == ATTRS  # what the running trial sees
    reloaded = optuna.load_study(study_name="batch", storage=make_storage(url, heartbeat_interval=None))
    assert reloaded.trials[0].user_attrs == ATTRS  # what the dashboard and the CLI read


def test_a_finished_trial_refuses_attributes_as_with_set_user_attr(tmp_path):
    storage = make_storage(f"sqlite:///{tmp_path / 'study.db'}", heartbeat_interval=None)
    study = optuna.create_study(storage=storage)
    trial = study.ask()
    study.tell(trial, 1.0)
    with pytest.raises(optuna.exceptions.UpdateFinishedTrialError):
        trial.set_user_attr("late", 1)
    with pytest.raises(optuna.exceptions.UpdateFinishedTrialError):
        set_user_attrs(trial, {"late": 1})


def test_other_storages_get_one_call_per_attribute(tmp_path):
    study = optuna.create_study()  # in memory: no batch method
    trial = study.ask()
    set_user_attrs(trial, ATTRS)
    assert study.trials[0].user_attrs == ATTRS


def test_a_study_on_sqlite_records_what_it_records_on_a_journal_file(tmp_path):
    """The objective's batched writes (SQLite) and its per-attribute writes (journal) store the same trials."""
    sf = parse_study(synthetic_study_dict())
    stored = {}
    for url in (f"sqlite:///{tmp_path / 'study.db'}", f"journal:{tmp_path / 'study.journal'}"):
        study = run_study(sf, url, "same", 4, heartbeat_interval=None, grace_period=None)
        stored[url.split(":")[0]] = [({k: v for k, v in t.user_attrs.items() if k != "duration_s"}, t.params)
                                     for t in study.get_trials()]
    assert len(stored["sqlite"]) == 4 and "config" in stored["sqlite"][1][0] and "memory_bits" in stored["sqlite"][1][0]
    assert stored["sqlite"] == stored["journal"]
