"""How an epoch callback ends a trial's training early: raise :class:`StopTraining` from it.

The trial does not know why a caller stops it (the search layer's hopeless rule, for one); it only needs to
know which phases may be stopped. The float pre-training that PTQ and QAT trials share through a cache is not
the trial's own: :func:`unjudged` lets it run to the end whatever the callback says.
"""

from __future__ import annotations

from collections.abc import Callable

EpochCallback = Callable[[int, float, float], None]


class StopTraining(RuntimeError):
    """Raised from an epoch callback to end the trial's training (the caller records why)."""


def unjudged(on_epoch: EpochCallback | None) -> EpochCallback | None:
    """``on_epoch`` for a phase that is never stopped: the float pre-training of a PTQ/QAT trial (its network
    is cached and shared by every later trial of the same settings, and its accuracy is not the trial's)."""
    if on_epoch is None:
        return None

    def hook(epoch: int, loss: float, accuracy: float) -> None:
        try:
            on_epoch(epoch, loss, accuracy)
        except StopTraining:
            pass

    return hook
