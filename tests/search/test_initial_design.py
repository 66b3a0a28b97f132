"""The initial design: one trial per weight width (PTQ, then QAT) before the sampler's own proposals."""

from __future__ import annotations

import optuna
import pytest
from study_fixtures import tiny_study_dict

from qsearch.execution import run_study
from qsearch.record import optuna_compat as compat
from qsearch.record.keys import INITIAL_DESIGN
from qsearch.search import BASELINE_ATTR, baseline_params, make_sampler
from qsearch.search._distinct import params_key
from qsearch.search._initial import InitialDesignSampler, ladder_params
from qsearch.search._wrapping import proposal_notes
from qsearch.studyfile import parse_study

SPACE = {"scheme": ["qat", "ptq"], "weight_bits": [6, 2, 4], "per_layer_weight_bits": True,
         "membrane_bits": [8, 12], "current_bits": [8, 12], "param_bits": [8], "rounding": ["truncate", "nearest"],
         "timesteps": [8], "sparsity": [0.0, 0.5]}


def _study_file(design: str = "ladder", kind: str = "nsga2", **space):
    return parse_study(tiny_study_dict(search_space={**SPACE, **space}, trial_runner="synthetic",
                                       sampler={"kind": kind, "seed": 0, "population_size": 4,
                                                "initial_design": design}))


def _candidates(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    return [t for t in study.trials if not t.user_attrs.get(BASELINE_ATTR)]


def test_the_ladder_is_ptq_then_qat_in_ascending_width_with_the_baselines_other_values():
    sf = _study_file()
    rungs = ladder_params(sf)
    widths = [(r["scheme"], r["weight_bits_l0"], r["weight_bits_l1"]) for r in rungs]
    assert widths == [("ptq", 2, 2), ("ptq", 4, 4), ("ptq", 6, 6), ("qat", 2, 2), ("qat", 4, 4), ("qat", 6, 6)]
    others = {k: v for k, v in baseline_params(sf).items() if k != "scheme" and not k.startswith("weight_bits")}
    assert others == {"membrane_bits": 12, "current_bits": 12, "param_bits": 8, "rounding": "nearest",
                      "timesteps": 8, "sparsity": 0.0}
    for rung in rungs:
        assert {k: rung[k] for k in others} == others


def test_the_ladder_follows_the_space_one_shared_width_and_one_scheme():
    rungs = ladder_params(_study_file(scheme=["qat"], per_layer_weight_bits=False))
    assert [(r["scheme"], r["weight_bits"]) for r in rungs] == [("qat", 2), ("qat", 4), ("qat", 6)]
    assert not any(k.startswith("weight_bits_l") for r in rungs for k in r)


def test_a_study_runs_the_rungs_first_in_order_then_the_samplers_own_trials(sqlite_url):
    sf = _study_file()
    rungs = ladder_params(sf)
    study = run_study(sf, sqlite_url, "ladder", n_trials=len(rungs) + 5)
    candidates = _candidates(study)
    assert len(candidates) == len(rungs) + 4
    assert [t.params for t in candidates[:len(rungs)]] == rungs
    assert all(t.user_attrs[INITIAL_DESIGN] == "ladder" for t in candidates[:len(rungs)])
    assert not any(INITIAL_DESIGN in t.user_attrs for t in candidates[len(rungs):])
    assert [t.user_attrs["config"]["scheme"] for t in candidates[:len(rungs)]] == ["ptq"] * 3 + ["qat"] * 3
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    assert len({params_key(t.params) for t in candidates}) == len(candidates)  # distinct, the rungs included


def test_a_short_study_leaves_no_waiting_trials_and_a_continued_one_finishes_the_ladder_once(sqlite_url):
    sf = _study_file()
    rungs = ladder_params(sf)
    study = run_study(sf, sqlite_url, "short", n_trials=3)  # the baseline and two rungs
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE] * 3
    assert [t.params for t in _candidates(study)] == rungs[:2]
    study = run_study(sf, sqlite_url, "short", n_trials=len(rungs) + 2)
    candidates = _candidates(study)
    assert [t.params for t in candidates[:len(rungs)]] == rungs  # continued where it stopped, none twice
    assert sum(INITIAL_DESIGN in t.user_attrs for t in candidates) == len(rungs)


def test_a_rung_another_trial_already_holds_is_skipped(sqlite_url):
    sf = _study_file()
    rungs = ladder_params(sf)
    study = optuna.create_study(storage=sqlite_url, study_name="held", directions=["maximize", "minimize"])
    choices = {name: sorted({r[name] for r in rungs}, key=str) for name in rungs[0]}
    study.enqueue_trial(rungs[0])  # e.g. a user's own enqueued point, or another worker's trial
    held = study.ask()
    study.tell(held, [90.0, 5.0] if {n: held.suggest_categorical(n, c) for n, c in choices.items()} else None)
    study.sampler = InitialDesignSampler(optuna.samplers.RandomSampler(seed=0), rungs)
    trial = study.ask()
    assert {name: trial.suggest_categorical(name, c) for name, c in choices.items()} == rungs[1]
    # the sampler records what it did; the objective writes it in the trial's one batch of attributes
    assert proposal_notes(study, compat.trial_id(trial)) == {INITIAL_DESIGN: "ladder"}
    assert proposal_notes(study, compat.trial_id(trial)) == {}  # taken once


@pytest.mark.parametrize("design", ["none", "ladder"])
def test_initial_design_none_leaves_the_sampler_alone_and_a_grid_is_never_wrapped(sqlite_url, design):
    sf = _study_file(design)
    assert isinstance(make_sampler(sf).inner, InitialDesignSampler) is (design == "ladder")  # under distinct
    assert isinstance(make_sampler(_study_file(design, kind="grid")), optuna.samplers.GridSampler)
    if design == "none":
        study = run_study(sf, sqlite_url, "none", n_trials=5)
        assert not any(INITIAL_DESIGN in t.user_attrs for t in study.trials)


def test_workers_that_start_together_take_different_rungs(sqlite_url):
    # two trials created before either has written a parameter (workers starting at once): rung by trial number
    rungs = ladder_params(_study_file())
    choices = {name: sorted({r[name] for r in rungs}, key=str) for name in rungs[0]}
    study = optuna.create_study(storage=sqlite_url, study_name="race", directions=["maximize", "minimize"],
                                sampler=InitialDesignSampler(optuna.samplers.RandomSampler(seed=0), rungs))
    first, second = study.ask(), study.ask()
    late = {name: second.suggest_categorical(name, c) for name, c in choices.items()}  # the later one suggests first
    early = {name: first.suggest_categorical(name, c) for name, c in choices.items()}
    assert (early, late) == (rungs[0], rungs[1])
