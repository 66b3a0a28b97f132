"""qsearch from Python: :func:`run` a study on the user's own network and data, :func:`load` a recorded one,
and read the :class:`StudyResult` (front, pick, table, figure, export) in a notebook.

Also the one engine both the command line and :func:`run` drive (:func:`search`, :func:`confirm_study`) and the
one line a user's error becomes (:func:`user_error_line`). See docs/python-api.md.
"""

from qsearch.api._datasets import Datasets, materialize
from qsearch.api._engine import (
    DASHBOARD_REFRESH_TRIALS,
    TEST_SELECTION_WARNING,
    ConfirmationInterrupted,
    Searched,
    confirm_study,
    one_line,
    raised_as_one_line,
    search,
    user_error_line,
)
from qsearch.api._result import StudyResult
from qsearch.api._run import StudySource, load, run

__all__ = [
    "DASHBOARD_REFRESH_TRIALS", "TEST_SELECTION_WARNING", "ConfirmationInterrupted", "Datasets", "Searched",
    "StudyResult", "StudySource", "confirm_study", "load", "materialize", "one_line", "raised_as_one_line", "run",
    "search", "user_error_line",
]
