"""Events -> frames with tonic's transforms, so a trial's ``timesteps`` sets the number of time bins.

All readers hand over events in one structured dtype, :data:`EVENT_DTYPE` (x, y, t in microseconds, p); audio
events (SHD) have y = 0 and a sensor of height 1, which lets tonic's ``Denoise`` filter across neighbouring
channels. Binning is ``tonic.transforms.ToFrame(n_time_bins=timesteps)``: it divides the recording's duration
into ``timesteps`` windows of ``(t_last - t_first) // timesteps`` microseconds and drops the events after the
last window (always at least the final event) — tonic's behaviour, kept as it is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from qsearch.errors import InputError

EVENT_DTYPE = np.dtype([("x", np.int64), ("y", np.int64), ("t", np.int64), ("p", np.int64)])

_calls = 0


def binning_calls() -> int:
    """How many recordings this process has binned into frames (a frame-cache hit bins none)."""
    return _calls


def as_events(x: np.ndarray, y: np.ndarray | int, t: np.ndarray, p: np.ndarray | int) -> np.ndarray:
    """Events in :data:`EVENT_DTYPE` from field arrays (scalars broadcast)."""
    events = np.empty(len(t), dtype=EVENT_DTYPE)
    events["x"], events["y"], events["t"], events["p"] = x, y, t, p
    return events


@dataclass(frozen=True)
class FrameBinning:
    """Optional denoising, optional spatial downsampling, then ``timesteps`` frames of event counts.

    ``sensor_size`` is tonic's (width, height, polarities). ``denoise_filter_time`` is in microseconds;
    ``downsample`` multiplies x (and y, for 2-D sensors) by a factor in (0, 1].
    """

    sensor_size: tuple[int, int, int]
    timesteps: int
    denoise_filter_time: float | None = None
    downsample: float | None = None

    def __post_init__(self) -> None:
        if self.timesteps < 1:
            raise InputError(f"timesteps: must be at least 1, got {self.timesteps}")
        if self.downsample is not None and not 0 < self.downsample <= 1:
            raise InputError(f"downsample: must be a spatial factor in (0, 1], got {self.downsample}")
        if self.denoise_filter_time is not None and self.denoise_filter_time <= 0:
            raise InputError("denoise_filter_time: must be positive (microseconds), "
                             f"got {self.denoise_filter_time}")

    @property
    def _factors(self) -> tuple[float, float]:
        f = self.downsample or 1.0
        return f, (f if self.sensor_size[1] > 1 else 1.0)

    @property
    def output_sensor_size(self) -> tuple[int, int, int]:
        """(width, height, polarities) after downsampling: ``floor(c * f)`` fits in ``ceil(size * f)``."""
        (fx, fy), (w, h, p) = self._factors, self.sensor_size
        return math.ceil(round(w * fx, 9)), math.ceil(round(h * fy, 9)), p

    @property
    def frame_shape(self) -> tuple[int, int, int]:
        """One frame as (polarities, height, width), tonic's layout."""
        w, h, p = self.output_sensor_size
        return p, h, w

    def __call__(self, events: np.ndarray) -> np.ndarray:
        """Frames (timesteps, polarities, height, width) of int16 event counts."""
        global _calls
        from tonic.transforms import Denoise, Downsample, ToFrame

        _calls += 1
        if len(events) and np.any(np.diff(events["t"]) < 0):
            events = events[np.argsort(events["t"], kind="stable")]
        if self.denoise_filter_time is not None and len(events):
            events = Denoise(filter_time=self.denoise_filter_time)(events)
        if self.downsample is not None and self.downsample != 1:
            events = Downsample(spatial_factor=self._factors)(events)
        if not len(events):
            return np.zeros((self.timesteps, *self.frame_shape), dtype=np.int16)
        frames = ToFrame(sensor_size=self.output_sensor_size, n_time_bins=self.timesteps)(events)
        return np.asarray(frames, dtype=np.int16).reshape(self.timesteps, *self.frame_shape)
