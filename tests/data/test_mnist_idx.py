"""MNIST read from the four IDX files, plain and gzip-compressed, through MnistSpec.load."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
import torch

from qsearch.data import MnistSpec, parse_idx, read_idx


def test_idx_header_gives_big_endian_dims_and_data(formats, tmp_path):
    array = np.arange(2 * 3 * 300, dtype=np.int64).reshape(2, 3, 300) % 256
    data = formats.idx_bytes(array)
    assert data[:4] == bytes([0, 0, 8, 3]) and data[4:8] == (2).to_bytes(4, "big")
    np.testing.assert_array_equal(parse_idx(data, ndim=3), array)
    (tmp_path / "a.gz").write_bytes(gzip.compress(data))
    np.testing.assert_array_equal(read_idx(tmp_path / "a.gz"), array)


def test_idx_rejects_bad_magic_rank_and_length():
    good = bytes([0, 0, 8, 1]) + (3).to_bytes(4, "big") + bytes([1, 2, 3])
    with pytest.raises(ValueError, match="not an IDX file"):
        parse_idx(b"\x1f\x8b" + good[2:])
    with pytest.raises(ValueError, match="expected 3 dimension"):
        parse_idx(good, ndim=3)
    with pytest.raises(ValueError, match="promises 3 data bytes"):
        parse_idx(good[:-1])


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_train_file_gives_train_and_validation_and_t10k_the_test(formats, tmp_path, gz):
    arrays = formats.write_mnist(tmp_path, n_train=60, n_test=20, gz=gz)
    splits = MnistSpec(path=str(tmp_path), validation_fraction=0.1, seed=3).load(timesteps=8)
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (54, 6, 20)
    assert splits.input_shape == (784,) and splits.n_classes == 10 and not splits.has_time_axis
    assert splits.train.x.dtype == torch.float32 and splits.train.x.shape == (54, 784)
    assert len(set(splits.validation.y.tolist())) == 6  # stratified: six samples, six different digits
    for part in (splits.train, splits.validation, splits.test):  # first pixel encodes the label
        np.testing.assert_array_equal(np.round(part.x[:, 0].numpy() * 255 - 5) / 20, part.y.numpy())
    expected = arrays["t10k_images"].reshape(20, 784) / 255.0
    np.testing.assert_allclose(splits.test.x.numpy(), expected, rtol=1e-6)


def test_mnist_unflattened_and_plain_equals_gzip(formats, tmp_path):
    formats.write_mnist(tmp_path / "plain", 30, 10)
    formats.write_mnist(tmp_path / "gz", 30, 10, gz=True)
    plain = MnistSpec(path=str(tmp_path / "plain"), flatten=False).load(4)
    packed = MnistSpec(path=str(tmp_path / "gz"), flatten=False).load(4)
    assert plain.input_shape == (1, 28, 28) and plain.train.x.shape[1:] == (1, 28, 28)
    assert torch.equal(plain.train.x, packed.train.x) and torch.equal(plain.test.y, packed.test.y)


def test_mnist_limits_subsample_stratified_and_seeded(formats, tmp_path):
    formats.write_mnist(tmp_path, 100, 50)
    spec = MnistSpec(path=str(tmp_path), limit_train=40, limit_test=10, validation_fraction=0.25, seed=1)
    splits = spec.load(4)
    assert len(splits.train) + len(splits.validation) == 40 and len(splits.test) == 10
    assert np.bincount(torch.cat([splits.train.y, splits.validation.y]).numpy()).tolist() == [4] * 10
    assert np.bincount(splits.test.y.numpy()).tolist() == [1] * 10
    again = spec.load(4)
    assert torch.equal(again.train.x, splits.train.x)
    other = spec.model_copy(update={"seed": 2}).load(4)
    assert not torch.equal(other.train.x, splits.train.x)
