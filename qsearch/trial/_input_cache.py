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
    return _encode(spec, _load(spec, timesteps), timesteps)


def _encoder(spec):
    return spec.encoding.encoder() if hasattr(spec, "encoding") else None


def _encode(spec, splits: Splits, timesteps: int, draw: int = 0) -> TrialData:
    """``splits`` spike-encoded with the spec's encoder; ``draw`` > 0: another draw of a stochastic encoder."""
    seed = getattr(spec, "seed", 0)
    encoded = {name: encode_split(splits.split(name), _encoder(spec), timesteps,
                                  seed * 1000 + offset + _DRAW_STRIDE * draw, splits.has_time_axis)
               for name, offset in _SPLIT_SEEDS.items()}
    return TrialData(encoded["train"], encoded["validation"], encoded["test"], splits.n_classes,
                     splits.input_shape)


#: seed distance between evaluation draws of a stochastic encoding (far from the per-split offsets)
_DRAW_STRIDE = 7919
#: encoded folds and extra draws, by (dataset spec, splits name, T, draw, device): confirmation reuses them per
#: finalist; the spec is part of the key, as two studies may read data sets of the same name with other seeds
_GIVEN: dict[tuple[object, str, int, int, str], TrialData] = {}
_GIVEN_MAX = 12


def stochastic_encoding(spec) -> bool:
    """Whether each encoding of the data is one random draw (rate coding): evaluations then pool draws."""
    return bool(getattr(_encoder(spec), "stochastic", False))  # event data has no encoder: frames as given


def encoded_trial_data(spec, splits: Splits | None, timesteps: int, device: str = "cpu",
                       draw: int = 0) -> TrialData:
    """The trial inputs of ``splits`` (None: the spec's own splits), encoding draw ``draw``, on ``device``.

    Draw 0 of the spec's own splits is :func:`trial_data`. Other splits (a confirmation fold) and other draws
    are encoded here and kept for the next trials of the same fold (a few at a time)."""
    if splits is None and draw == 0:
        return trial_data(spec, timesteps, device)
    source = _load(spec, timesteps) if splits is None else splits
    key = (spec, source.name, timesteps, draw, device)
    if key not in _GIVEN:
        if len(_GIVEN) >= _GIVEN_MAX:
            _GIVEN.pop(next(iter(_GIVEN)))
        encoded = _encode(spec, source, timesteps, draw)
        _GIVEN[key] = encoded if device == "cpu" else replace(
            encoded, train=encoded.train.to(device), validation=encoded.validation.to(device),
            test=encoded.test.to(device))
    return _GIVEN[key]
