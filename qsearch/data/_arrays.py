"""Your own arrays from one ``.npz``: ``x`` and ``y``, or given splits ``x_train``, ``y_train``, ``x_test``,
``y_test`` (and optionally ``x_val``, ``y_val``).

``x`` is samples x features or samples x C x H x W; ``y`` holds integer class labels 0..K-1. The rate and
latency encoders read intensities as probabilities in [0, 1], so ``x`` is scaled into [0, 1] by a scaling
fitted on the training split only (:mod:`qsearch.data._scaling`): per feature for tabular data in unrelated
units, one global divisor for images.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from qsearch.data._missing import missing_files
from qsearch.data._scaling import Scaling, fit_scaling
from qsearch.data._splits import LabeledTensors, Splits
from qsearch.data._subsets import carve_validation, three_way
from qsearch.errors import DataError

_GIVEN = ("x_train", "y_train", "x_test", "y_test")
_VAL = ("x_val", "y_val")


def _read(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise missing_files("npz", ["an .npz with arrays x, y (or x_train, y_train, x_test, y_test)"], [path],
                            "write one with numpy.savez(path, x=..., y=...)")
    with np.load(path, allow_pickle=False) as archive:
        return {k: archive[k] for k in archive.files}


def _pairs(arrays: dict[str, np.ndarray], path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Split name -> (x, y) as stored; which keys form which split, with errors naming the missing keys."""
    keys = set(arrays)
    given = keys & set(_GIVEN + _VAL)
    if {"x", "y"} <= keys and not given:
        return {"all": (arrays["x"], arrays["y"])}
    if {"x", "y"} & keys and given:
        raise DataError(f"npz: {path} mixes x/y with given splits {sorted(given)}; use one or the other")
    if not given:
        missing = [k for k in ("x", "y") if k not in keys]
    else:
        missing = [k for k in _GIVEN + (_VAL if keys & set(_VAL) else ()) if k not in keys]
    if not given or missing:
        raise DataError(f"npz: {path} lacks {', '.join(missing)}; allowed keys: x, y, or "
                         f"{', '.join(_GIVEN)} with optional {', '.join(_VAL)}")
    pairs = {"train": (arrays["x_train"], arrays["y_train"]), "test": (arrays["x_test"], arrays["y_test"])}
    if "x_val" in keys:
        pairs["validation"] = (arrays["x_val"], arrays["y_val"])
    return pairs


def _check(name: str, x: np.ndarray, y: np.ndarray, shape: tuple[int, ...]) -> None:
    suffix = "" if name == "all" else f"_{'val' if name == 'validation' else name}"
    if x.ndim not in (2, 4):
        raise ValueError(f"x{suffix}: must be samples x features or samples x C x H x W, got shape {x.shape}")
    if x.shape[1:] != shape:
        raise ValueError(f"x{suffix}: sample shape {x.shape[1:]} differs from x_train's {shape}")
    if y.ndim != 1 or len(y) != len(x):
        raise ValueError(f"y{suffix}: must hold one label per sample of x{suffix} ({len(x)}), "
                         f"got shape {y.shape}")
    if not np.issubdtype(y.dtype, np.integer) or (len(y) and y.min() < 0):
        raise ValueError(f"y{suffix}: must hold non-negative integer class labels, got dtype {y.dtype}")
    if not np.issubdtype(x.dtype, np.number) or not np.isfinite(x).all():
        raise ValueError(f"x{suffix}: must hold finite numbers")


def check_usable(file: Path, labels: dict[str, np.ndarray]) -> None:
    """Refuse data a study cannot learn from or measure: fewer than two classes, or a train/validation/test
    split with fewer samples than there are classes (a 1-sample test split reads 0 % or 100 %)."""
    classes = np.unique(np.concatenate(list(labels.values())))
    counts = ", ".join(f"{name} {len(y)}" for name, y in labels.items())
    if len(classes) < 2:
        raise DataError(f"npz: {file} holds {len(classes)} class ({counts} samples); a classifier needs at least 2")
    if any(len(y) < len(classes) for y in labels.values()):
        raise DataError(f"npz: {file} is too small to split: {counts} samples for {len(classes)} classes; each "
                        "split needs at least one sample per class")


def load_npz_splits(path: str | Path, *, seed: int = 0, validation_fraction: float = 0.2,
                    test_fraction: float = 0.2, scaling: Scaling = "auto") -> Splits:
    """Stratified seeded splits of ``x``/``y``, or the file's given splits (validation carved from train);
    intensities scaled into [0, 1] by ``scaling`` fitted on the training split."""
    file = Path(path).expanduser()
    pairs = _pairs(_read(file), file)
    shape = next(iter(pairs.values()))[0].shape[1:]
    for name, (x, y) in pairs.items():
        try:
            _check(name, x, y, shape)
        except ValueError as error:
            raise DataError(f"npz: {file}: {error}") from None
    if "all" in pairs:
        x, y = pairs.pop("all")
        train, val, test = three_way(y, validation_fraction, test_fraction, seed)
        pairs = {"train": (x[train], y[train]), "validation": (x[val], y[val]), "test": (x[test], y[test])}
    elif "validation" not in pairs:
        x, y = pairs["train"]
        train, val = carve_validation(y, validation_fraction, seed)
        pairs["train"], pairs["validation"] = (x[train], y[train]), (x[val], y[val])

    check_usable(file, {name: y for name, (_, y) in pairs.items()})
    if scaling == "none" and any(x.size and x.min() < 0 for x, _ in pairs.values()):
        raise DataError(f"npz: {file}: x: dataset.scaling none needs non-negative intensities; "
                        "use auto, feature or global")
    fitted = fit_scaling(scaling, pairs["train"][0])

    def tensors(name: str) -> LabeledTensors:
        x, y = pairs[name]
        return LabeledTensors(torch.from_numpy(fitted.apply(x)), torch.from_numpy(y.astype(np.int64)))

    n_classes = max(int(y.max()) + 1 for _, y in pairs.values() if len(y))
    return Splits(tensors("train"), tensors("validation"), tensors("test"), n_classes=n_classes,
                  input_shape=tuple(int(s) for s in shape), name="npz",
                  preprocessing={"scaling": fitted.describe()})
