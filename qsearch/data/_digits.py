"""scikit-learn's bundled handwritten digits (8x8, 10 classes): the embedded default dataset."""

from __future__ import annotations

import numpy as np

from qsearch.data._splits import Splits, splits_from_arrays


def load_digits_splits(*, seed: int = 0, validation_fraction: float = 0.2, test_fraction: float = 0.2) -> Splits:
    """Pixel intensities scaled to [0, 1], as 64 features, split stratified by ``seed``."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = np.asarray(bunch.data, dtype=np.float32) / 16.0
    return splits_from_arrays(x, bunch.target, validation_fraction=validation_fraction,
                              test_fraction=test_fraction, seed=seed, name="digits")
