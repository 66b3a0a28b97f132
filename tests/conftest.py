"""Shared fixtures: one torch thread (the CI machine has two cores), tiny study files, temporary storages."""

from __future__ import annotations

import pytest
import torch

torch.set_num_threads(1)


def tiny_study_dict(**overrides) -> dict:
    """A study that trains for seconds: small hidden layer, one short epoch, few timesteps."""
    study = {
        "name": "tiny",
        "n_trials": 3,
        "model": {"hidden": [16]},
        "training": {"epochs": 1, "batch_size": 128},
        "search_space": {"scheme": ["ptq", "qat"], "weight_bits": [4, 8], "membrane_bits": [8, 12],
                         "current_bits": [8, 12], "param_bits": [8], "rounding": ["nearest", "truncate"],
                         "timesteps": [4]},
        "early_stopping": {"silent": {"grace_epochs": 0, "check_every": 10000}},
        "sampler": {"kind": "random", "seed": 1},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(study.get(key), dict):
            study[key] = {**study[key], **value}
        else:
            study[key] = value
    return study


@pytest.fixture
def tiny_study():
    from qsearch.studyfile import parse_study

    return parse_study(tiny_study_dict())


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'study.db'}"
