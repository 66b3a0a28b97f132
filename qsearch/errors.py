"""The one base of errors a user can fix; everything else that escapes is a bug in qsearch.

The CLI prints a :class:`QsearchError` as one line (``qsearch: error: <field>: <what is allowed>``) and exits 2.
Any other exception is an internal error: it keeps its traceback and exits 1, so a bug never looks like the
user's fault. Raise the most specific subclass where the problem is detected, with the field name first.
"""

from __future__ import annotations

__all__ = ["DataError", "InputError", "QsearchError", "QsearchWarning"]


class QsearchError(Exception):
    """An error the user can fix (a study file, a storage URL, a data file, an option); one line, exit 2."""


class InputError(QsearchError, ValueError):
    """A value given by the user (study-file field, CLI option) that is not allowed; names the field."""


class DataError(QsearchError, ValueError):
    """A data set that cannot be used as given (missing file, one class, too few samples); names the file."""


class QsearchWarning(UserWarning):
    """A note for the user about their input that does not stop the run (the CLI prints it as one line,
    ``qsearch: warning: <what>``)."""
