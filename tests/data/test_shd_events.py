"""SHD's HDF5 files (spike times in s, units 0..699) binned into (N, T, channels) frames by ShdSpec."""

from __future__ import annotations

import numpy as np
import tonic
import torch

from qsearch.data import ShdSpec
from qsearch.data._event_sources import shd_source
from qsearch.data._frames import as_events


def test_frames_are_time_by_channel_and_count_every_kept_spike(formats, tmp_path):
    formats.write_shd(tmp_path / "SHD" / "shd_train.h5", 40)
    written = formats.write_shd(tmp_path / "SHD" / "shd_test.h5", 20, seed=1)
    splits = ShdSpec(path=str(tmp_path), validation_fraction=0.5).load(timesteps=9)
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (20, 20, 20)
    assert splits.input_shape == (700,) and splits.n_classes == 20 and splits.test.x.shape == (20, 9, 700)
    assert splits.test.y.tolist() == [label for label, _ in written]
    for frames, (_, ev) in zip(splits.test.x.numpy(), written, strict=True):
        expected = formats.reference_frames(ev, 9, (1, 1, 700)).reshape(9, 700)
        np.testing.assert_array_equal(frames, expected)
        assert frames.sum() == expected.sum() > 0


def test_channels_downsample_and_denoise_across_neighbouring_channels(formats, tmp_path):
    formats.write_shd(tmp_path / "shd_train.h5", 20)  # files directly in path work too
    written = formats.write_shd(tmp_path / "shd_test.h5", 10, seed=1)
    plain = ShdSpec(path=str(tmp_path)).load(4)
    small = ShdSpec(path=str(tmp_path), downsample=0.1).load(4)
    assert small.input_shape == (70,) and small.test.x.shape == (10, 4, 70)
    assert torch.equal(small.test.x.sum(dim=2), plain.test.x.sum(dim=2))
    denoised = ShdSpec(path=str(tmp_path), denoise_filter_time=50_000).load(4)
    for frames, (_, ev) in zip(denoised.test.x.numpy(), written, strict=True):
        kept = tonic.transforms.Denoise(filter_time=50_000)(as_events(ev["x"], 0, ev["t"], 0))
        expected = formats.reference_frames({k: kept[k] for k in ("x", "y", "t", "p")}, 4, (1, 1, 700))
        np.testing.assert_array_equal(frames, expected.reshape(4, 700))
    assert denoised.test.x.sum() < plain.test.x.sum()


def test_tonic_class_is_used_when_the_archive_is_present(formats, tmp_path):
    formats.write_shd(tmp_path / "SHD" / "shd_train.h5", 20)
    formats.write_shd(tmp_path / "SHD" / "shd_test.h5", 10, seed=1)
    readers = ShdSpec(path=str(tmp_path)).load(5)
    (tmp_path / "SHD" / "shd_train.h5.zip").write_bytes(b"")
    assert shd_source(tmp_path, train=True, download=False).via == "tonic dataset class"
    through_class = ShdSpec(path=str(tmp_path)).load(5)
    assert torch.equal(through_class.train.x, readers.train.x)
    assert torch.equal(through_class.train.y, readers.train.y)
