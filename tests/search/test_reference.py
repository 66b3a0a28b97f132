"""The non-spiking reference: fitted on the train split, scored on the same validation and test splits."""

from __future__ import annotations

import numpy as np
import torch

from qsearch.data import LabeledTensors, Splits, load_digits_splits
from qsearch.search import chance_accuracy, reference_accuracy


def test_reference_fits_digits_far_above_chance():
    splits = load_digits_splits(seed=0)
    result = reference_accuracy(splits)
    assert result.n == len(splits.train) and result.name in ("logistic_regression", "mlp_128")
    assert result.validation > 90 and result.test > 90


def test_reference_sees_only_the_labels_the_features_explain():
    rng = np.random.default_rng(0)

    def split(n: int) -> LabeledTensors:
        y = torch.as_tensor(np.arange(n) % 2)
        return LabeledTensors(torch.as_tensor(rng.uniform(0, 1, (n, 5)), dtype=torch.float32), y)

    noise = Splits(split(200), split(100), split(100), n_classes=2, input_shape=(5,))
    result = reference_accuracy(noise)
    assert abs(result.test - 50.0) < 15  # random features: about chance, nothing leaked from the test labels
    assert chance_accuracy(np.array([0, 0, 0, 1])) == 75.0
