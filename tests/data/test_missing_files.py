"""A dataset that is not on disk fails with one line: which files, where, and how to get them."""

from __future__ import annotations

import pytest

from qsearch.data import DvsGestureSpec, MnistSpec, NmnistSpec, NpzSpec, ShdSpec


@pytest.mark.parametrize(("spec", "names", "how"), [
    (MnistSpec, ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte"], "http://yann.lecun.com/exdb/mnist/"),
    (NmnistSpec, ["Train/<digit>/*.bin"], "https://www.garrickorchard.com/datasets/n-mnist"),
    (DvsGestureSpec, ["ibmGestureTrain/user<NN>_<lighting>/<label>.npy"],
     "https://research.ibm.com/interactive/dvsgesture/"),
    (ShdSpec, ["shd_train.h5"], "https://zenkelab.org/resources/spiking-heidelberg-datasets-shd/"),
])
def test_missing_dataset_names_files_place_and_source(tmp_path, spec, names, how):
    with pytest.raises(FileNotFoundError) as caught:
        spec(path=str(tmp_path)).load(4)
    message = str(caught.value)
    assert "\n" not in message and str(tmp_path) in message and how in message
    assert all(name in message for name in names)
    if spec is not MnistSpec:
        assert "download: true" in message


def test_missing_test_split_is_reported_even_when_train_is_present(formats, tmp_path):
    formats.write_nmnist(tmp_path, {"Train": 1})
    with pytest.raises(FileNotFoundError, match=r"Test/<digit>/\*\.bin"):
        NmnistSpec(path=str(tmp_path)).load(4)


def test_missing_npz_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="x, y"):
        NpzSpec(path=str(tmp_path / "nope.npz")).load(4)
