"""On-disk cache of binned frames: one ``.npz`` per (dataset, split, everything that changes the frames).

The key fields are hashed into the file name, so trials with the same timesteps reuse the binning, and a
changed transform, limit or tonic version can never be served stale frames — the pitfall of tonic's
``DiskCachedDataset``, which keys its files by sample index only (tonic#160). The key is also stored inside
the file and compared on load, so a hash prefix collision rebuilds instead of returning the wrong frames.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

FORMAT_VERSION = 1


def _canonical(fields: Mapping[str, object]) -> str:
    return json.dumps({"format": FORMAT_VERSION, **fields}, sort_keys=True, default=str)


def cache_key(fields: Mapping[str, object]) -> str:
    """Hex SHA-256 of the key fields (plus the cache format version), independent of their order."""
    return hashlib.sha256(_canonical(fields).encode()).hexdigest()


def cache_file(cache_dir: str | Path, fields: Mapping[str, object]) -> Path:
    """``<cache_dir>/<dataset>-<split>-T<timesteps>-<hash>.npz``; the readable prefix is for people only."""
    prefix = "-".join(str(fields.get(k, "")) for k in ("dataset", "split"))
    name = f"{prefix}-T{fields.get('timesteps', '')}-{cache_key(fields)[:20]}.npz"
    return Path(cache_dir).expanduser() / name


def _load(file: Path, fields: Mapping[str, object]) -> tuple[np.ndarray, np.ndarray] | None:
    try:
        with np.load(file, allow_pickle=False) as stored:
            if str(stored["key"]) != _canonical(fields):
                return None
            return stored["x"], stored["y"]
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile, zlib.error):
        return None  # unreadable or half-written: rebuild


def _save(file: Path, fields: Mapping[str, object], x: np.ndarray, y: np.ndarray) -> None:
    """Write a temporary file in the same folder, then rename: parallel workers never read a partial file."""
    file.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=file.parent, prefix=file.stem, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, x=x, y=y, key=np.array(_canonical(fields)))
        os.replace(tmp, file)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def cached_frames(cache_dir: str | Path | None, fields: Mapping[str, object],
                  build: Callable[[], tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """(frames, labels) from the cache file for ``fields``, else ``build()``, then stored; None: no cache."""
    if cache_dir is None:
        return build()
    file = cache_file(cache_dir, fields)
    hit = _load(file, fields) if file.is_file() else None
    if hit is not None:
        return hit
    x, y = build()
    _save(file, fields, x, y)
    return x, y
