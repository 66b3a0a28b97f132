"""The user's data as they hold it in Python, materialized into the labelled arrays the npz rules read.

Accepted per split: a ``torch.utils.data.Dataset`` of ``(sample, label)`` pairs (a tonic dataset with a
transform to frames included), a ``DataLoader``, or an ``(x, y)`` pair of numpy arrays or tensors. Samples are
read once, in index order, into one array; nothing else of the object is kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from qsearch.data import ArrayPairs
from qsearch.errors import DataError, InputError


@dataclass(frozen=True)
class Datasets:
    """The user's data, one object per split (the argument ``data`` of :func:`qsearch.run`).

    ``train`` alone holds every sample: the study file's ``dataset`` fractions and seed cut it into train,
    validation and test (stratified). With ``test`` too, validation is carved from ``train`` unless
    ``validation`` is given. ``frames``: the samples carry a time axis first (event frames, samples x T x ...)
    and pass to the network as they are; left out, tonic datasets are frames and everything else is static
    intensities, spike-encoded as the study file's ``dataset.encoding`` says.
    """

    train: Any
    validation: Any = None
    test: Any = None
    frames: bool | None = None


def materialize(data: Any) -> tuple[ArrayPairs, bool]:
    """``data`` (:class:`Datasets`, or one object holding every sample) as arrays by split, and whether they are
    frames."""
    given = data if isinstance(data, Datasets) else Datasets(train=data)
    if given.validation is not None and given.test is None:
        raise InputError("data.test: a validation split needs a test split too (or give train alone)")
    parts = {"train": given.train, "validation": given.validation, "test": given.test}
    sources = {name: part for name, part in parts.items() if part is not None}
    if set(sources) == {"train"}:
        sources = {"all": given.train}
    frames = given.frames if given.frames is not None else all(_is_tonic(s) for s in sources.values())
    field = {"all": "data", "train": "data.train", "validation": "data.validation", "test": "data.test"}
    return {name: _arrays(source, field[name]) for name, source in sources.items()}, frames


def _is_tonic(source: Any) -> bool:
    inner = getattr(source, "dataset", source)  # a DataLoader over a tonic dataset
    return type(inner).__module__.split(".")[0] == "tonic"


def _arrays(source: Any, field: str) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of one split: a pair of arrays as given, else the samples of a dataset or loader stacked."""
    from torch.utils.data import DataLoader, RandomSampler

    if isinstance(source, tuple | list) and len(source) == 2 and not _is_sample(source[0]):
        return _numpy(source[0], field), _numpy(source[1], field)
    if isinstance(source, DataLoader):
        if isinstance(source.sampler, RandomSampler):  # a shuffled order would change the data's fingerprint
            return _stack(_items(source.dataset, field), field)
        return _concatenate(source, field)
    if hasattr(source, "__getitem__") or hasattr(source, "__iter__"):
        return _stack(_items(source, field), field)
    raise InputError(f"{field}: a {type(source).__name__} is not a dataset; give a torch Dataset, a DataLoader "
                     "or an (x, y) pair of arrays")


def _is_sample(value: Any) -> bool:
    """Whether ``value`` is one sample (of a list of pairs), not a whole array of them."""
    return isinstance(value, tuple | list)


def _items(dataset: Any, field: str) -> Iterable[Any]:
    if hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__"):
        return (dataset[i] for i in range(len(dataset)))
    return iter(dataset)


def _numpy(value: Any, field: str) -> np.ndarray:
    import torch

    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    array = np.asarray(value)
    if array.dtype.names is not None:
        raise DataError(f"{field}: the samples are raw events (a structured array); give the dataset a transform "
                        "to frames, e.g. tonic.transforms.ToFrame(sensor_size, n_time_bins=T)")
    return array


def _pair(item: Any, field: str) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(item, tuple | list) or len(item) < 2:
        raise DataError(f"{field}: each sample must be a (sample, label) pair, got a {type(item).__name__}")
    return _numpy(item[0], field), _numpy(item[1], field)


def _stack(items: Iterable[Any], field: str) -> tuple[np.ndarray, np.ndarray]:
    pairs = [_pair(item, field) for item in items]
    if not pairs:
        raise DataError(f"{field}: the dataset holds no samples")
    shapes = {x.shape for x, _ in pairs}
    if len(shapes) > 1:
        raise DataError(f"{field}: samples differ in shape ({', '.join(str(s) for s in sorted(shapes)[:3])}); "
                        "every sample needs one shape (frames: one number of time bins)")
    return np.stack([x for x, _ in pairs]), np.stack([y for _, y in pairs]).reshape(-1)


def _concatenate(loader: Iterable[Any], field: str) -> tuple[np.ndarray, np.ndarray]:
    batches = [_pair(batch, field) for batch in loader]
    if not batches:
        raise DataError(f"{field}: the data loader gives no batches")
    return np.concatenate([x for x, _ in batches]), np.concatenate([y.reshape(-1) for _, y in batches])


__all__ = ["Datasets", "materialize"]
