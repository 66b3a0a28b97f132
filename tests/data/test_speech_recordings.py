"""The cochlea model and SHD writer behind benchmarks/event_data.py --study shd: tones land on the fibres of
their frequency, and the written files read back through qsearch's SHD reader (no espeak-ng needed)."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from benchmark_modules import load_benchmark

from qsearch.data import ShdSpec
from qsearch.data._event_sources import shd_source

FS = 22050


@pytest.fixture(scope="module")
def speech():
    return load_benchmark("speech_shd")


def _tone(hz: float, seconds: float = 0.3, level: float = 0.1, silence: float = 0.1) -> np.ndarray:
    t = np.arange(int(seconds * FS)) / FS
    return np.concatenate([np.zeros(int(silence * FS)), level * np.sin(2 * np.pi * hz * t)])


def test_a_tone_drives_the_fibres_of_its_place_and_only_while_it_sounds(speech):
    cochlea = speech.Cochlea(filtered=40)
    centres = np.interp(np.arange(700), np.linspace(0, 699, 40),
                        speech.erb_space(cochlea.f_low, cochlea.f_high, 40))
    for hz in (300.0, 2000.0):
        times, units = cochlea.spikes(_tone(hz), FS, np.random.default_rng(0))
        assert len(times) > 100 and np.all(np.diff(times) >= 0) and units.max() < 700
        peak = np.bincount(units, minlength=700).argmax()
        assert abs(np.log2(centres[peak] / hz)) < 0.25  # within a quarter octave of the tone
        assert np.mean(times < 0.1) < 0.01  # silence before the tone stays (almost) silent
    louder = cochlea.spikes(_tone(2000.0, level=0.3), FS, np.random.default_rng(0))[0]
    assert len(louder) > len(cochlea.spikes(_tone(2000.0), FS, np.random.default_rng(0))[0])


def test_written_files_read_back_through_the_shd_reader(speech, tmp_path):
    cochlea = speech.Cochlea(filtered=40)
    samples = []
    for i, hz in enumerate([200.0, 500.0, 1200.0, 3000.0]):
        t, u = cochlea.spikes(_tone(hz, seconds=0.2), FS, np.random.default_rng(i))
        samples.append((t, u, i * 5, i % 2))
    for name in ("shd_train.h5", "shd_test.h5"):
        spikes = speech.write_shd_like(tmp_path / "SHD" / name, samples)
        assert spikes == sum(len(s[0]) for s in samples)
    source = shd_source(tmp_path, train=False, download=False)
    assert source.labels.tolist() == [0, 5, 10, 15]
    for (t, u, _, _), events in zip(samples, source.read(range(4)), strict=True):
        assert events["x"].tolist() == u.tolist()
        np.testing.assert_allclose(events["t"] / 1e6, t, atol=1e-3)  # float16 seconds, as SHD stores them
    with h5py.File(tmp_path / "SHD" / "shd_test.h5") as f:
        assert f["extra/keys"][5].decode() == "five" and f["extra/keys"][15].decode() == "fuenf"
    splits = ShdSpec(path=str(tmp_path), validation_fraction=0.5, downsample=0.2).load(timesteps=10)
    assert splits.input_shape == (140,) and splits.n_classes == 20 and splits.test.x.shape == (4, 10, 140)
    assert splits.test.y.tolist() == [0, 5, 10, 15]
    low, high = splits.test.x[0].sum(0).argmax(), splits.test.x[3].sum(0).argmax()
    assert low < high  # a low tone's fibres come before a high one's


def test_read_wav_takes_espeak_ngs_unfinished_header(speech):
    import io
    import wave

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(FS)
        w.writeframes((np.array([0, 16384, -16384, 32767]) * 1).astype("<i2").tobytes())
    data = bytearray(buffer.getvalue())
    data[40:44] = (0x7FFFFFFF).to_bytes(4, "little")  # the data length espeak-ng --stdout leaves unset
    x, rate = speech.read_wav(bytes(data))
    assert rate == FS and x.tolist() == [0.0, 0.5, -0.5, 32767 / 32768]
