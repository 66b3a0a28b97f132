"""Where the samples of N-MNIST, DVS Gesture and SHD are on disk, and how each one's events are read.

tonic's dataset classes are used whenever they accept the files present (or ``download`` is set, so tonic
fetches them); they insist on a *full* download (N-MNIST >= 10,000 ``.bin`` files, DVS Gesture >= 100
``.npy`` plus the archive, SHD the ``.zip`` next to the ``.h5``). Otherwise the same on-disk layouts are read
with tonic's reader functions (N-MNIST), numpy (DVS Gesture's preprocessed ``.npy``) and h5py (SHD),
converting exactly as the classes' ``__getitem__`` does. Samples are ordered by path so that subsets and
caches are stable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.lib.recfunctions  # noqa: F401  (tonic's DVSGesture uses np.lib.recfunctions without importing it)

from qsearch.data._frames import as_events
from qsearch.data._missing import missing_files

Reader = Callable[[Sequence[int]], Iterator[np.ndarray]]


@dataclass(frozen=True)
class EventSource:
    """The samples of one given split: labels in a stable order and a reader of their events (EVENT_DTYPE)."""

    labels: np.ndarray
    read: Reader
    root: Path
    via: str  # "tonic dataset class" or "tonic readers"


@dataclass(frozen=True)
class EventDataset:
    """What differs between event datasets: sensor, classes, where to get them, how to find their samples."""

    name: str
    sensor_size: tuple[int, int, int]
    n_classes: int
    home: str
    source: Callable[[Path, bool, bool], EventSource]
    one_dimensional: bool = False


def _common(events: np.ndarray) -> np.ndarray:
    """tonic's per-dataset structured events -> EVENT_DTYPE (audio events get y = 0)."""
    y = events["y"] if "y" in (events.dtype.names or ()) else 0
    return as_events(events["x"], y, events["t"], events["p"])


class _NotPresent(Exception):
    pass


def _refuse_download(self: Any) -> None:
    raise _NotPresent


def tonic_dataset(cls: type, save_to: Path, download: bool, **kwargs: Any) -> Any | None:
    """tonic's dataset object if its own presence check passes (or it may download), else None.

    The probe subclass keeps the class name, because tonic stores data under ``save_to/<class name>``.
    """
    if download:
        return cls(str(save_to), **kwargs)
    probe = type(cls.__name__, (cls,), {"download": _refuse_download})
    try:
        return probe(str(save_to), **kwargs)
    except _NotPresent:
        return None


def _through_tonic(ds: Any, sort_keys: Sequence[Any], labels: Sequence[int] | np.ndarray,
                   root: Path) -> EventSource:
    order = sorted(range(len(labels)), key=lambda i: sort_keys[i])

    def read(indices: Sequence[int]) -> Iterator[np.ndarray]:
        for i in indices:
            yield _common(ds[order[i]][0])

    return EventSource(np.asarray(labels, dtype=np.int64)[order], read, root, "tonic dataset class")


def _first_with(candidates: list[Path], find: Callable[[Path], list[Path]]) -> tuple[Path, list[Path]] | None:
    for folder in candidates:
        files = find(folder) if folder.is_dir() else []
        if files:
            return folder, files
    return None


# --- N-MNIST: <save_to>/NMNIST/{Train,Test}/<digit>/<id>.bin, 5 bytes per event ---------------------------

def nmnist_source(path: Path, train: bool, download: bool) -> EventSource:
    from tonic.datasets import NMNIST
    from tonic.io import read_mnist_file

    ds = tonic_dataset(NMNIST, path, download, train=train)
    if ds is not None:
        return _through_tonic(ds, [Path(f) for f in ds.data], ds.targets, Path(ds.location_on_system))
    split = NMNIST.train_folder if train else NMNIST.test_folder
    candidates = [path / "NMNIST" / split, path / split]
    found = _first_with(candidates, lambda d: sorted(f for f in d.rglob("*.bin")
                                                     if f.parent.name[-1:].isdigit()))
    if found is None:
        raise missing_files("nmnist", [f"N-MNIST's {split}/<digit>/*.bin files"], candidates,
                            f"set download: true to let tonic fetch them, or get them from {NMNIST_HOME}")
    root, files = found

    def read(indices: Sequence[int]) -> Iterator[np.ndarray]:
        for i in indices:
            yield _common(read_mnist_file(str(files[i]), dtype=NMNIST.dtype))

    labels = np.array([int(f.parent.name[-1]) for f in files], dtype=np.int64)
    return EventSource(labels, read, root, "tonic readers")


# --- DVS Gesture: <save_to>/DVSGesture/ibmGesture{Train,Test}/user<NN>_<lighting>/<label>.npy -------------

def dvsgesture_source(path: Path, train: bool, download: bool) -> EventSource:
    from tonic.datasets import DVSGesture

    ds = tonic_dataset(DVSGesture, path, download, train=train)
    if ds is not None:
        return _through_tonic(ds, [Path(f) for f in ds.data], ds.targets, Path(ds.location_on_system))
    split = "ibmGestureTrain" if train else "ibmGestureTest"
    candidates = [path / "DVSGesture" / split, path / split]
    found = _first_with(candidates, lambda d: sorted(f for f in d.rglob("*.npy")
                                                     if f.parent != d and f.stem.isdigit()))
    if found is None:
        raise missing_files("dvsgesture", [f"{split}/user<NN>_<lighting>/<label>.npy (tonic's extracted "
                                           f"{split}.tar.gz)"], candidates,
                            f"set download: true to let tonic fetch them, or get them from {DVSGESTURE_HOME}")
    root, files = found

    def read(indices: Sequence[int]) -> Iterator[np.ndarray]:
        for i in indices:
            raw = np.load(files[i])  # columns x, y, p, t in milliseconds
            raw[:, 3] *= 1000
            yield _common(np.lib.recfunctions.unstructured_to_structured(raw, DVSGesture.dtype))

    labels = np.array([int(f.stem) for f in files], dtype=np.int64)
    return EventSource(labels, read, root, "tonic readers")


# --- SHD: <save_to>/SHD/shd_{train,test}.h5 with spikes/times (s), spikes/units, labels ---------------------

def shd_source(path: Path, train: bool, download: bool) -> EventSource:
    import h5py
    from tonic.datasets import SHD

    ds = tonic_dataset(SHD, path, download, train=train)
    if ds is not None:
        file = Path(ds.location_on_system) / ds.data_filename
        with h5py.File(file, "r") as f:
            labels = np.asarray(f["labels"][()], dtype=np.int64)
        return _through_tonic(ds, list(range(len(labels))), labels, file)
    name = "shd_train.h5" if train else "shd_test.h5"
    candidates = [path / "SHD", path]
    file = next((d / name for d in candidates if (d / name).is_file()), None)
    if file is None:
        raise missing_files("shd", [f"{name} (unzipped)"], candidates,
                            f"set download: true to let tonic fetch it, or get it from {SHD_HOME}")
    with h5py.File(file, "r") as f:
        labels = np.asarray(f["labels"][()], dtype=np.int64)

    def read(indices: Sequence[int]) -> Iterator[np.ndarray]:
        with h5py.File(file, "r") as f:
            times, units = f["spikes/times"], f["spikes/units"]
            for i in indices:
                t_us = (times[i].astype(np.float64) * 1e6).astype(np.int64)  # s -> us, as tonic does
                yield as_events(units[i], 0, t_us, 1)

    return EventSource(labels, read, file, "tonic readers")


NMNIST_HOME = "https://www.garrickorchard.com/datasets/n-mnist"
DVSGESTURE_HOME = "https://research.ibm.com/interactive/dvsgesture/"
SHD_HOME = "https://zenkelab.org/resources/spiking-heidelberg-datasets-shd/"

EVENT_DATASETS = {
    "nmnist": EventDataset("nmnist", (34, 34, 2), 10, NMNIST_HOME, nmnist_source),
    "dvsgesture": EventDataset("dvsgesture", (128, 128, 2), 11, DVSGESTURE_HOME, dvsgesture_source),
    "shd": EventDataset("shd", (700, 1, 1), 20, SHD_HOME, shd_source, one_dimensional=True),
}
