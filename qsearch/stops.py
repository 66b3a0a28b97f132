"""Why a trial ended: the one registry of stop reasons, each with the Optuna state it ends in.

The reason is stored as the trial's ``reason`` user attribute and the results row's ``reason`` column; a
:class:`StopReason` is a ``str``, so what is stored is the plain word and studies recorded before read the same.
"""

from __future__ import annotations

from enum import StrEnum


class StopReason(StrEnum):
    """A trial's stop reason; :attr:`state` is the Optuna ``TrialState`` name it ends in."""

    COMPLETED = "completed"  # trained all its epochs
    PATIENCE = "patience"  # early stopping: validation accuracy stopped improving
    IMPORTED = "imported"  # the user's network taken as the float baseline, not trained here
    DUPLICATE = "duplicate"  # a repeated configuration: the earlier trial's measurements reused
    SILENT = "silent"  # the network went silent (too few spikes) and was stopped
    HOPELESS = "hopeless"  # a QAT trial that could no longer reach the accuracy budget
    SILENT_BASELINE = "silent_baseline"  # the float baseline went silent: the study stops
    BASELINE_NOT_LEARNING = "baseline_not_learning"  # the float baseline is far below the reference: the study stops
    TUNING_PRUNED = "tuning_pruned"  # a baseline-tuning trial below the median of the others at the same epoch
    NAN_LOSS = "nan_loss"  # the loss diverged
    INTERRUPTED = "interrupted"  # SIGINT/SIGTERM: failed and queued again
    QUOTA_FULL = "quota_full"  # the study already holds the trials asked for: given back
    BASELINE_PENDING = "baseline_pending"  # the float baseline (another worker's) has not finished: given back
    ERROR = "error"  # anything else: a failure without a recorded reason

    @property
    def state(self) -> str:
        return _STATES[self]


_STATES = {
    **dict.fromkeys((StopReason.COMPLETED, StopReason.PATIENCE, StopReason.IMPORTED, StopReason.DUPLICATE),
                    "COMPLETE"),
    **dict.fromkeys((StopReason.SILENT, StopReason.HOPELESS, StopReason.SILENT_BASELINE,
                     StopReason.BASELINE_NOT_LEARNING, StopReason.TUNING_PRUNED), "PRUNED"),
    **dict.fromkeys((StopReason.NAN_LOSS, StopReason.INTERRUPTED, StopReason.QUOTA_FULL, StopReason.BASELINE_PENDING,
                     StopReason.ERROR), "FAIL"),
}

__all__ = ["StopReason"]
