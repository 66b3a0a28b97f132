"""Event datasets as :class:`Splits` of frames: find samples, subsample, bin (or reuse cached frames), split.

The dataset's own train/test split is kept; validation is carved (stratified, seeded) from the train frames,
so it never needs its own cache entry. x has shape (N, T, C, H, W), or (N, T, channels) for audio (SHD).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from qsearch.data._event_sources import EVENT_DATASETS, EventDataset, EventSource
from qsearch.data._frame_cache import cached_frames
from qsearch.data._frames import FrameBinning
from qsearch.data._splits import LabeledTensors, Splits
from qsearch.data._subsets import carve_validation, limit_indices
from qsearch.errors import InputError


def _bin_all(source: EventSource, chosen: np.ndarray, binning: FrameBinning) -> tuple[np.ndarray, np.ndarray]:
    frames = np.empty((len(chosen), binning.timesteps, *binning.frame_shape), dtype=np.int16)
    for k, events in enumerate(source.read([int(i) for i in chosen])):
        frames[k] = binning(events)
    return frames, source.labels[chosen]


def frame_key(dataset: str, split: str, source: EventSource, chosen: np.ndarray, binning: FrameBinning,
              limit: int | None, seed: int) -> dict[str, object]:
    """Everything that changes one split's frames; the seed only matters when a limit subsamples."""
    import tonic

    subsampled = len(chosen) < len(source.labels)
    return {"dataset": dataset, "split": split, "root": str(source.root.resolve()),
            "samples": len(source.labels), "timesteps": binning.timesteps,
            "sensor_size": list(binning.sensor_size), "denoise_filter_time": binning.denoise_filter_time,
            "downsample": binning.downsample, "limit": limit if subsampled else None,
            "seed": seed if subsampled else None, "tonic": tonic.__version__}


def _split_frames(dataset: EventDataset, source: EventSource, split: str, binning: FrameBinning,
                  limit: int | None, seed: int, cache_dir: str | None) -> tuple[np.ndarray, np.ndarray]:
    chosen = limit_indices(source.labels, limit, seed, f"limit_{split}")
    key = frame_key(dataset.name, split, source, chosen, binning, limit, seed)
    return cached_frames(cache_dir, key, lambda: _bin_all(source, chosen, binning))


def load_event_splits(name: str, path: str | Path, *, timesteps: int, download: bool = False, seed: int = 0,
                      validation_fraction: float = 0.1, denoise_filter_time: float | None = None,
                      downsample: float | None = None, limit_train: int | None = None,
                      limit_test: int | None = None, cache_dir: str | None = None) -> Splits:
    """Frames of ``timesteps`` bins of the event dataset ``name`` (nmnist, dvsgesture, shd) in ``path``."""
    if name not in EVENT_DATASETS:
        raise InputError(f"name: {name!r} is not an event dataset; allowed: {', '.join(EVENT_DATASETS)}")
    dataset = EVENT_DATASETS[name]
    binning = FrameBinning(dataset.sensor_size, timesteps, denoise_filter_time, downsample)
    root = Path(path).expanduser()
    parts = {}
    for split, is_train, limit in (("train", True, limit_train), ("test", False, limit_test)):
        source = dataset.source(root, is_train, download)
        parts[split] = _split_frames(dataset, source, split, binning, limit, seed, cache_dir)
    (x_train, y_train), (x_test, y_test) = parts["train"], parts["test"]
    train, val = carve_validation(y_train, validation_fraction, seed)
    shape = (binning.output_sensor_size[0],) if dataset.one_dimensional else binning.frame_shape

    def tensors(frames: np.ndarray, labels: np.ndarray) -> LabeledTensors:
        x = frames.reshape(len(frames), timesteps, *shape).astype(np.float32)
        return LabeledTensors(torch.from_numpy(x), torch.from_numpy(labels.astype(np.int64)))

    n_classes = max(dataset.n_classes, int(max(y_train.max(initial=0), y_test.max(initial=0))) + 1)
    return Splits(tensors(x_train[train], y_train[train]), tensors(x_train[val], y_train[val]),
                  tensors(x_test, y_test), n_classes=n_classes, input_shape=tuple(int(s) for s in shape),
                  has_time_axis=True, name=name)
