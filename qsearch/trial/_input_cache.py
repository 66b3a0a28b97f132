"""Per-process cache of encoded trial inputs: encode once per (dataset, split, T, seed), reuse across trials."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

from qsearch.data import EncodedSplit, Splits, encode_split

_SPLIT_SEEDS = {"train": 0, "validation": 1, "test": 2}


@dataclass(frozen=True)
class TrialData:
    train: EncodedSplit
    validation: EncodedSplit
    test: EncodedSplit
    n_classes: int
    input_shape: tuple[int, ...]


@lru_cache(maxsize=8)
def _load(spec, timesteps: int):  # spec is a frozen pydantic model: hashable
    # frames of event datasets depend on T; static datasets do not, so key them without it
    return spec.load(timesteps)


def trial_splits(spec, timesteps: int) -> Splits:
    """The loaded (not yet encoded) splits of ``spec``, cached: what the non-spiking reference is fitted on."""
    return _load(spec, timesteps)


@lru_cache(maxsize=16)
def trial_data(spec, timesteps: int, device: str = "cpu") -> TrialData:
    """Encoded splits for ``timesteps`` on ``device``; static data is rate/latency-coded with a seed fixed per
    split, on the CPU (the same spikes on every device), then moved once: batches are cut on the device."""
    encoded = _encoded(spec, timesteps)
    if device == "cpu":
        return encoded
    return replace(encoded, train=encoded.train.to(device), validation=encoded.validation.to(device),
                   test=encoded.test.to(device))


@lru_cache(maxsize=16)
def _encoded(spec, timesteps: int) -> TrialData:
    splits = _load(spec, timesteps)
    encoder = spec.encoding.encoder() if hasattr(spec, "encoding") else None
    seed = getattr(spec, "seed", 0)
    encoded = {name: encode_split(splits.split(name), encoder, timesteps, seed * 1000 + offset,
                                  splits.has_time_axis)
               for name, offset in _SPLIT_SEEDS.items()}
    return TrialData(encoded["train"], encoded["validation"], encoded["test"], splits.n_classes,
                     splits.input_shape)
