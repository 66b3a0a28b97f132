"""One-line errors for dataset files that are not where the study file says they are."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from qsearch.errors import DataError


class MissingDataError(DataError, FileNotFoundError):
    """Dataset files that are not there: a user error (one line, exit 2), still a FileNotFoundError to callers."""


def missing_files(dataset: str, expected: Iterable[str], where: Iterable[Path],
                  how: str) -> MissingDataError:
    """``dataset: expected A, B in X or Y; how``: what to look for, where it was looked for, how to get it."""
    places = " or ".join(str(p) for p in where)
    return MissingDataError(f"{dataset}: expected {', '.join(expected)} in {places}; {how}")
