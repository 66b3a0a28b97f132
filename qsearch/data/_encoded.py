"""Spike tensors of a split for one number of timesteps, encoded once and batched time-major."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch

from qsearch.data._splits import LabeledTensors
from qsearch.errors import InputError


@dataclass(frozen=True)
class EncodedSplit:
    """Spikes (N, T, *shape) — uint8 for encoded static data, float counts for event frames — and labels."""

    spikes: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return int(self.y.shape[0])

    @property
    def timesteps(self) -> int:
        return int(self.spikes.shape[1])

    def batches(self, batch_size: int, *, generator: torch.Generator | None = None,
                device: torch.device | str = "cpu",
                dtype: torch.dtype = torch.float32) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Yield (spikes as (T, B, *shape), labels); shuffled when a generator is given."""
        n = len(self)
        order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            x = self.spikes[idx].to(device=device, dtype=dtype).transpose(0, 1)
            yield x, self.y[idx].to(device)


def encode_split(split: LabeledTensors, encoder, timesteps: int, seed: int,
                 has_time_axis: bool) -> EncodedSplit:
    """Encode static intensities with ``encoder`` (seeded), or pass event frames through unchanged."""
    if has_time_axis:
        if split.x.shape[1] != timesteps:
            raise InputError(f"timesteps: frames have {split.x.shape[1]} bins but the trial asks for {timesteps}")
        return EncodedSplit(split.x, split.y)
    generator = torch.Generator().manual_seed(seed)
    return EncodedSplit(encoder(split.x, timesteps, generator), split.y)
