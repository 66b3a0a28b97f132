"""Input tensors of a split for one number of timesteps, encoded once and batched time-major."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch

from qsearch.data._splits import LabeledTensors
from qsearch.errors import InputError


@dataclass(frozen=True)
class EncodedSplit:
    """Input codes (N, T, *shape) and labels: uint8 spikes of spike-encoded static data, float counts of event
    frames, or unsigned analog codes of a direct encoding (``frac_bits`` > 0: value = code * 2**-frac_bits).

    The field keeps its name ``spikes``: for all but the direct encoding that is what it holds.
    """

    spikes: torch.Tensor
    y: torch.Tensor
    #: fraction bits of the codes: 0 for spikes and event counts, ``encoding.input_bits`` for analog input
    frac_bits: int = 0

    def __len__(self) -> int:
        return int(self.y.shape[0])

    @property
    def timesteps(self) -> int:
        return int(self.spikes.shape[1])

    @property
    def analog(self) -> bool:
        """Whether the input is analog (direct encoding): the first layer then multiplies, it does not add."""
        return self.frac_bits > 0

    @property
    def device(self) -> torch.device:
        return self.spikes.device

    def to(self, device: torch.device | str) -> EncodedSplit:
        """The split on ``device`` (itself when it is there already): batches are then cut where they are used."""
        if self.spikes.device == torch.device(device) and self.y.device == torch.device(device):
            return self
        return EncodedSplit(self.spikes.to(device), self.y.to(device), self.frac_bits)

    def batches(self, batch_size: int, *, generator: torch.Generator | None = None,
                device: torch.device | str | None = None,
                dtype: torch.dtype = torch.float32) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Yield (input values as (T, B, *shape), labels) on ``device`` (default: the split's); shuffled when a
        generator is given (a CPU generator: the order is the same on every device). Analog codes become their
        values (exact: a power-of-two step)."""
        n = len(self)
        order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
        order = order.to(self.spikes.device)
        target = self.spikes.device if device is None else device
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            x = self.spikes[idx].to(device=target, dtype=dtype).transpose(0, 1)
            if self.frac_bits:
                x = x * 2.0 ** -self.frac_bits
            yield x, self.y[idx].to(target)


def encode_split(split: LabeledTensors, encoder, timesteps: int, seed: int,
                 has_time_axis: bool) -> EncodedSplit:
    """Encode static intensities with ``encoder`` (seeded), or pass event frames through unchanged (an analog
    encoder never meets event frames: the study file refuses ``encoding`` for event data).

    Encoding runs on the CPU with a CPU generator, so every device sees the same spike trains; move the result
    with :meth:`EncodedSplit.to`.
    """
    if has_time_axis:
        if split.x.shape[1] != timesteps:
            raise InputError(f"timesteps: frames have {split.x.shape[1]} bins but the trial asks for {timesteps}")
        return EncodedSplit(split.x, split.y)
    generator = torch.Generator().manual_seed(seed)
    return EncodedSplit(encoder(split.x, timesteps, generator), split.y, encoder.frac_bits)
