"""Input encoders: small dataclasses with a functional core (as in tonic's transforms).

A spike encoder maps intensities in [0, 1] of shape (N, *shape) to spikes of shape (N, T, *shape) as uint8, seeded
by an explicit generator so that a trial is reproducible and every trial of a study sees the same spike trains.
The direct encoder is the one that is not a spike code: the analog intensities, as unsigned fixed-point codes
(:func:`qsearch.quant.analog_input_codes`), repeated at every step. Each encoder's ``frac_bits`` says what its
codes are worth: 0 for spikes, ``input_bits`` for analog codes (value = code * 2**-frac_bits).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from qsearch.quant import DEFAULT_INPUT_BITS, analog_input_codes


def rate_encode(x: torch.Tensor, timesteps: int, max_rate: float, generator: torch.Generator) -> torch.Tensor:
    """Bernoulli rate code: at every timestep a pixel spikes with probability ``intensity * max_rate``."""
    prob = (x.clamp(0, 1) * max_rate).unsqueeze(1).expand(x.shape[0], timesteps, *x.shape[1:])
    return (torch.rand(prob.shape, generator=generator) < prob).to(torch.uint8)


def regular_encode(x: torch.Tensor, timesteps: int, max_rate: float) -> torch.Tensor:
    """Deterministic rate code: evenly spaced spikes, ``floor(T * intensity * max_rate)`` of them.

    The spike count carries the intensity at T + 1 levels without the Bernoulli code's sampling noise, which
    with few features (tabular data) hides class differences smaller than about 1/sqrt(T).
    """
    rate = (x.clamp(0, 1) * max_rate).unsqueeze(1)
    steps = torch.arange(1, timesteps + 1, dtype=rate.dtype).view(1, timesteps, *([1] * (x.dim() - 1)))
    # a spike whenever the accumulated rate passes an integer (the small offset absorbs float error)
    counts = torch.floor(steps * rate + 1e-6)
    return (counts - torch.cat([torch.zeros_like(counts[:, :1]), counts[:, :-1]], dim=1)).to(torch.uint8)


def latency_encode(x: torch.Tensor, timesteps: int, threshold: float = 0.01) -> torch.Tensor:
    """Time-to-first-spike code: one spike per pixel, brighter pixels earlier; pixels below threshold stay silent."""
    t_spike = ((1.0 - x.clamp(0, 1)) * (timesteps - 1)).round().long()
    steps = torch.arange(timesteps).view(1, timesteps, *([1] * (x.dim() - 1)))
    spikes = (steps == t_spike.unsqueeze(1)) & (x.unsqueeze(1) >= threshold)
    return spikes.to(torch.uint8)


def direct_encode(x: torch.Tensor, timesteps: int, input_bits: int) -> torch.Tensor:
    """Direct (analog) code: the intensities' ``input_bits``-bit codes, the same at every one of the T steps.

    A broadcast view of one copy (no T-fold memory); batches cut from it are ordinary tensors.
    """
    codes = analog_input_codes(x, input_bits)
    return codes.unsqueeze(1).expand(x.shape[0], timesteps, *x.shape[1:])


@dataclass(frozen=True)
class RateEncoder:
    max_rate: float = 1.0
    #: each encoding is one random draw of spikes: evaluations pool several (qsearch.trial)
    stochastic = True
    frac_bits = 0  # codes are spikes

    def __call__(self, x: torch.Tensor, timesteps: int, generator: torch.Generator) -> torch.Tensor:
        return rate_encode(x, timesteps, self.max_rate, generator)


@dataclass(frozen=True)
class RegularEncoder:
    max_rate: float = 1.0
    stochastic = False
    frac_bits = 0

    def __call__(self, x: torch.Tensor, timesteps: int, generator: torch.Generator) -> torch.Tensor:
        return regular_encode(x, timesteps, self.max_rate)


@dataclass(frozen=True)
class LatencyEncoder:
    threshold: float = 0.01
    stochastic = False
    frac_bits = 0

    def __call__(self, x: torch.Tensor, timesteps: int, generator: torch.Generator) -> torch.Tensor:
        return latency_encode(x, timesteps, self.threshold)


@dataclass(frozen=True)
class DirectEncoder:
    """Analog current injection: the first layer's synaptic input is W x at every step (deterministic)."""

    input_bits: int = DEFAULT_INPUT_BITS
    stochastic = False

    @property
    def frac_bits(self) -> int:
        return self.input_bits

    def __call__(self, x: torch.Tensor, timesteps: int, generator: torch.Generator) -> torch.Tensor:
        return direct_encode(x, timesteps, self.input_bits)
