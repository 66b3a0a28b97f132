"""Writers of tiny datasets in the real on-disk formats, and an independent reference for time binning.

A plain module (tests/ is on sys.path) so that data, study-file and end-to-end tests share one set of writers.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import h5py
import numpy as np

Events = dict[str, np.ndarray]  # x, y, t (microseconds), p


def random_events(rng: np.random.Generator, n: int, width: int, height: int, span_us: int) -> Events:
    t = np.sort(rng.choice(span_us, size=n, replace=False))
    return {"x": rng.integers(0, width, n), "y": rng.integers(0, height, n), "t": t,
            "p": rng.integers(0, 2, n)}


def reference_frames(ev: Events, timesteps: int, shape: tuple[int, int, int]) -> np.ndarray:
    """tonic's n_time_bins rule written out: windows of (t_last - t_first) // T; later events dropped."""
    t = ev["t"].astype(np.int64)
    frames = np.zeros((timesteps, *shape), dtype=np.int64)
    window = (t[-1] - t[0]) // timesteps
    if window == 0:
        return frames
    kept = t < t[0] + timesteps * window
    bins = (t[kept] - t[0]) // window
    np.add.at(frames, (bins, ev["p"][kept], ev["y"][kept], ev["x"][kept]), 1)
    return frames


# --- IDX (MNIST) -------------------------------------------------------------------------------------------

def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_mnist(folder: Path, n_train: int, n_test: int, *, gz: bool = False) -> dict[str, np.ndarray]:
    """Images whose first pixel encodes (label, index), so tests can match samples to labels."""
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = np.arange(n) % 10
        images = np.random.default_rng(n).integers(0, 256, (n, 28, 28)).astype(np.uint8)
        images[:, 0, 0] = labels * 20 + 5
        arrays[f"{prefix}_images"], arrays[f"{prefix}_labels"] = images, labels
        for kind, array in (("images-idx3-ubyte", images), ("labels-idx1-ubyte", labels)):
            data = idx_bytes(array)
            name = f"{prefix}-{kind}" + (".gz" if gz else "")
            (folder / name).write_bytes(gzip.compress(data) if gz else data)
    return arrays


# --- N-MNIST: 5-byte events, y == 240 marks a timestamp overflow (+2**13 us) ------------------------------

def nmnist_bytes(ev: Events, overflow_before: int | None = None) -> bytes:
    """Encode events; ``overflow_before``: an overflow marker precedes that event, later stamps lose 2**13."""
    out = bytearray()
    for i in range(len(ev["t"])):
        t = int(ev["t"][i])
        if overflow_before is not None and i == overflow_before:
            out += bytes([0, 240, 0, 0, 0])
        if overflow_before is not None and i >= overflow_before:
            t -= 2**13
            assert t >= 0, "an overflow marker needs later stamps of at least 2**13 us"
        out += bytes([int(ev["x"][i]), int(ev["y"][i]), (int(ev["p"][i]) << 7) | (t >> 16) & 0x7F,
                      (t >> 8) & 0xFF, t & 0xFF])
    return bytes(out)


def write_nmnist(root: Path, per_class: dict[str, int],
                 seed: int = 0) -> dict[str, list[tuple[Path, int, Events]]]:
    """``root/NMNIST/{Train,Test}/<digit>/<id>.bin`` as tonic extracts it; returns (file, label, events)."""
    rng = np.random.default_rng(seed)
    written: dict[str, list[tuple[Path, int, Events]]] = {}
    for split, n in per_class.items():
        written[split] = []
        for digit in range(10):
            for k in range(n):
                ev = random_events(rng, int(rng.integers(40, 80)), 34, 34, 300_000)
                file = root / "NMNIST" / split / str(digit) / f"{k:05d}.bin"
                file.parent.mkdir(parents=True, exist_ok=True)
                file.write_bytes(nmnist_bytes(ev, overflow_before=len(ev["t"]) // 2 if k == 0 else None))
                written[split].append((file, digit, ev))
        written[split].sort(key=lambda item: item[0])
    return written


# --- DVS Gesture: tonic's ibmGesture{Train,Test}/user<NN>_<lighting>/<label>.npy, columns x, y, p, t (ms) ---

def write_dvsgesture(root: Path, split: str, n_users: int, labels: range = range(11),
                     seed: int = 0) -> list[tuple[Path, int, Events]]:
    rng = np.random.default_rng(seed)
    written = []
    for user in range(1, n_users + 1):
        folder = root / "DVSGesture" / split / f"user{user:02d}_fluorescent"
        folder.mkdir(parents=True, exist_ok=True)
        for label in labels:
            ev = random_events(rng, int(rng.integers(30, 60)), 128, 128, 6_000)  # milliseconds
            columns = np.stack([ev["x"], ev["y"], ev["p"], ev["t"]], axis=1).astype(np.int64)
            np.save(folder / f"{label}.npy", columns)
            written.append((folder / f"{label}.npy", label, {**ev, "t": ev["t"] * 1000}))
    return sorted(written, key=lambda item: item[0])


# --- SHD: HDF5 with spikes/times (s, vlen float16), spikes/units (vlen uint16), labels, extra/ -------------

def write_shd(file: Path, n: int, seed: int = 0) -> list[tuple[int, Events]]:
    rng = np.random.default_rng(seed)
    file.parent.mkdir(parents=True, exist_ok=True)
    samples = []
    with h5py.File(file, "w") as f:
        times = f.create_dataset("spikes/times", (n,), dtype=h5py.vlen_dtype(np.dtype("float16")))
        units = f.create_dataset("spikes/units", (n,), dtype=h5py.vlen_dtype(np.dtype("uint16")))
        labels = np.arange(n) % 20
        for i in range(n):
            count = int(rng.integers(50, 100))
            times[i] = np.sort(rng.uniform(0, 0.9, count)).astype(np.float16)
            units[i] = rng.integers(0, 700, count).astype(np.uint16)
        f.create_dataset("labels", data=labels.astype(np.uint16))
        f.create_dataset("extra/keys", data=np.array([f"word-{k}".encode() for k in range(20)]))
        f.create_dataset("extra/speaker", data=np.zeros(n, dtype=np.uint16))
    with h5py.File(file, "r") as f:
        for i in range(n):
            t_us = (f["spikes/times"][i].astype(np.float64) * 1e6).astype(np.int64)
            u = f["spikes/units"][i].astype(np.int64)
            events = {"x": u, "y": np.zeros_like(u), "t": t_us, "p": np.zeros_like(u)}
            samples.append((int(labels[i]), events))
    return samples
