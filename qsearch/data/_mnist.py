"""MNIST from its four IDX files (plain or ``.gz``): train file -> train + validation, t10k -> test."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from qsearch.data._idx import read_idx
from qsearch.data._missing import missing_files
from qsearch.data._splits import LabeledTensors, Splits
from qsearch.data._subsets import carve_validation, limit_indices
from qsearch.errors import DataError

MNIST_HOME = "http://yann.lecun.com/exdb/mnist/"
MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
               "t10k-labels-idx1-ubyte")


def _candidate_dirs(path: Path) -> list[Path]:
    """The folder itself, or torchvision's ``MNIST/raw`` below it (so an existing download is found too)."""
    return [path, path / "MNIST" / "raw"]


def find_mnist_files(path: str | Path) -> dict[str, Path]:
    """Base name -> existing file (plain before ``.gz``), from the first folder that holds all four."""
    root = Path(path).expanduser()
    for folder in _candidate_dirs(root):
        found = {}
        for base in MNIST_FILES:
            hits = [folder / name for name in (base, base + ".gz") if (folder / name).is_file()]
            if hits:
                found[base] = hits[0]
        if len(found) == len(MNIST_FILES):
            return found
    raise missing_files("mnist", [f"{b}[.gz]" for b in MNIST_FILES], _candidate_dirs(root),
                        f"download the four files from {MNIST_HOME}")


def _read_pair(images: Path, labels: Path) -> tuple[np.ndarray, np.ndarray]:
    x = read_idx(images, ndim=3)
    y = read_idx(labels, ndim=1)
    if len(x) != len(y):
        raise DataError(f"mnist: {images.name} has {len(x)} images but {labels.name} has {len(y)} labels")
    return x, y.astype(np.int64)


def _tensors(x: np.ndarray, y: np.ndarray, flatten: bool) -> LabeledTensors:
    scaled = x.astype(np.float32) / 255.0
    shaped = scaled.reshape(len(x), -1) if flatten else scaled[:, None, :, :]
    return LabeledTensors(torch.from_numpy(np.ascontiguousarray(shaped)), torch.from_numpy(y))


def load_mnist_splits(path: str | Path, *, seed: int = 0, validation_fraction: float = 0.1,
                      flatten: bool = True, limit_train: int | None = None,
                      limit_test: int | None = None) -> Splits:
    """Intensities /255 as float32, (N, 784) or (N, 1, 28, 28); ``limit_train`` counts train + validation."""
    files = find_mnist_files(path)
    x_train, y_train = _read_pair(files["train-images-idx3-ubyte"], files["train-labels-idx1-ubyte"])
    x_test, y_test = _read_pair(files["t10k-images-idx3-ubyte"], files["t10k-labels-idx1-ubyte"])
    keep = limit_indices(y_train, limit_train, seed, "limit_train")
    x_train, y_train = x_train[keep], y_train[keep]
    keep = limit_indices(y_test, limit_test, seed, "limit_test")
    x_test, y_test = x_test[keep], y_test[keep]
    train, val = carve_validation(y_train, validation_fraction, seed)
    shape = (int(np.prod(x_train.shape[1:])),) if flatten else (1, *x_train.shape[1:])
    return Splits(_tensors(x_train[train], y_train[train], flatten),
                  _tensors(x_train[val], y_train[val], flatten),
                  _tensors(x_test, y_test, flatten), n_classes=max(10, int(y_train.max()) + 1),
                  input_shape=tuple(int(s) for s in shape), name="mnist")
