"""qsearch: find small quantized spiking neural networks that still classify well.

From Python (a notebook)::

    import qsearch
    result = qsearch.run("studies/digits.yaml", model=net, data=qsearch.Datasets(train=ds_train, test=ds_test))
    result.selected, result.front, result.table(), result.figure(), result.export("out/")
    qsearch.load("sqlite:///qsearch.db", "digits")   # the same result for a recorded study

The names load on first use, so ``import qsearch`` stays cheap (the command line imports what it needs).
See docs/python-api.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qsearch.api import Datasets, StudyResult, load, run
    from qsearch.errors import QsearchError, QsearchWarning

__all__ = ["Datasets", "QsearchError", "QsearchWarning", "StudyResult", "load", "run"]

_WHERE = {"Datasets": "qsearch.api", "StudyResult": "qsearch.api", "load": "qsearch.api", "run": "qsearch.api",
          "QsearchError": "qsearch.errors", "QsearchWarning": "qsearch.errors"}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'qsearch' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_WHERE[name]), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
