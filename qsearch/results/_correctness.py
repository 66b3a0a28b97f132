"""Which samples a trial classified correctly, packed: the per-sample evidence behind a paired accuracy drop.

Stored compactly (``numpy.packbits`` + base64, JSON-safe) so every trial can carry its validation and test
correctness; :mod:`qsearch.results._paired` turns two such vectors into a paired drop with its interval.
"""

from __future__ import annotations

import base64
import binascii

import numpy as np
from numpy.typing import ArrayLike, NDArray

# ---------------------------------------------------------------------------------------------------------
# per-sample correctness, packed


def _bool_vector(name: str, values: ArrayLike) -> NDArray[np.bool_]:
    """``values`` as a 1-D boolean vector; 0/1 integers are accepted, anything else is refused by name."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D vector of per-sample correctness, got shape {arr.shape}")
    if arr.dtype == np.bool_:
        return arr
    if arr.size == 0 or (np.issubdtype(arr.dtype, np.integer) and bool(np.isin(arr, (0, 1)).all())):
        return arr.astype(np.bool_)
    raise ValueError(f"{name} must be boolean (or 0/1 integers), got dtype {arr.dtype}")


def pack_correct(correct: ArrayLike) -> str:
    """Encode a per-sample correctness vector as compact, JSON-safe text (``np.packbits`` + base64).

    One bit a sample: a 10,000-sample split is 1,668 characters, small enough to keep in every trial's
    attributes so that any two trials (or a trial and the baseline) can be paired later. The length is not
    stored; :func:`unpack_correct` needs it (it is the split's size, which the study knows).
    """
    bits = _bool_vector("correct", correct)
    return base64.b64encode(np.packbits(bits).tobytes()).decode("ascii")


def unpack_correct(packed: str, n: int) -> NDArray[np.bool_]:
    """Decode :func:`pack_correct`'s text back to the exact boolean vector of ``n`` samples.

    Refuses (ValueError) text that is not base64, whose byte count does not fit ``n`` samples, or that has
    bits set beyond sample ``n``: each means the vector was recorded for another split, and pairing it
    with this one would compare different samples.
    """
    if n < 0:
        raise ValueError(f"n must be a sample count >= 0, got {n}")
    try:
        raw = base64.b64decode(packed.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ValueError(f"packed correctness is not base64 text: {exc}") from exc
    expected = (n + 7) // 8
    if len(raw) != expected:
        raise ValueError(f"packed correctness holds {len(raw)} bytes ({len(raw) * 8} bits) but n={n} samples "
                         f"need {expected} bytes: it was recorded for a split of another size")
    bits = np.unpackbits(np.frombuffer(raw, dtype=np.uint8))
    if bits[n:].any():
        raise ValueError(f"packed correctness has bits set beyond sample n={n}: it was recorded for a split "
                         f"of another size")
    return bits[:n].astype(np.bool_)


__all__ = ["pack_correct", "unpack_correct"]
