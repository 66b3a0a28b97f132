"""DVS Gesture in tonic's preprocessed layout (user folders of <label>.npy, t in ms) via DvsGestureSpec."""

from __future__ import annotations

import numpy as np
import torch

from qsearch.data import DvsGestureSpec
from qsearch.data._event_sources import dvsgesture_source


def test_frames_of_the_test_split_match_the_written_events(formats, tmp_path):
    formats.write_dvsgesture(tmp_path, "ibmGestureTrain", n_users=2)
    written = formats.write_dvsgesture(tmp_path, "ibmGestureTest", n_users=1, seed=1)
    splits = DvsGestureSpec(path=str(tmp_path), validation_fraction=0.5).load(timesteps=6)
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (11, 11, 11)
    assert splits.input_shape == (2, 128, 128) and splits.n_classes == 11 and splits.has_time_axis
    assert splits.test.x.shape == (11, 6, 2, 128, 128)
    assert splits.test.y.tolist() == [label for _, label, _ in written]  # ordered by path: 0, 1, 10, 2, ...
    for frames, (_, _, ev) in zip(splits.test.x.numpy(), written, strict=True):
        np.testing.assert_array_equal(frames, formats.reference_frames(ev, 6, (2, 128, 128)))


def test_tonic_class_reads_a_full_download_like_the_readers_do(formats, tmp_path):
    formats.write_dvsgesture(tmp_path, "ibmGestureTrain", n_users=10)  # 110 .npy: tonic's >= 100 check
    formats.write_dvsgesture(tmp_path, "ibmGestureTest", n_users=1)
    archive = tmp_path / "DVSGesture" / "ibmGestureTrain.tar.gz"
    spec = DvsGestureSpec(path=str(tmp_path), limit_train=22, limit_test=11)
    archive.write_bytes(b"")
    assert dvsgesture_source(tmp_path, train=True, download=False).via == "tonic dataset class"
    through_class = spec.load(4)
    archive.unlink()
    assert dvsgesture_source(tmp_path, train=True, download=False).via == "tonic readers"
    through_readers = spec.load(4)
    assert torch.equal(through_class.train.x, through_readers.train.x)
    assert torch.equal(through_class.validation.y, through_readers.validation.y)
