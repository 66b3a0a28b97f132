"""The on-disk frame cache: same key -> no binning; any change to what shapes the frames -> another file."""

from __future__ import annotations

import numpy as np
import torch

from qsearch.data import NmnistSpec, binning_calls, cache_key
from qsearch.data._frame_cache import cache_file, cached_frames


def _files(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_second_load_with_the_same_key_bins_nothing(formats, tmp_path):
    formats.write_nmnist(tmp_path / "data", {"Train": 2, "Test": 1})
    spec = NmnistSpec(path=str(tmp_path / "data"), cache_dir=str(tmp_path / "cache"))
    before = binning_calls()
    first = spec.load(6)
    assert binning_calls() - before == 30  # 20 train + 10 test recordings
    assert len(_files(tmp_path / "cache")) == 2  # one file per split
    before = binning_calls()
    second = spec.load(6)
    assert binning_calls() == before
    assert torch.equal(first.train.x, second.train.x) and torch.equal(first.test.x, second.test.x)
    assert torch.equal(first.validation.y, second.validation.y)


def test_other_timesteps_or_transform_values_get_their_own_files(formats, tmp_path):
    formats.write_nmnist(tmp_path / "data", {"Train": 2, "Test": 1})
    cache = tmp_path / "cache"
    base = NmnistSpec(path=str(tmp_path / "data"), cache_dir=str(cache))
    base.load(6)
    seen = set(_files(cache))
    for spec, timesteps in [(base, 8), (base.model_copy(update={"downsample": 0.5}), 6),
                            (base.model_copy(update={"denoise_filter_time": 1000.0}), 6),
                            (base.model_copy(update={"limit_train": 10}), 6)]:
        before = binning_calls()
        splits = spec.load(timesteps)
        assert binning_calls() > before, "a changed key must bin again, never serve stale frames"
        assert splits.train.x.shape[1] == timesteps
        new = set(_files(cache)) - seen
        assert new and all(name.endswith(".npz") for name in new)
        seen |= new


def test_key_ignores_field_order_but_not_values():
    fields = {"dataset": "nmnist", "split": "train", "timesteps": 6, "downsample": None}
    assert cache_key(fields) == cache_key(dict(reversed(list(fields.items()))))
    assert cache_key(fields) != cache_key({**fields, "timesteps": 7})
    assert cache_key(fields) != cache_key({**fields, "downsample": 0.5})


def test_a_file_holding_another_key_is_rebuilt_not_served(tmp_path):
    fields = {"dataset": "shd", "split": "test", "timesteps": 3}
    stale = (np.ones((1, 3, 4), np.int16), np.array([7]))
    fresh = (np.zeros((1, 3, 4), np.int16), np.array([1]))
    cached_frames(tmp_path, {**fields, "downsample": 0.5}, lambda: stale)
    cache_file(tmp_path, {**fields, "downsample": 0.5}).rename(cache_file(tmp_path, fields))  # forged name
    x, y = cached_frames(tmp_path, fields, lambda: fresh)
    assert np.array_equal(x, fresh[0]) and y.tolist() == [1]
    x, y = cached_frames(tmp_path, fields, lambda: (_ for _ in ()).throw(AssertionError("must hit")))
    assert np.array_equal(x, fresh[0])
