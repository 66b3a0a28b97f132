"""A grid study runs its float baseline (enqueued, no grid point) and then exactly its grid."""

from __future__ import annotations

import optuna
import pytest
from study_fixtures import tiny_study_dict

from qsearch.execution import run_study
from qsearch.search import BASELINE_ATTR
from qsearch.studyfile import parse_study

ONE_POINT = {"scheme": ["ptq"], "weight_bits": [4], "membrane_bits": [8], "current_bits": [8], "param_bits": [8],
             "rounding": ["nearest"], "timesteps": [8]}


@pytest.mark.parametrize(("space", "points"), [(ONE_POINT, 1), ({**ONE_POINT, "weight_bits": [4, 8]}, 2)])
def test_grid_study_evaluates_the_baseline_then_every_grid_point_once(sqlite_url, space, points) -> None:
    study_file = parse_study(tiny_study_dict(sampler={"kind": "grid", "seed": 0}, search_space=space))
    run_study(study_file, sqlite_url, "grid", n_trials=points + 3)  # asks for more than the grid holds
    trials = optuna.load_study(study_name="grid", storage=sqlite_url).get_trials()
    assert [t.state for t in trials] == [optuna.trial.TrialState.COMPLETE] * (points + 1)
    assert trials[0].user_attrs.get(BASELINE_ATTR) and "grid_id" not in trials[0].system_attrs  # enqueued first
    grid = {tuple(sorted(t.params.items())) for t in trials[1:]}
    assert len(grid) == points and all("grid_id" in t.system_attrs for t in trials[1:])  # each point once
