"""Your own arrays from an .npz through NpzSpec.load: one labelled set, or given splits."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from qsearch.data import NpzSpec


def _labelled(n: int, shape: tuple[int, ...], classes: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, *shape)).astype(np.uint8), np.arange(n) % classes


def test_x_y_are_split_stratified_and_scaled_by_their_maximum(tmp_path):
    x, y = _labelled(100, (12,), 4)
    x[3, 0] = 255
    np.savez(tmp_path / "d.npz", x=x, y=y)
    splits = NpzSpec(path=str(tmp_path / "d.npz"), validation_fraction=0.2, test_fraction=0.2).load(8)
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (60, 20, 20)
    assert np.bincount(splits.test.y.numpy()).tolist() == [5, 5, 5, 5]
    assert splits.input_shape == (12,) and splits.n_classes == 4 and splits.train.x.dtype == torch.float32
    everything = torch.cat([splits.train.x, splits.validation.x, splits.test.x])
    assert float(everything.max()) == 1.0 and float(everything.min()) >= 0.0
    np.testing.assert_allclose(np.sort(everything.numpy().ravel()), np.sort(x.ravel() / 255.0), rtol=1e-6)


def test_values_already_in_unit_range_are_kept(tmp_path):
    x = np.random.default_rng(0).uniform(0, 0.5, (40, 3, 4, 4)).astype(np.float32)
    np.savez(tmp_path / "d.npz", x=x, y=np.arange(40) % 2)
    splits = NpzSpec(path=str(tmp_path / "d.npz")).load(4)
    assert splits.input_shape == (3, 4, 4) and splits.train.x.shape[1:] == (3, 4, 4)
    everything = torch.cat([splits.train.x, splits.validation.x, splits.test.x]).numpy()
    np.testing.assert_array_equal(np.sort(everything.ravel()), np.sort(x.ravel()))


def test_given_splits_are_kept_and_validation_is_carved_from_train(tmp_path):
    x_train, y_train = _labelled(50, (6,), 5)
    x_test, y_test = _labelled(10, (6,), 5, seed=1)
    x_test[0, 0] = 255
    np.savez(tmp_path / "d.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    splits = NpzSpec(path=str(tmp_path / "d.npz"), validation_fraction=0.2).load(4)
    np.testing.assert_allclose(splits.test.x.numpy(), x_test / 255.0, rtol=1e-6)
    assert splits.test.y.tolist() == y_test.tolist()
    assert (len(splits.train), len(splits.validation)) == (40, 10)
    assert sorted(splits.validation.y.tolist()) == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]


def test_given_validation_split_is_used_as_is(tmp_path):
    parts = {f"x_{s}": _labelled(12, (3,), 3, seed=i)[0] for i, s in enumerate(("train", "val", "test"))}
    parts.update({f"y_{s}": np.arange(12) % 3 for s in ("train", "val", "test")})
    np.savez(tmp_path / "d.npz", **parts)
    splits = NpzSpec(path=str(tmp_path / "d.npz"), scaling="global").load(4)
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (12, 12, 12)
    peak = float(parts["x_train"].max())  # fitted on train only; larger values elsewhere are clipped to 1
    np.testing.assert_allclose(splits.validation.x.numpy(), np.clip(parts["x_val"] / peak, 0, 1), rtol=1e-6)


@pytest.mark.parametrize(("arrays", "message"), [
    ({"x_train": np.ones((4, 2)), "y_train": np.arange(4), "x_test": np.ones((2, 2))}, "lacks y_test"),
    ({"x": np.ones((4, 2))}, "lacks y;"),
    ({"x": np.ones((4, 2)), "y": np.array([0.0, 1.0, 0.0, 1.0])}, "y: must hold non-negative integer"),
    ({"x": np.full((4, 2), np.nan), "y": np.arange(4) % 2}, "x: must hold finite numbers"),
    ({"x": np.ones(4), "y": np.arange(4) % 2}, "x: must be samples x features"),
])
def test_malformed_archives_name_the_offending_key(tmp_path, arrays, message):
    np.savez(tmp_path / "d.npz", **arrays)
    with pytest.raises(ValueError, match=message):
        NpzSpec(path=str(tmp_path / "d.npz")).load(4)
