"""The IDX format of the MNIST files: a magic number naming element type and rank, big-endian dims, data.

Parsed with numpy alone (no torchvision): ``0x00 0x00 <type> <ndim>``, then ``ndim`` big-endian uint32 sizes.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from qsearch.errors import DataError

_TYPES: dict[int, np.dtype] = {0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"),
                               0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def parse_idx(data: bytes, *, source: str = "IDX data", ndim: int | None = None) -> np.ndarray:
    """Decode an IDX byte string into an array of native byte order; ``ndim`` checks the rank."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _TYPES:
        raise DataError(f"{source}: not an IDX file (magic number {data[:4].hex() or 'missing'})")
    dtype, rank = _TYPES[data[2]], data[3]
    if ndim is not None and rank != ndim:
        raise DataError(f"{source}: expected {ndim} dimension(s), the header says {rank}")
    header = 4 + 4 * rank
    if len(data) < header:
        raise DataError(f"{source}: truncated header")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=rank, offset=4))
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) - header != expected:
        raise DataError(f"{source}: header promises {expected} data bytes for shape {shape}, "
                         f"file has {len(data) - header}")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def read_idx(path: Path, *, ndim: int | None = None) -> np.ndarray:
    """Read a plain or gzip-compressed (``.gz``) IDX file."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        return parse_idx(f.read(), source=str(path), ndim=ndim)
