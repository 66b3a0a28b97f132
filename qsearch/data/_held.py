"""Data given in Python (``qsearch.run(data=...)``): arrays held in this process under a content fingerprint.

A study file names such data by its fingerprint (``dataset.name: python``), a SHA-256 of the materialized
arrays, never by the arrays themselves. The study then records which data it was run on, continuing it on other
data is refused as a changed study file is, and a process that was not handed the arrays (``qsearch export`` in
a shell) says so in one line. The arrays become :class:`~qsearch.data.Splits` by the npz reader's rules.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from qsearch.data._arrays import arrays_to_splits
from qsearch.data._scaling import Scaling
from qsearch.data._splits import Splits
from qsearch.errors import DataError

#: split name -> (x, y); ``all`` alone (split by the study's fractions), or ``train``, ``test`` [, ``validation``]
ArrayPairs = dict[str, tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class HeldData:
    pairs: ArrayPairs
    has_time_axis: bool  # frames (samples x T x ...), passed through; else static intensities, spike-encoded


_HELD: dict[str, HeldData] = {}


def data_fingerprint(pairs: ArrayPairs, has_time_axis: bool) -> str:
    """SHA-256 of the arrays' splits, dtypes, shapes and bytes (the same data hashes the same in any process)."""
    digest = hashlib.sha256(b"frames" if has_time_axis else b"static")
    for split in sorted(pairs):
        for array in pairs[split]:
            contiguous = np.ascontiguousarray(array)
            digest.update(f"|{split}|{contiguous.dtype.str}|{contiguous.shape}|".encode())
            digest.update(contiguous.data)
    return digest.hexdigest()


def hold_data(pairs: ArrayPairs, has_time_axis: bool) -> str:
    """Keep ``pairs`` for this process's trials; returns their fingerprint (``dataset.fingerprint``)."""
    fingerprint = data_fingerprint(pairs, has_time_axis)
    _HELD.setdefault(fingerprint, HeldData(dict(pairs), has_time_axis))
    return fingerprint


def held_frames(fingerprint: str) -> bool:
    """Whether the held data set ``fingerprint`` is frames (samples x T x ...)."""
    return _held(fingerprint).has_time_axis


def _held(fingerprint: str) -> HeldData:
    held = _HELD.get(fingerprint)
    if held is None:
        raise DataError(f"dataset.fingerprint: this study's data ({fingerprint[:12]}) was given in Python to "
                        "another process; give it again, e.g. qsearch.load(storage, name, data=...)")
    return held


def load_held_splits(fingerprint: str, *, seed: int, validation_fraction: float, test_fraction: float,
                     scaling: Scaling) -> Splits:
    """The held data set as :class:`Splits` (the npz rules: stratified seeded splits, scaling fitted on train)."""
    held = _held(fingerprint)
    return arrays_to_splits(dict(held.pairs), "data", seed=seed, validation_fraction=validation_fraction,
                            test_fraction=test_fraction, scaling=scaling, name=f"python-{fingerprint[:12]}",
                            has_time_axis=held.has_time_axis)


__all__ = ["ArrayPairs", "data_fingerprint", "held_frames", "hold_data", "load_held_splits"]
