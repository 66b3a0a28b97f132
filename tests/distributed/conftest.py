"""Fixtures of the distributed tests: unique study names on the database services, deleted afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest

from qsearch.record import delete_study


@pytest.fixture
def study_name_on() -> Iterator[Callable[..., str]]:
    """``study_name_on(url, prefix) -> name``: a fresh study name on that database, deleted after the test."""
    made: list[tuple[str, str]] = []

    def register(url: str, prefix: str = "dist") -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:10]}"
        made.append((url, name))
        return name

    yield register
    for url, name in made:
        delete_study(url, name)
