"""Trials that land on the front keep their trained weights, and ``export`` uses them without training."""

from __future__ import annotations

import json

import numpy as np
import optuna
import pytest
from study_fixtures import tiny_study_dict

import qsearch.trial._pipeline as pipeline
from qsearch.execution import run_study
from qsearch.export import export_trial
from qsearch.record import WEIGHTS_FILE, artifact_store_for, make_storage, stored_weights
from qsearch.record.optuna_compat import study_storage
from qsearch.studyfile import parse_study


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('kept') / 'study.db'}"
    spec = tiny_study_dict(n_trials=4, constraints={"max_accuracy_drop": 5.0},
                           search_space={"scheme": ["ptq"], "rounding": ["nearest"], "weight_bits": [4, 6, 8],
                                         "membrane_bits": [12], "current_bits": [12]})
    run_study(parse_study(spec), url, "tiny", n_trials=4)
    return url, optuna.load_study(study_name="tiny", storage=make_storage(url, heartbeat_interval=None))


def _kept(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
    metas = optuna.artifacts.get_all_artifact_meta(trial, storage=study_storage(study))
    return any(m.filename == WEIGHTS_FILE for m in metas)


def test_only_feasible_trials_on_the_front_at_their_end_keep_weights(study):
    url, loaded = study
    complete = [t for t in loaded.trials if t.state == optuna.trial.TrialState.COMPLETE]
    kept = [t for t in complete if _kept(loaded, t)]
    assert kept, "a feasible trial kept no weights"
    baseline = [t for t in complete if t.user_attrs.get("qsearch_baseline")]
    assert baseline and not _kept(loaded, baseline[0])  # the float baseline is not a candidate
    for t in kept:
        assert t.user_attrs["feasible"]
        earlier = [e for e in complete if e.number < t.number and e.user_attrs.get("feasible")
                   and not e.user_attrs.get("qsearch_baseline")]
        # accuracy maximised, memory minimised: nothing finished before it dominated it
        assert not any(e.values[0] >= t.values[0] and e.values[1] <= t.values[1] and e.values != t.values
                       for e in earlier)
    state = stored_weights(loaded, kept[0], artifact_store_for(url))
    assert state is not None and all(isinstance(v, __import__("torch").Tensor) for v in state.values())


def test_export_uses_the_kept_weights_and_matches_a_retrained_export(study, tmp_path, monkeypatch):
    url, loaded = study
    number = next(t.number for t in loaded.trials if _kept(loaded, t))
    pipeline._FLOAT_CACHE.clear()

    def no_training(*_args, **_kwargs):
        raise AssertionError("export trained a network it had kept")

    with monkeypatch.context() as patch:
        patch.setattr(pipeline, "train", no_training)
        kept = export_trial(url, "tiny", number, tmp_path / "kept")
    card = json.loads((kept / "model_card.json").read_text())
    assert card["reproduced"]["weights"] == "kept" and card["reproduced"]["matches"]
    retrained = export_trial(url, "tiny", number, tmp_path / "retrained", retrain=True)
    again = json.loads((retrained / "model_card.json").read_text())
    assert again["reproduced"]["weights"] == "retrained"
    codes = sorted(p.name for p in kept.glob("weights_layer*.npy"))
    assert codes and codes == sorted(p.name for p in retrained.glob("weights_layer*.npy"))
    for name in codes:
        assert np.array_equal(np.load(kept / name), np.load(retrained / name))
