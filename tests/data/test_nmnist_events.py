"""N-MNIST's binary event files, read with tonic's reader and binned into frames by NmnistSpec.load."""

from __future__ import annotations

import numpy as np
import tonic
import torch

from qsearch.data import NmnistSpec
from qsearch.data._event_sources import nmnist_source
from qsearch.data._frames import EVENT_DTYPE


def _structured(ev) -> np.ndarray:
    out = np.empty(len(ev["t"]), dtype=EVENT_DTYPE)
    for k in ("x", "y", "t", "p"):
        out[k] = ev[k]
    return out


def test_binary_events_and_overflow_markers_decode_to_the_written_events(formats, tmp_path):
    written = formats.write_nmnist(tmp_path, {"Train": 1, "Test": 1})
    source = nmnist_source(tmp_path, train=True, download=False)
    assert source.via == "tonic readers" and source.labels.tolist() == list(range(10))
    for (_, _, ev), got in zip(written["Train"], source.read(range(10)), strict=True):
        for k in ("x", "y", "t", "p"):
            np.testing.assert_array_equal(got[k], ev[k])


def test_frames_have_timesteps_bins_and_count_every_kept_event(formats, tmp_path):
    written = formats.write_nmnist(tmp_path, {"Train": 3, "Test": 2})
    splits = NmnistSpec(path=str(tmp_path), validation_fraction=0.2, seed=0).load(timesteps=7)
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (24, 6, 20)
    assert splits.has_time_axis and splits.input_shape == (2, 34, 34) and splits.n_classes == 10
    assert splits.test.x.shape == (20, 7, 2, 34, 34) and splits.test.x.dtype == torch.float32
    assert splits.test.y.tolist() == [label for _, label, _ in written["Test"]]
    for frames, (_, _, ev) in zip(splits.test.x.numpy(), written["Test"], strict=True):
        expected = formats.reference_frames(ev, 7, (2, 34, 34))
        np.testing.assert_array_equal(frames, expected)
        assert 0 < frames.sum() == expected.sum() < len(ev["t"])  # tonic drops the tail past the last window


def test_downsample_and_denoise_change_frames_as_tonic_transforms_do(formats, tmp_path):
    written = formats.write_nmnist(tmp_path, {"Train": 2, "Test": 1})
    plain = NmnistSpec(path=str(tmp_path)).load(5)
    small = NmnistSpec(path=str(tmp_path), downsample=0.5).load(5)
    assert small.input_shape == (2, 17, 17) and small.test.x.shape == (10, 5, 2, 17, 17)
    assert torch.equal(small.test.x.sum(dim=(2, 3, 4)), plain.test.x.sum(dim=(2, 3, 4)))  # nothing dropped
    denoised = NmnistSpec(path=str(tmp_path), denoise_filter_time=20_000).load(5)
    for frames, (_, _, ev) in zip(denoised.test.x.numpy(), written["Test"], strict=True):
        kept = tonic.transforms.Denoise(filter_time=20_000)(_structured(ev))
        expected = formats.reference_frames({k: kept[k] for k in ("x", "y", "t", "p")}, 5, (2, 34, 34))
        np.testing.assert_array_equal(frames, expected)
    assert denoised.test.x.sum() < plain.test.x.sum()


def test_limits_pick_a_stratified_subset_before_binning(formats, tmp_path):
    formats.write_nmnist(tmp_path, {"Train": 4, "Test": 2})
    splits = NmnistSpec(path=str(tmp_path), limit_train=20, limit_test=10, validation_fraction=0.5).load(3)
    assert len(splits.train) + len(splits.validation) == 20 and len(splits.test) == 10
    assert np.bincount(splits.test.y.numpy()).tolist() == [1] * 10
    assert np.bincount(splits.validation.y.numpy()).tolist() == [1] * 10
