"""Input scaling of your own arrays: fitted on the training split only, per feature for tabular units."""

from __future__ import annotations

import numpy as np
import torch

from qsearch.data import NpzSpec
from qsearch.data._encoding import regular_encode
from qsearch.data._scaling import fit_scaling, resolve_scaling


def _tabular(n: int = 120) -> tuple[np.ndarray, np.ndarray]:
    """Two features in unrelated units (like wine's proline ~1,000 and hue ~1), one negative."""
    rng = np.random.default_rng(0)
    x = np.stack([rng.uniform(300, 1700, n), rng.uniform(0.5, 1.7, n), rng.uniform(-3, 3, n)], axis=1)
    return x.astype(np.float32), np.arange(n) % 3


def test_tabular_features_each_span_the_unit_range_of_the_training_split(tmp_path):
    x, y = _tabular()
    np.savez(tmp_path / "t.npz", x=x, y=y)
    splits = NpzSpec(path=str(tmp_path / "t.npz")).load(8)
    train = splits.train.x.numpy()
    np.testing.assert_allclose(train.min(0), 0.0, atol=1e-6)
    np.testing.assert_allclose(train.max(0), 1.0, atol=1e-6)
    assert splits.preprocessing["scaling"]["kind"] == "feature"


def test_scaling_is_fitted_on_train_only_and_clips_other_splits(tmp_path):
    x, y = _tabular()
    x_test = x[:30].copy()
    x_test[0, 0] = 99999.0  # far outside anything in train: must not change the train scaling
    np.savez(tmp_path / "g.npz", x_train=x, y_train=y, x_test=x_test, y_test=y[:30])
    splits = NpzSpec(path=str(tmp_path / "g.npz")).load(8)
    fitted = splits.preprocessing["scaling"]
    train_rows = splits.train.x.numpy()
    assert float(train_rows[:, 0].max()) == 1.0  # the outlier did not shrink the train range
    assert fitted["low"][0] >= float(x[:, 0].min()) and fitted["span"][0] < 1500  # from train values alone
    assert float(splits.test.x[0, 0]) == 1.0  # clipped into [0, 1]
    assert float(splits.test.x.min()) >= 0.0 and float(splits.test.x.max()) <= 1.0


def test_images_in_one_unit_keep_relative_brightness():
    images = np.random.default_rng(1).integers(0, 256, (50, 1, 6, 6)).astype(np.float32)
    assert resolve_scaling("auto", images) == "global"
    fitted = fit_scaling("auto", images)
    np.testing.assert_allclose(fitted.apply(images), images / images.max(), rtol=1e-6)


def test_regular_code_is_deterministic_with_floor_t_times_intensity_spikes():
    x = torch.tensor([[0.0, 0.25, 0.5, 1.0]])
    spikes = regular_encode(x, 8, 1.0)
    assert spikes.shape == (1, 8, 4) and spikes.dtype == torch.uint8
    assert spikes.sum(1).tolist() == [[0, 2, 4, 8]]
    assert spikes[0, :, 2].tolist() == [0, 1, 0, 1, 0, 1, 0, 1]  # evenly spaced
