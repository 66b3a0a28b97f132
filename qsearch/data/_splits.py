"""Labelled tensors split three ways — the one shape every dataset reader returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from qsearch.errors import InputError


@dataclass(frozen=True)
class LabeledTensors:
    """Samples and integer labels of one split.

    ``x`` is either static intensities in [0, 1] with shape (N, *input_shape), to be spike-encoded per trial,
    or already-binned event frames with shape (N, T, *input_shape) (``Splits.has_time_axis``).
    """

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return int(self.y.shape[0])


@dataclass(frozen=True)
class Splits:
    train: LabeledTensors
    validation: LabeledTensors
    test: LabeledTensors
    n_classes: int
    input_shape: tuple[int, ...]
    has_time_axis: bool = False
    name: str = "dataset"
    #: what was fitted to the data before encoding (e.g. the npz input scaling), for the study's records
    preprocessing: dict = field(default_factory=dict, compare=False)
    #: the original label of each output when the file's labels were remapped to 0..K-1 (output i means label
    #: ``class_labels[i]``; an npz's sparse labels); None: output i is label i
    class_labels: tuple[int, ...] | None = None

    def split(self, name: str) -> LabeledTensors:
        if name not in ("train", "validation", "test"):
            raise ValueError(f"split: {name!r} is unknown; allowed: train, validation, test")
        return getattr(self, name)


def stratified_split(labels: np.ndarray, validation_fraction: float, test_fraction: float,
                     seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices of a fixed, stratified train/validation/test split (same seed, same split, every machine)."""
    from sklearn.model_selection import train_test_split

    if not (0 < validation_fraction < 1 and 0 < test_fraction < 1 and validation_fraction + test_fraction < 1):
        raise InputError("validation_fraction/test_fraction: each must be in (0, 1) and their sum below 1")
    index = np.arange(len(labels))
    rest, test = train_test_split(index, test_size=test_fraction, stratify=labels, random_state=seed)
    val_share = validation_fraction / (1.0 - test_fraction)
    train, val = train_test_split(rest, test_size=val_share, stratify=labels[rest], random_state=seed)
    return np.sort(train), np.sort(val), np.sort(test)


def splits_from_arrays(x: np.ndarray, y: np.ndarray, *, validation_fraction: float, test_fraction: float,
                       seed: int, name: str, has_time_axis: bool = False) -> Splits:
    """Split one labelled array set into :class:`Splits` (x as float32 tensors, y as int64)."""
    train, val, test = stratified_split(y, validation_fraction, test_fraction, seed)
    xt = torch.as_tensor(np.asarray(x, dtype=np.float32))
    yt = torch.as_tensor(np.asarray(y, dtype=np.int64))
    shape = tuple(xt.shape[2:] if has_time_axis else xt.shape[1:])

    def part(idx: np.ndarray) -> LabeledTensors:
        return LabeledTensors(xt[idx], yt[idx])

    return Splits(part(train), part(val), part(test), n_classes=int(yt.max()) + 1, input_shape=shape,
                  has_time_axis=has_time_axis, name=name)


def check_folds(splits: Splits, folds: int) -> None:
    """InputError naming ``selection.folds`` when train + validation cannot be cut into ``folds`` stratified
    folds (a class with fewer samples than folds)."""
    labels = np.concatenate([splits.train.y.numpy(), splits.validation.y.numpy()])
    counts = np.bincount(labels, minlength=splits.n_classes)
    present = counts[counts > 0]
    if folds < 2:
        raise InputError(f"selection.folds: {folds} is too few; allowed: 2 up to the smallest class's count")
    if present.min() < folds:
        smallest = int(np.flatnonzero(counts == present.min())[0])
        raise InputError(f"selection.folds: {folds} folds need at least {folds} samples of every class in train + "
                         f"validation, class {smallest} has {int(present.min())}; allowed: 2 to "
                         f"{int(present.min())}")


def cross_validation_folds(splits: Splits, folds: int, seed: int) -> list[Splits]:
    """``folds`` stratified folds of train + validation, each as Splits: the fold held out as its validation
    split, the other folds as its train split, the test split unchanged (never part of a fold).

    Fold ``i`` is named ``<name>|cv<folds>s<seed>f<i>``, so caches keyed by split name tell folds apart.
    """
    from sklearn.model_selection import StratifiedKFold

    check_folds(splits, folds)
    x = torch.cat([splits.train.x, splits.validation.x])
    y = torch.cat([splits.train.y, splits.validation.y])
    labels = y.numpy()
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    result = []
    for i, (rest, held) in enumerate(splitter.split(np.zeros(len(labels)), labels)):
        rest_t, held_t = torch.from_numpy(np.sort(rest)), torch.from_numpy(np.sort(held))
        result.append(Splits(LabeledTensors(x[rest_t], y[rest_t]), LabeledTensors(x[held_t], y[held_t]),
                             splits.test, n_classes=splits.n_classes, input_shape=splits.input_shape,
                             has_time_axis=splits.has_time_axis, name=f"{splits.name}|cv{folds}s{seed}f{i}",
                             preprocessing=splits.preprocessing, class_labels=splits.class_labels))
    return result
