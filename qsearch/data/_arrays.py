"""Your own arrays from one ``.npz``: ``x`` and ``y``, or given splits ``x_train``, ``y_train``, ``x_test``,
``y_test`` (and optionally ``x_val``, ``y_val``).

``x`` is samples x features or samples x C x H x W; ``y`` holds non-negative integer class labels. The rate
and latency encoders read intensities as probabilities in [0, 1], so ``x`` is scaled into [0, 1] by a scaling
fitted on the training split only (:mod:`qsearch.data._scaling`): per feature for tabular data in unrelated
units, one global divisor for images.

The file is the user's: it is read as numeric arrays only (never unpickled), and anything else (a truncated
archive, a file that is not an ``.npz``, object arrays) is refused in one line naming it. Labels are checked
over all splits together: at most :data:`MAX_CLASSES` classes, and a sparse label set (such as 0, 1, 1000000)
is remapped to 0..K-1 in sorted order, with a :class:`LabelsRemapped` warning and the original label of each
output kept as :attr:`Splits.class_labels <qsearch.data.Splits.class_labels>` (and in
``Splits.preprocessing["class_labels"]``, which the study records).
"""

from __future__ import annotations

import warnings
import zipfile
import zlib
from pathlib import Path
from typing import IO

import numpy as np
import torch

from qsearch.data._missing import missing_files
from qsearch.data._scaling import Scaling, fit_scaling
from qsearch.data._splits import LabeledTensors, Splits
from qsearch.data._subsets import carve_validation, three_way
from qsearch.errors import DataError, QsearchWarning

_GIVEN = ("x_train", "y_train", "x_test", "y_test")
_VAL = ("x_val", "y_val")

#: the most classes an npz may hold. The output layer has one neuron per class, and the float baseline, every
#: trial and the memory objective pay for each; past this, a file's labels are far likelier to be ids or
#: regression targets than classes (so 5000 distinct labels are refused in one line, not trained for minutes).
MAX_CLASSES = 1000
#: labels are remapped to 0..K-1 when the largest label + 1 exceeds this many times the K distinct labels: the
#: unused outputs would otherwise cost memory (counted in every trial's objective) and never be trained
SPARSE_LABELS_FACTOR = 2
_NPY_MAGIC = b"\x93NUMPY"
_SAVEZ = "write one with numpy.savez(path, x=..., y=...)"


class LabelsRemapped(QsearchWarning):
    """An npz's sparse labels were remapped to 0..K-1; ``Splits.class_labels`` maps each output back."""


def _read(path: Path) -> dict[str, np.ndarray]:
    """The file's arrays by name, as numeric arrays only: a user's file is never unpickled."""
    if not path.is_file():
        raise missing_files("npz", ["an .npz with arrays x, y (or x_train, y_train, x_test, y_test)"], [path],
                            _SAVEZ)
    try:
        with path.open("rb") as stream:
            if stream.read(len(_NPY_MAGIC)) == _NPY_MAGIC:
                raise DataError(f"dataset.path: {path} is a single .npy array, not an .npz archive; {_SAVEZ}")
            stream.seek(0)
            if not zipfile.is_zipfile(stream):
                raise DataError(f"dataset.path: {path} is not a readable .npz archive (truncated or not a zip "
                                f"file); {_SAVEZ}")
            stream.seek(0)
            with zipfile.ZipFile(stream) as archive:
                arrays = {}
                for member in archive.namelist():
                    key = member.removesuffix(".npy")
                    with archive.open(member) as data:
                        arrays[key] = _array(data, path, key)
                return arrays
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError):
        # RuntimeError: an encrypted member; NotImplementedError: a compression numpy never writes
        raise DataError(f"dataset.path: {path} is not a readable .npz archive (truncated or corrupt); "
                        f"{_SAVEZ}") from None
    except OSError as error:
        raise DataError(f"dataset.path: {path} cannot be read ({error.strerror or error})") from None


def _array(data: IO[bytes], path: Path, key: str) -> np.ndarray:
    """One archive member as a numeric array; object arrays (which only pickle can load) are refused."""
    try:
        version = np.lib.format.read_magic(data)
        header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        _, _, dtype = header(data)  # a 3.0 header has 2.0's layout (utf-8 field names)
    except ValueError:
        raise DataError(f"dataset.path: {path}: {key} is not a numpy array; {_SAVEZ}") from None
    if dtype.hasobject:
        raise DataError(f"dataset.path: {path}: {key} holds Python objects (dtype {dtype}), which are not "
                        "loaded; save numeric arrays, e.g. x.astype(np.float32), y.astype(np.int64)")
    data.seek(0)
    try:
        return np.lib.format.read_array(data, allow_pickle=False)
    except ValueError:
        raise DataError(f"dataset.path: {path}: {key} is not a readable array (truncated or corrupt)") from None


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


def _check(name: str, x: np.ndarray, y: np.ndarray, shape: tuple[int, ...], has_time_axis: bool = False) -> None:
    suffix = "" if name == "all" else f"_{'val' if name == 'validation' else name}"
    if has_time_axis and x.ndim not in (3, 5):
        raise ValueError(f"x{suffix}: frames must be samples x T x channels or samples x T x C x H x W, got shape "
                         f"{x.shape}")
    if not has_time_axis and x.ndim not in (2, 4):
        raise ValueError(f"x{suffix}: must be samples x features or samples x C x H x W, got shape {x.shape}")
    if x.shape[1:] != shape:
        raise ValueError(f"x{suffix}: sample shape {x.shape[1:]} differs from x_train's {shape}")
    if y.ndim != 1 or len(y) != len(x):
        raise ValueError(f"y{suffix}: must hold one label per sample of x{suffix} ({len(x)}), "
                         f"got shape {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y{suffix}: must hold non-negative integer class labels, got dtype {y.dtype}"
                         f"{_not_integer(y, suffix)}")
    if len(y) and y.min() < 0:
        raise ValueError(f"y{suffix}: must hold non-negative integer class labels, got {int(y.min())}")
    if len(y) and y.max() > np.iinfo(np.int64).max:
        raise ValueError(f"y{suffix}: labels must fit in int64, got {int(y.max())}")
    if not np.issubdtype(x.dtype, np.number) or not np.isfinite(x).all():
        raise ValueError(f"x{suffix}: must hold finite numbers")


def _not_integer(y: np.ndarray, suffix: str) -> str:
    """What is wrong with float labels: a value that is not a whole number, or a hint to cast whole ones."""
    if not np.issubdtype(y.dtype, np.floating) or not len(y):
        return ""
    fractional = ~np.isfinite(y) | (y != np.round(y))
    if fractional.any():
        return f" (such as {float(y[fractional][0])!r})"
    return f"; its values are whole numbers: save y{suffix}.astype(np.int64)"


def class_labels(where: str, labels: dict[str, np.ndarray]) -> np.ndarray | None:
    """The sorted distinct labels of all splits together when they must be remapped to 0..K-1 (a label seen
    in one split only maps like the rest), else None; more than :data:`MAX_CLASSES` is refused."""
    classes = np.unique(np.concatenate([y.astype(np.int64, copy=False) for y in labels.values()]))
    if len(classes) > MAX_CLASSES:
        raise DataError(f"{where}: y: {len(classes)} distinct labels; at most {MAX_CLASSES} classes are "
                        "allowed (one output neuron each); are these class labels?")
    largest = int(classes[-1]) if len(classes) else -1
    if largest + 1 <= SPARSE_LABELS_FACTOR * len(classes):
        return None
    shown = ", ".join(str(c) for c in classes[:5]) + (", ..." if len(classes) > 5 else "")
    warnings.warn(f"{where}: y: {len(classes)} distinct labels up to {largest} ({shown}) remapped to "
                  f"0..{len(classes) - 1} in sorted order; output i means label class_labels[i]",
                  LabelsRemapped, stacklevel=3)
    return classes


def check_usable(where: str, labels: dict[str, np.ndarray]) -> None:
    """Refuse data a study cannot learn from or measure: fewer than two classes, or a train/validation/test
    split with fewer samples than there are classes (a 1-sample test split reads 0 % or 100 %)."""
    classes = np.unique(np.concatenate(list(labels.values())))
    counts = ", ".join(f"{name} {len(y)}" for name, y in labels.items())
    if len(classes) < 2:
        raise DataError(f"{where} holds {len(classes)} class ({counts} samples); a classifier needs at least 2")
    if any(len(y) < len(classes) for y in labels.values()):
        raise DataError(f"{where} is too small to split: {counts} samples for {len(classes)} classes; each "
                        "split needs at least one sample per class")


def load_npz_splits(path: str | Path, *, seed: int = 0, validation_fraction: float = 0.2,
                    test_fraction: float = 0.2, scaling: Scaling = "auto") -> Splits:
    """Stratified seeded splits of ``x``/``y``, or the file's given splits (validation carved from train);
    intensities scaled into [0, 1] by ``scaling`` fitted on the training split."""
    file = Path(path).expanduser()
    return arrays_to_splits(_pairs(_read(file), file), f"npz: {file}", seed=seed,
                            validation_fraction=validation_fraction, test_fraction=test_fraction, scaling=scaling)


def arrays_to_splits(pairs: dict[str, tuple[np.ndarray, np.ndarray]], where: str, *, seed: int,
                     validation_fraction: float, test_fraction: float, scaling: Scaling, name: str = "npz",
                     has_time_axis: bool = False) -> Splits:
    """:class:`Splits` of labelled arrays by split name (``all``; or ``train``, ``test`` and optionally
    ``validation``), by the npz rules: labels checked and remapped over all splits, seeded stratified splits
    (validation carved from train when not given), static intensities scaled by ``scaling`` fitted on train.
    Frames (``has_time_axis``: samples x T x ...) pass unscaled, as the event readers' frames do. ``where``
    starts every error line (``npz: FILE``, or ``data`` for arrays given in Python)."""
    shape = next(iter(pairs.values()))[0].shape[1:]
    for split, (x, y) in pairs.items():
        try:
            _check(split, x, y, shape, has_time_axis)
        except ValueError as error:
            raise DataError(f"{where}: {error}") from None
    original = class_labels(where, {split: y for split, (_, y) in pairs.items()})
    if original is not None:
        pairs = {split: (x, np.searchsorted(original, y)) for split, (x, y) in pairs.items()}
    if "all" in pairs:
        x, y = pairs.pop("all")
        train, val, test = three_way(y, validation_fraction, test_fraction, seed)
        pairs = {"train": (x[train], y[train]), "validation": (x[val], y[val]), "test": (x[test], y[test])}
    elif "validation" not in pairs:
        x, y = pairs["train"]
        train, val = carve_validation(y, validation_fraction, seed)
        pairs["train"], pairs["validation"] = (x[train], y[train]), (x[val], y[val])

    check_usable(where, {split: y for split, (_, y) in pairs.items()})
    kind: Scaling = "none" if has_time_axis else scaling
    if kind == "none" and any(x.size and x.min() < 0 for x, _ in pairs.values()):
        rule = ("frames hold spike counts, which cannot be negative" if has_time_axis
                else "dataset.scaling none needs non-negative intensities; use auto, feature or global")
        raise DataError(f"{where}: x: {rule}")
    fitted = fit_scaling(kind, pairs["train"][0])

    def tensors(split: str) -> LabeledTensors:
        x, y = pairs[split]
        return LabeledTensors(torch.from_numpy(fitted.apply(x)), torch.from_numpy(y.astype(np.int64)))

    n_classes = max(int(y.max()) + 1 for _, y in pairs.values() if len(y))
    kept = None if original is None else tuple(int(c) for c in original)
    preprocessing: dict = {"scaling": fitted.describe()}
    if kept is not None:
        preprocessing["class_labels"] = list(kept)
    sample_shape = shape[1:] if has_time_axis else shape
    return Splits(tensors("train"), tensors("validation"), tensors("test"), n_classes=n_classes,
                  input_shape=tuple(int(s) for s in sample_shape), has_time_axis=has_time_axis, name=name,
                  preprocessing=preprocessing, class_labels=kept)
