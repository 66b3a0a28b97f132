"""N-MNIST-like event recordings of real MNIST digits: the saccade protocol and a small v2e-style DVS model.

No public event data can be downloaded here, so this re-enacts how N-MNIST was made (Orchard et al. 2015,
"Converting static image datasets to spiking neuromorphic datasets using saccades"): a static digit on a
monitor, an event sensor moved in three ~100 ms saccades that trace a triangle (down-right, left, up-right
back to the start). The sensor is simulated as in v2e (Hu et al. 2021), reduced to what matters at 34x34:

1. Scene: the 28x28 digit (0..255) centred on a dark canvas, luminance ``black + (1 - black) * v / 255``
   (a monitor filmed in a lit room never reaches zero), blurred by the lens (Gaussian PSF, ``blur_px``).
2. Motion: the 34x34 view follows the triangle (0, 0) -> (a, a) -> (-a, a) -> (0, 0) pixels, centred, with
   a minimum-jerk velocity profile per saccade (the pan-tilt unit starts and stops smoothly); each ``step_us``
   the view is resampled with bilinear interpolation (sub-pixel shifts).
3. Pixels: log luminance against a memorised level; each crossing of the pixel's ON (OFF) threshold emits
   one ON (OFF) event and moves the level by that threshold. Thresholds are ``threshold`` with a fixed
   per-pixel Gaussian mismatch (``threshold_sigma``; one sensor records every digit). Events of one step are
   spread evenly over it; an event within ``refractory_us`` of the pixel's previous event is lost.
4. Noise: background activity, Poisson with ``noise_hz`` per pixel, random polarity, uniform in time.

Output: the real N-MNIST binary format (5 bytes per event: x, y, polarity bit 7 | 23-bit microsecond stamp)
under ``root/NMNIST/{Train,Test}/<digit>/<id>.bin``, as tonic extracts the real data set.

:meth:`DvsModel.dvs128` films the same digits with DVS Gesture's 128x128 sensor instead: scaled to 96 px,
three triangles in a row (0.9 s, ~180,000 events), written as tonic's preprocessed DVS Gesture arrays
(:func:`write_dvsgesture_like`). Only the recording differs from DVS Gesture: digits, not hand gestures.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

SIZE = 34  # N-MNIST's sensor crop, pixels
DIGIT = 28  # MNIST's image side


@dataclass(frozen=True)
class DvsModel:
    """The simulated recording set-up: N-MNIST's saccade timing, v2e's default thresholds (0.2 +- 0.03 log).

    The screen's contrast (``black``) sets how many events an edge makes: 0.2 gives ~4,650 events per 300 ms
    recording of a real digit, a few thousand as in N-MNIST itself.
    """

    saccade_us: int = 100_000
    amplitude_px: float = 3.0  # a: the triangle spans 2a horizontally and a vertically
    step_us: int = 500
    black: float = 0.2  # monitor black level relative to white (a filmed screen: ~5:1)
    blur_px: float = 0.6
    threshold: float = 0.2
    threshold_sigma: float = 0.03
    refractory_us: int = 500
    noise_hz: float = 0.5
    seed: int = 0  # the sensor's threshold mismatch map
    sensor_px: int = SIZE  # the recorded view's side
    image_px: int = DIGIT  # the digit's side on the screen (bilinearly scaled from 28x28)
    cycles: int = 1  # triangles traced one after another (3 saccades each)

    @classmethod
    def dvs128(cls, image_px: int = 96, cycles: int = 3) -> DvsModel:
        """A DVS128 (DVS Gesture's sensor) filming a digit ``image_px`` wide through repeated triangles.

        The saccade's amplitude scales with the digit (N-MNIST's 3 px per 28 px), so each edge sweeps the same
        share of the digit; lens blur, thresholds, refractory period and noise are the sensor's and stay.
        """
        return cls(sensor_px=128, image_px=image_px, cycles=cycles, amplitude_px=3.0 * image_px / DIGIT,
                   step_us=1000)

    def thresholds(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-pixel (ON, OFF) thresholds, fixed for the sensor."""
        rng = np.random.default_rng(self.seed)
        side = (self.sensor_px, self.sensor_px)
        on, off = (np.clip(rng.normal(self.threshold, self.threshold_sigma, side), 0.01, None)
                   for _ in range(2))
        return on, off


def view_offsets(model: DvsModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(t_us, dx, dy) of the view at each simulation step; offsets centred on the triangle's bounding box."""
    a = model.amplitude_px
    corners = np.array([(0.0, 0.0), (a, a), (-a, a), (0.0, 0.0)])
    per = model.saccade_us // model.step_us
    u = np.arange(per) / per
    s = 10 * u**3 - 15 * u**4 + 6 * u**5  # minimum jerk
    path = np.concatenate([corners[k] + s[:, None] * (corners[k + 1] - corners[k]) for k in range(3)]
                          * model.cycles + [corners[3:]])
    t = np.arange(len(path)) * model.step_us
    return t, path[:, 0], path[:, 1] - a / 2


def scene(images: np.ndarray, model: DvsModel) -> np.ndarray:
    """Log luminance of a batch of 28x28 digits (B, 784 of 0..255), scaled to ``image_px`` and centred on a
    canvas wide enough to move."""
    from scipy.ndimage import gaussian_filter, zoom

    size, side = model.sensor_px, model.image_px
    digits = images.reshape(-1, DIGIT, DIGIT) / 255.0
    if side != DIGIT:
        digits = np.clip(zoom(digits, (1, side / DIGIT, side / DIGIT), order=1, grid_mode=True,
                              mode="grid-constant"), 0, 1)
    margin = int(np.ceil(model.amplitude_px)) + 2
    big = np.zeros((len(images), size + 2 * margin + 1, size + 2 * margin + 1))
    start = margin + (size - side) // 2
    big[:, start:start + side, start:start + side] = digits
    if model.blur_px > 0:
        big = gaussian_filter(big, sigma=(0, model.blur_px, model.blur_px))
    return np.log(model.black + (1 - model.black) * big)


def view(lum: np.ndarray, dx: float, dy: float, size: int = SIZE) -> np.ndarray:
    """The ``size`` x ``size`` window of :func:`scene` shifted by (dx, dy) pixels, bilinearly interpolated."""
    margin = (lum.shape[-1] - 1 - size) // 2
    ox, oy = margin + dx, margin + dy
    ix, iy = int(np.floor(ox)), int(np.floor(oy))
    fx, fy = ox - ix, oy - iy

    def win(r: int, c: int) -> np.ndarray:
        return lum[:, iy + r:iy + r + size, ix + c:ix + c + size]

    return (1 - fx) * (1 - fy) * win(0, 0) + fx * (1 - fy) * win(0, 1) + (1 - fx) * fy * win(1, 0) \
        + fx * fy * win(1, 1)


def record(images: np.ndarray, model: DvsModel, rng: np.random.Generator) -> list[dict[str, np.ndarray]]:
    """Events (x, y, t in us, p: 1 ON / 0 OFF), time-ordered, of each digit in a batch (B, 784) of 0..255."""
    t, dx, dy = view_offsets(model)
    lum = scene(images, model)
    on, off = model.thresholds()
    size = model.sensor_px
    level = view(lum, dx[0], dy[0], size)
    last = np.full(level.shape, -(10**12), dtype=np.int64)  # each pixel's latest event
    chunks: list[tuple[np.ndarray, ...]] = []
    for k in range(1, len(t)):
        diff = view(lum, dx[k], dy[k], size) - level
        n_on = np.floor(np.maximum(diff, 0) / on).astype(np.int64)
        n_off = np.floor(np.maximum(-diff, 0) / off).astype(np.int64)
        level += n_on * on - n_off * off
        b, y, x = np.nonzero(n_on + n_off)  # a pixel crosses one way per step
        if not len(b):
            continue
        c = (n_on + n_off)[b, y, x]
        rep = np.repeat(np.arange(len(c)), c)
        j = np.arange(len(rep)) - np.repeat(np.cumsum(c) - c, c)  # index within the pixel's burst
        stamp = t[k - 1] + ((j + 1) * model.step_us) // (c[rep] + 1)
        # refractory: the first event past the pixel's dead time, then every m-th (spacing step/(c+1))
        ready = stamp >= last[b, y, x][rep] + model.refractory_us
        first = np.full(len(c), np.iinfo(np.int64).max)
        np.minimum.at(first, rep[ready], j[ready])
        m = np.maximum(1, -(-model.refractory_us * (c + 1) // model.step_us))
        kept = ready & ((j - first[rep]) % m[rep] == 0)
        r = rep[kept]
        np.maximum.at(last, (b[r], y[r], x[r]), stamp[kept])
        chunks.append((b[r], x[r], y[r], stamp[kept], (n_on[b, y, x] > 0).astype(np.int64)[r]))
    empty = np.zeros(0, dtype=np.int64)
    b, x, y, stamp, p = (np.concatenate(parts) for parts in zip(*chunks, strict=True)) if chunks else \
        (empty,) * 5
    order = np.lexsort((stamp, b))
    b, x, y, stamp, p = b[order], x[order], y[order], stamp[order], p[order]
    bounds = np.searchsorted(b, np.arange(len(images) + 1))
    out = []
    duration = int(t[-1])
    for d in range(len(images)):
        mine = slice(bounds[d], bounds[d + 1])
        n_noise = rng.poisson(model.noise_hz * size * size * duration / 1e6)
        ev = {"x": np.concatenate([x[mine], rng.integers(0, size, n_noise)]),
              "y": np.concatenate([y[mine], rng.integers(0, size, n_noise)]),
              "t": np.concatenate([stamp[mine], rng.integers(0, duration, n_noise)]),
              "p": np.concatenate([p[mine], rng.integers(0, 2, n_noise)])}
        order = np.argsort(ev["t"], kind="stable")
        out.append({key: value[order].astype(np.int64) for key, value in ev.items()})
    return out


def nmnist_bytes(ev: dict[str, np.ndarray]) -> bytes:
    """N-MNIST's 40-bit events; stamps stay below 2**23 us, so no overflow markers are needed."""
    t = ev["t"].astype(np.int64)
    if len(t) and t.max() >= 2**23:
        raise ValueError("N-MNIST stamps have 23 bits; recordings must be shorter than 8.3 s")
    raw = np.stack([ev["x"], ev["y"], (ev["p"] << 7) | (t >> 16), (t >> 8) & 0xFF, t & 0xFF], axis=1)
    return raw.astype(np.uint8).tobytes()


def write_nmnist_like(root: Path, images: np.ndarray, labels: np.ndarray, split: str, model: DvsModel,
                      seed: int = 0, batch: int = 250) -> int:
    """Record each digit into ``root/NMNIST/<split>/<label>/<id>.bin``; returns the number of events."""
    rng = np.random.default_rng([seed, 1 if split == "Train" else 2])
    total = 0
    for first in range(0, len(images), batch):
        for i, ev in enumerate(record(images[first:first + batch], model, rng), start=first):
            file = root / "NMNIST" / split / str(int(labels[i])) / f"{i:05d}.bin"
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_bytes(nmnist_bytes(ev))
            total += len(ev["t"])
    return total


LIGHTINGS = ("fluorescent", "fluorescent_led", "lab", "led", "natural")  # DVS Gesture's lighting conditions


def dvsgesture_columns(ev: dict[str, np.ndarray]) -> np.ndarray:
    """tonic's preprocessed DVS Gesture array: columns x, y, p, t in milliseconds (int32: t * 1000 still fits)."""
    return np.stack([ev["x"], ev["y"], ev["p"], ev["t"] // 1000], axis=1).astype(np.int32)


def write_dvsgesture_like(root: Path, images: np.ndarray, labels: np.ndarray, split: str, model: DvsModel,
                          first_user: int, seed: int = 0, batch: int = 25) -> int:
    """Record each digit into ``root/DVSGesture/<split>/user<NN>_<lighting>/<label>.npy``; returns the events.

    As in DVS Gesture, a folder is one session (user, lighting) holding one recording per class: the k-th
    digit of each class goes to session k (users from ``first_user`` on, five lightings each).
    """
    rank = np.empty(len(labels), dtype=np.int64)
    for label in np.unique(labels):
        mine = np.flatnonzero(labels == label)
        rank[mine] = np.arange(len(mine))
    rng = np.random.default_rng([seed, 1 if split == "ibmGestureTrain" else 2])
    total = 0
    for first in range(0, len(images), batch):
        for i, ev in enumerate(record(images[first:first + batch], model, rng), start=first):
            user, lighting = first_user + rank[i] // len(LIGHTINGS), LIGHTINGS[rank[i] % len(LIGHTINGS)]
            file = root / "DVSGesture" / split / f"user{user:02d}_{lighting}" / f"{int(labels[i])}.npy"
            file.parent.mkdir(parents=True, exist_ok=True)
            np.save(file, dvsgesture_columns(ev))
            total += len(ev["t"])
    return total
