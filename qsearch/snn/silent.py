"""Stopping silent networks early (Firmin, Boulet & Talbi 2024).

A network whose watched layer emits (almost) no spikes cannot learn through surrogate gradients at a useful
rate; training it further wastes the trial's budget. The monitor counts, over windows of ``check_every``
training samples, the samples whose watched layer fired fewer than ``min_spikes`` spikes, and declares the
network silent when the share in a completed window exceeds ``max_silent_fraction``. The first
``grace_samples`` are not judged: a freshly initialised readout is often quiet for a few hundred samples
before it starts to fire, and stopping it there would kill networks that learn fine.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


def silent_count(spike_counts: torch.Tensor, min_spikes: float) -> int:
    """How many samples emitted fewer than ``min_spikes`` spikes."""
    return int((spike_counts < min_spikes).sum())


@dataclass
class SilentNetworkMonitor:
    min_spikes: float = 1.0
    max_silent_fraction: float = 0.9
    check_every: int = 256
    grace_samples: int = 0
    _total: int = field(default=0, init=False)
    _seen: int = field(default=0, init=False)
    _silent: int = field(default=0, init=False)
    last_fraction: float = field(default=0.0, init=False)

    def update(self, spike_counts: torch.Tensor) -> bool:
        """Add one batch's per-sample spike counts; True when the just-completed window was silent."""
        self._total += int(spike_counts.shape[0])
        if self._total <= self.grace_samples:
            return False
        self._seen += int(spike_counts.shape[0])
        self._silent += silent_count(spike_counts, self.min_spikes)
        if self._seen < self.check_every:
            return False
        self.last_fraction = self._silent / self._seen
        self._seen = self._silent = 0
        return self.last_fraction > self.max_silent_fraction
