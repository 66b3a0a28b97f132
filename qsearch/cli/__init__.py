"""The ``qsearch`` command line (typer): parse and validate at the edge, hand typed objects inward.

Exit codes: 0 success; 2 a user error (one line on stderr: a :class:`~qsearch.errors.QsearchError`, a bad
option, or the user's database refusing — credentials masked); 130/143 stopped by SIGINT/SIGTERM (the running
trials are failed with reason ``interrupted`` and queued again); a worker's own code when one of ``--workers``
dies (137 for SIGKILL); 1 with a traceback for anything else, which is a bug in qsearch.

The commands register on :data:`app` in the order ``--help`` lists them: ``run``; the views of a recorded
study (``best``, ``trials``, ``studies``, ``plot``); ``dashboard`` and ``export``.
"""

from qsearch.cli import (  # noqa: F401  (register their commands, in this order)
    _confirm_command,
    _run_command,
    _serve_export,  # noqa: F401,I001
    _views,
)
from qsearch.cli._app import app, main

__all__ = ["app", "main"]
