"""Every trial a new point: with ``sampler.distinct`` a repeated proposal is re-drawn instead of spending budget."""

from __future__ import annotations

import optuna
import pytest
from study_fixtures import tiny_study_dict

from qsearch.execution import run_study
from qsearch.search import BASELINE_ATTR, DUPLICATE_ATTR, make_sampler
from qsearch.search._distinct import REDRAWN_ATTR, DistinctSampler, distinct, params_key
from qsearch.studyfile import parse_study

#: 2 x 2 x 2 = 8 points: NSGA-II with a population of 4 repeats parents within a few generations
SMALL_SPACE = {"scheme": ["ptq", "qat"], "weight_bits": [2, 4], "membrane_bits": [8], "current_bits": [8],
               "param_bits": [8], "rounding": ["nearest", "truncate"], "timesteps": [8]}


def _study_file(distinct_on: bool, seed: int = 0):
    return parse_study(tiny_study_dict(search_space=SMALL_SPACE, trial_runner="synthetic",
                                       sampler={"kind": "nsga2", "seed": seed, "population_size": 4,
                                                "distinct": distinct_on, "initial_design": "none"}))


def _candidates(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    return [t for t in study.trials if not t.user_attrs.get(BASELINE_ATTR)]


def test_nsga2_alone_repeats_points_in_a_small_space(sqlite_url):
    # the premise: without the wrapper the same study spends trials on repeats
    study = run_study(_study_file(distinct_on=False), sqlite_url, "plain", n_trials=8)
    candidates = _candidates(study)
    assert len(candidates) == 7
    assert len({params_key(t.params) for t in candidates}) < 7
    assert any(DUPLICATE_ATTR in t.user_attrs for t in candidates)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_distinct_sampler_ends_with_the_requested_number_of_distinct_trials(sqlite_url, seed):
    study = run_study(_study_file(distinct_on=True, seed=seed), sqlite_url, f"distinct{seed}", n_trials=8)
    candidates = _candidates(study)
    assert len(candidates) == 7
    assert len({params_key(t.params) for t in candidates}) == 7  # 7 of the 8 points, none twice
    assert not any(DUPLICATE_ATTR in t.user_attrs for t in candidates)
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)


def test_an_exhausted_space_still_finishes_with_reused_repeats(sqlite_url):
    study = run_study(_study_file(distinct_on=True), sqlite_url, "full", n_trials=11)
    candidates = _candidates(study)
    assert len({params_key(t.params) for t in candidates}) == 8  # every point once, then repeats
    assert sum(DUPLICATE_ATTR in t.user_attrs for t in candidates) == 2


def test_redrawn_trials_say_which_parameters_changed(sqlite_url):
    studies = [run_study(_study_file(distinct_on=True, seed=s), sqlite_url, f"why{s}", n_trials=8) for s in (0, 1)]
    redrawn = [t for study in studies for t in _candidates(study) if REDRAWN_ATTR in t.user_attrs]
    assert redrawn  # NSGA-II did propose repeats in these seeds, and they were re-drawn
    for t in redrawn:
        assert t.user_attrs[REDRAWN_ATTR] and set(t.user_attrs[REDRAWN_ATTR]) <= set(t.params)


def test_make_sampler_wraps_unless_disabled_or_a_grid():
    assert isinstance(make_sampler(_study_file(distinct_on=True)), DistinctSampler)
    assert isinstance(make_sampler(_study_file(distinct_on=False)), optuna.samplers.NSGAIISampler)
    grid = optuna.samplers.GridSampler({"x": [1, 2]})
    assert distinct(grid) is grid
