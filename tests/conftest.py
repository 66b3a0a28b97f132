"""Shared fixtures: one torch thread (the CI machine has two cores), tiny study files, temporary storages."""

from __future__ import annotations

import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture
def tiny_study():
    from study_fixtures import tiny_study_dict

    from qsearch.studyfile import parse_study

    return parse_study(tiny_study_dict())


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'study.db'}"
