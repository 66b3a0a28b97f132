"""How a run lives: the trial loop with its exact count, worker processes, signals and the launch edge.

:func:`execute` runs a study's trials in this process from one frozen :class:`RunSettings`; the launch edge
(:mod:`qsearch.execution._launch`, reached as ``launch``) reads cores and the environment and starts workers.
"""

from qsearch.execution import _launch as launch
from qsearch.execution._interrupt import INTERRUPTED_REASON, Interrupted, StopGate
from qsearch.execution._loop import TrialCallback, execute, open_settings_study, run_study
from qsearch.execution._settings import RunSettings
from qsearch.execution._workers import BASELINE_PENDING_REASON, QUOTA_REASON, check_parallel_storage

__all__ = [
    "BASELINE_PENDING_REASON", "INTERRUPTED_REASON", "Interrupted", "QUOTA_REASON", "RunSettings", "StopGate",
    "TrialCallback", "check_parallel_storage", "execute", "launch", "open_settings_study", "run_study",
]
