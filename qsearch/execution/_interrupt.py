"""Stopping a run on SIGINT/SIGTERM: the running trial ends as FAIL (reason ``interrupted``) and is re-queued.

The signal handler itself belongs to the launch edge (``qsearch.execution._launch``); this module holds what
the execution layer needs to know: whether a stop was asked for, and whether a trial is running right now.
A signal that arrives *inside* a trial raises :class:`Interrupted` there (Optuna then fails the trial and
re-raises it); one that arrives *between* trials only sets the flag, so no ask/tell/database write is torn in
half, and the worker stops at its next check. A second signal always raises (the user insists).
"""

from __future__ import annotations

import signal
from dataclasses import dataclass

from qsearch.stops import StopReason

#: the user attribute ``reason`` of a trial ended by a signal (it is re-queued with the same parameters)
INTERRUPTED_REASON = StopReason.INTERRUPTED


class Interrupted(KeyboardInterrupt):
    """The run was stopped by a signal; a ``KeyboardInterrupt`` so Optuna fails the trial and re-raises it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum  # as a shell reports a process ended by that signal: 130 SIGINT, 143 SIGTERM


@dataclass
class StopGate:
    """Shared by the signal handler (writes) and the trial loop (reads)."""

    signum: int | None = None
    in_trial: bool = False

    @property
    def requested(self) -> bool:
        return self.signum is not None

    def on_signal(self, signum: int, _frame: object = None) -> None:
        first = self.signum is None
        if first:
            self.signum = signum
        if self.in_trial or not first:
            raise Interrupted(signum)

    def raise_if_requested(self) -> None:
        if self.signum is not None:
            raise Interrupted(self.signum)


__all__ = ["INTERRUPTED_REASON", "Interrupted", "StopGate"]
