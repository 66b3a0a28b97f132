"""SHD-like recordings of synthesized spoken digits: espeak-ng voices through a small cochlea model.

No public audio can be downloaded here, so this re-enacts how the Spiking Heidelberg Digits were made (Cramer
et al. 2020: speakers saying 0-9 in English and German, 20 classes, passed through the Lauscher inner-ear
model to spikes of 700 auditory-nerve fibres) with a real text-to-speech engine as the speakers:

1. Speech: espeak-ng says "zero".."nine" with an English voice (labels 0-9) and "null".."neun" with a German
   voice (labels 10-19), as SHD numbers its classes. A *speaker* is an espeak-ng voice variant (``+m1``,
   ``+f2``, ...) with its own base pitch and speaking rate; each utterance varies pitch (``-p``), rate
   (``-s``) and amplitude (``-a``) around the speaker's, starts after 0-80 ms of silence, and gets white
   noise at 20-40 dB SNR. Train and test speakers are disjoint variants (SHD holds out speakers too).
2. Outer/middle ear: first-order pre-emphasis (``x[n] - 0.95 x[n-1]``), as speech loses ~6 dB/octave.
3. Basilar membrane: 4th-order all-pole gammatone filters (Lyon 1996; bandwidth 1.019 ERB as the gammatone,
   :func:`all_pole_gammatone`) with centre frequencies evenly spaced on the ERB-number scale (Glasberg & Moore
   1990) from ``f_low`` to ``f_high``. For speed only
   ``filtered`` of the 700 places are filtered (every 4th by default); the other places' envelopes are
   interpolated linearly along the ERB axis (neighbouring places overlap strongly in a real cochlea too).
4. Inner hair cells: half-wave rectification, then the mean over 1 ms (a ~1 kHz low-pass: no phase locking
   at the 1 ms resolution that matters here), then a compressive rate-level function: the level in dB
   maps linearly onto 0..``max_rate_hz`` over ``dynamic_range_db`` above ``floor_db`` (dB re full scale).
5. Auditory nerve: one integrate-and-fire fibre per place integrates its rate and fires at each unit of the
   integral (exact crossing times within the 1 ms step), with a random start phase and a fixed per-fibre
   threshold mismatch (``threshold_sigma``), so neighbouring fibres driven alike do not fire in lockstep.
   At ``max_rate_hz`` = 300 a fibre fires about three times per 10 ms at the loudest formant.

Output: SHD's HDF5 layout, ``root/SHD/shd_{train,test}.h5`` with ``spikes/times`` (s, float16 as in
tests/dataset_files.py), ``spikes/units`` (uint16 fibre ids, 0 = lowest frequency), ``labels`` (uint16),
``extra/speaker`` and ``extra/keys``, which qsearch's SHD reader (tonic's layout) reads.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import wave
from dataclasses import dataclass
from functools import cached_property, partial
from multiprocessing import get_context
from pathlib import Path

import numpy as np

ENGLISH = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
GERMAN = ["null", "eins", "zwei", "drei", "vier", "fuenf", "sechs", "sieben", "acht", "neun"]
WORDS = ENGLISH + GERMAN  # label = index, as SHD's classes 0-9 English, 10-19 German
GERMAN_TEXT = {"fuenf": "fünf"}  # what espeak-ng is given; the key above stays ASCII

TRAIN_VARIANTS = ["m1", "m2", "m3", "m4", "m5", "f1", "f2", "f3"]
TEST_VARIANTS = ["m6", "m7", "f4", "f5"]


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


@dataclass(frozen=True)
class Speaker:
    """An espeak-ng voice variant with its own base pitch (0-99) and rate (words per minute)."""

    variant: str
    pitch: int
    rate: int


def speakers(variants: list[str], seed: int) -> list[Speaker]:
    rng = np.random.default_rng(seed)
    return [Speaker(v, int(rng.integers(25, 75)), int(rng.integers(130, 200))) for v in variants]


def read_wav(data: bytes) -> tuple[np.ndarray, int]:
    """Mono 16-bit WAV bytes -> float samples in [-1, 1] and the sample rate (espeak-ng's ``--stdout`` header
    leaves the length unset, so read to the end)."""
    with wave.open(io.BytesIO(data)) as w:
        rate, frames = w.getframerate(), w.readframes(2**31 - 1)
    return np.frombuffer(frames, dtype="<i2").astype(np.float64) / 32768.0, rate


def say(label: int, speaker: Speaker, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """One utterance of ``WORDS[label]`` by ``speaker``, varied and noisy as described in the module doc."""
    word = WORDS[label]
    voice = ("en" if label < 10 else "de") + "+" + speaker.variant
    pitch = int(np.clip(speaker.pitch + rng.integers(-8, 9), 0, 99))
    rate = int(speaker.rate + rng.integers(-20, 21))
    amplitude = int(rng.integers(60, 161))
    text = GERMAN_TEXT.get(word, word)
    wav = subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate), "-p", str(pitch), "-a", str(amplitude),
                          "--stdout", text], check=True, capture_output=True).stdout
    x, fs = read_wav(wav)
    x = np.concatenate([np.zeros(int(rng.uniform(0, 0.08) * fs)), x])
    rms = np.sqrt(np.mean(x**2)) + 1e-12
    snr_db = rng.uniform(20, 40)
    return x + rng.standard_normal(len(x)) * rms * 10 ** (-snr_db / 20), fs


def all_pole_gammatone(f: float, fs: int) -> np.ndarray:
    """Second-order sections of a 4th-order all-pole gammatone (Lyon 1996): four resonators with poles at
    ``r e^{+-jw}``, bandwidth 1.019 ERB(f) as the gammatone's; unit gain at ``f``. Unlike the transfer function
    ``scipy.signal.gammatone`` returns, sections stay accurate down to 50 Hz, and they run in one C call."""
    from scipy import signal

    r = np.exp(-2 * np.pi * 1.019 * (24.7 + 0.108 * f) / fs)
    section = [1.0, 0.0, 0.0, 1.0, -2 * r * np.cos(2 * np.pi * f / fs), r * r]
    sos = np.array([section] * 4)
    _, h = signal.sosfreqz(sos, worN=[f], fs=fs)
    sos[0, :3] /= abs(h[0])
    return sos


def erb_space(f_low: float, f_high: float, n: int) -> np.ndarray:
    """``n`` frequencies evenly spaced on the ERB-number scale, 21.4 log10(1 + 0.00437 f) (Glasberg & Moore)."""
    lo, hi = (21.4 * np.log10(1 + 0.00437 * f) for f in (f_low, f_high))
    return (10 ** (np.linspace(lo, hi, n) / 21.4) - 1) / 0.00437


@dataclass(frozen=True)
class Cochlea:
    """The inner-ear model's settings (see the module doc); one fixed ear (``seed``) hears every utterance."""

    channels: int = 700
    filtered: int = 175
    f_low: float = 50.0
    f_high: float = 8000.0
    floor_db: float = -60.0
    dynamic_range_db: float = 40.0
    max_rate_hz: float = 300.0
    threshold_sigma: float = 0.1
    step_s: float = 0.001
    seed: int = 0

    def envelopes(self, x: np.ndarray, fs: int) -> np.ndarray:
        """(channels, steps) hair-cell drive in dB re full scale, one column per ``step_s``."""
        from scipy import signal

        x = np.append(x[0], x[1:] - 0.95 * x[:-1])
        per_step = int(round(fs * self.step_s))
        steps = len(x) // per_step
        x = x[: steps * per_step]
        centres = erb_space(self.f_low, min(self.f_high, 0.45 * fs), self.filtered)
        env = np.empty((self.filtered, steps))
        for i, f in enumerate(centres):
            y = signal.sosfilt(all_pole_gammatone(f, fs), x)
            env[i] = np.maximum(y, 0.0).reshape(steps, per_step).mean(axis=1)
        return self._spread @ (20 * np.log10(env + 1e-9))

    @cached_property
    def _spread(self) -> np.ndarray:
        """(channels, filtered) linear interpolation along the place (ERB) axis."""
        places = np.linspace(0, self.channels - 1, self.filtered)
        return np.stack([np.interp(np.arange(self.channels), places, np.eye(self.filtered)[k])
                         for k in range(self.filtered)], axis=1)

    def spikes(self, x: np.ndarray, fs: int,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Spike times (s, sorted) and fibre ids of one sound."""
        level = (self.envelopes(x, fs) - self.floor_db) / self.dynamic_range_db
        rate = self.max_rate_hz * np.clip(level, 0.0, 1.0)
        thresholds = 1.0 + self.threshold_sigma * np.random.default_rng(self.seed).standard_normal(self.channels)
        start = rng.uniform(0, 1, (self.channels, 1))
        integral = np.concatenate([start, start + np.cumsum(rate * self.step_s, axis=1)], axis=1)
        integral /= np.maximum(thresholds, 0.5)[:, None]
        count = np.floor(integral).astype(np.int64)
        fired = np.diff(count, axis=1)  # spikes of each fibre in each step
        unit, step = np.nonzero(fired)
        n = fired[unit, step]
        crossed = np.repeat(count[unit, step], n) + _rank_within(n) + 1  # the integral's units crossed
        unit, step = np.repeat(unit, n), np.repeat(step, n)
        lo, hi = integral[unit, step], integral[unit, step + 1]
        times = (step + (crossed - lo) / (hi - lo)) * self.step_s
        order = np.argsort(times, kind="stable")
        return times[order], unit[order]


def _rank_within(n: np.ndarray) -> np.ndarray:
    """0, 1, ..., n_i - 1 for each group of ``n`` repeated entries."""
    starts = np.repeat(np.cumsum(n) - n, n)
    return np.arange(int(n.sum())) - starts


def write_shd_like(file: Path, samples: list[tuple[np.ndarray, np.ndarray, int, int]]) -> int:
    """Write (times s, units, label, speaker) samples in SHD's HDF5 layout; returns the number of spikes."""
    import h5py

    file.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(file, "w") as f:
        times = f.create_dataset("spikes/times", (len(samples),), dtype=h5py.vlen_dtype(np.dtype("float16")))
        units = f.create_dataset("spikes/units", (len(samples),), dtype=h5py.vlen_dtype(np.dtype("uint16")))
        for i, (t, u, _, _) in enumerate(samples):
            times[i], units[i] = t.astype(np.float16), u.astype(np.uint16)
        f.create_dataset("labels", data=np.array([s[2] for s in samples], dtype=np.uint16))
        f.create_dataset("extra/speaker", data=np.array([s[3] for s in samples], dtype=np.uint16))
        f.create_dataset("extra/keys", data=np.array([w.encode() for w in WORDS]))
    return sum(len(s[0]) for s in samples)


def _utterance(job: tuple[int, int, Speaker, int], cochlea: Cochlea) -> tuple[np.ndarray, np.ndarray, int, int]:
    label, speaker_id, speaker, seed = job
    rng = np.random.default_rng(seed)
    x, fs = say(label, speaker, rng)
    t, u = cochlea.spikes(x, fs, rng)
    return t, u, label, speaker_id


def record_split(file: Path, n: int, variants: list[str], first_speaker: int, cochlea: Cochlea,
                 seed: int, workers: int = 1) -> int:
    """``n`` utterances, classes balanced and shuffled, speakers ``variants`` taking turns."""
    rng = np.random.default_rng(seed)
    voices = speakers(variants, seed)
    labels = rng.permutation(np.arange(n) % len(WORDS))
    jobs = [(int(label), first_speaker + i % len(voices), voices[i % len(voices)], seed * 1_000_003 + i)
            for i, label in enumerate(labels)]
    work = partial(_utterance, cochlea=cochlea)
    if workers > 1:
        with get_context("fork").Pool(workers) as pool:
            samples = pool.map(work, jobs, chunksize=16)
    else:
        samples = [work(job) for job in jobs]
    return write_shd_like(file, samples)
