"""The saccade/DVS simulator behind benchmarks/event_data.py: its files read back as N-MNIST, and its events
follow the scene (edges, motion direction, polarity), so the benchmark's data path cannot silently break."""

from __future__ import annotations

import numpy as np
import pytest
from benchmark_modules import load_benchmark
from tonic.io import read_mnist_file

from qsearch.data import DvsGestureSpec, NmnistSpec
from qsearch.data._event_sources import dvsgesture_source, nmnist_source
from qsearch.data._frames import EVENT_DTYPE


@pytest.fixture(scope="module")
def dvs():
    return load_benchmark("saccade_dvs")


def _square(side: int = 14) -> np.ndarray:
    """A bright filled square centred in a 28x28 image (0..255): two vertical and two horizontal edges."""
    img = np.zeros((28, 28))
    lo = (28 - side) // 2
    img[lo:lo + side, lo:lo + side] = 255
    return img.reshape(-1)


def _bar(vertical: bool) -> np.ndarray:
    img = np.zeros((28, 28))
    if vertical:
        img[4:24, 12:16] = 255
    else:
        img[12:16, 4:24] = 255
    return img.reshape(-1)


def test_files_read_back_as_nmnist_with_the_recorded_events(dvs, tmp_path):
    model = dvs.DvsModel()
    images = np.stack([_square(), _bar(True), _bar(False)])
    events = dvs.record(images, model, np.random.default_rng(0))
    file = tmp_path / "one.bin"
    file.write_bytes(dvs.nmnist_bytes(events[0]))
    got = read_mnist_file(str(file), dtype=EVENT_DTYPE)
    for k in ("x", "y", "t", "p"):
        np.testing.assert_array_equal(got[k], events[0][k])
    assert set(np.unique(got["p"])) == {0, 1} and got["x"].max() < 34 and got["y"].max() < 34
    assert np.all(np.diff(got["t"]) >= 0) and got["t"].max() < 3 * model.saccade_us

    dvs.write_nmnist_like(tmp_path, images, np.array([3, 1, 7]), "Train", model)  # read back by path
    dvs.write_nmnist_like(tmp_path, images[:2], np.array([0, 5]), "Test", model)
    source = nmnist_source(tmp_path, train=True, download=False)
    assert source.labels.tolist() == [1, 3, 7] and source.via == "tonic readers"
    splits = NmnistSpec(path=str(tmp_path), validation_fraction=0.34, seed=0).load(timesteps=3)
    assert splits.test.x.shape == (2, 3, 2, 34, 34) and splits.test.y.tolist() == [0, 5]
    per_saccade = splits.test.x[0].sum(dim=(1, 2, 3))
    assert bool((per_saccade > 100).all())  # every saccade makes events


def test_events_concentrate_on_edges_and_polarity_follows_the_motion(dvs):
    model = dvs.DvsModel(noise_hz=0.0)
    ev = dvs.record(_square()[None], model, np.random.default_rng(0))[0]
    counts = np.zeros((34, 34))
    np.add.at(counts, (ev["y"], ev["x"]), 1)
    # the square spans rows/columns 10..23 of the 34x34 view at rest and moves at most 3 px (+ blur)
    interior, outside = counts[14:20, 14:20], counts.copy()
    outside[5:29, 5:29] = 0
    assert counts.sum() > 1000 and interior.sum() == 0 and outside.sum() == 0
    # second saccade: the view moves left, so the scene moves right: its right edge brightens (ON) and its
    # left edge darkens (OFF)
    second = (ev["t"] >= model.saccade_us) & (ev["t"] < 2 * model.saccade_us)
    right, left = second & (ev["x"] >= 17), second & (ev["x"] < 17)
    assert ev["p"][right].mean() > 0.9 and ev["p"][left].mean() < 0.1


def test_edges_parallel_to_the_motion_make_no_events(dvs):
    model = dvs.DvsModel(noise_hz=0.0)
    recorded = dvs.record(np.stack([_bar(True), _bar(False)]), model, np.random.default_rng(0))
    vertical, horizontal = (int(((ev["t"] >= model.saccade_us) & (ev["t"] < 2 * model.saccade_us)).sum())
                            for ev in recorded)
    # the horizontal saccade crosses the vertical bar's long edges, and only the short ends of the other
    assert vertical > 3 * horizontal > 0


def test_background_noise_has_the_modelled_rate(dvs):
    model = dvs.DvsModel(noise_hz=20.0)
    ev = dvs.record(np.zeros((1, 784)), model, np.random.default_rng(0))[0]
    expected = 20.0 * 34 * 34 * 3 * model.saccade_us / 1e6
    assert abs(len(ev["t"]) - expected) < 5 * np.sqrt(expected)


def test_dvsgesture_like_files_read_back_through_qsearchs_dvs_gesture_path(dvs, tmp_path):
    """DVS128 recordings of scaled digits, in tonic's preprocessed DVS Gesture layout (ms stamps)."""
    model = dvs.DvsModel.dvs128(image_px=56, cycles=2)
    images = np.stack([_square(), _bar(True), _bar(False), _square(8)])
    events = dvs.record(images, model, np.random.default_rng([0, 1]))  # the writer's stream for training files
    dvs.write_dvsgesture_like(tmp_path, images, np.array([3, 1, 3, 1]), "ibmGestureTrain", model, first_user=1)
    dvs.write_dvsgesture_like(tmp_path, images[:2], np.array([0, 5]), "ibmGestureTest", model, first_user=24)
    folders = sorted(p.name for p in (tmp_path / "DVSGesture" / "ibmGestureTrain").iterdir())
    assert folders == ["user01_fluorescent", "user01_fluorescent_led"]  # one recording per class and session
    source = dvsgesture_source(tmp_path, train=True, download=False)
    assert source.labels.tolist() == [1, 3, 1, 3] and source.via == "tonic readers"
    got = next(source.read([1]))  # user01_fluorescent/3.npy: the first square
    for k in ("x", "y", "p"):
        np.testing.assert_array_equal(got[k], events[0][k])
    np.testing.assert_array_equal(got["t"], events[0]["t"] // 1000 * 1000)
    assert got["x"].max() < 128 and got["t"].max() < 6 * model.saccade_us
    splits = DvsGestureSpec(path=str(tmp_path), validation_fraction=0.5, seed=0, downsample=0.25).load(
        timesteps=6)
    assert splits.test.x.shape == (2, 6, 2, 32, 32) and splits.test.y.tolist() == [0, 5]
    assert bool((splits.test.x[0].sum(dim=(1, 2, 3)) > 100).all())  # every saccade makes events
