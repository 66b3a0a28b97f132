"""benchmarks/user_script_baseline.py (time_to_front's anchor) on data other than digits: the network and its
memory follow the data's shape."""

from __future__ import annotations

import numpy as np
import pytest
from benchmark_modules import load_benchmark
from sklearn.datasets import load_iris

from qsearch.cost import memory_breakdown
from qsearch.data import NpzSpec
from qsearch.quant import QuantConfig

user_script = load_benchmark("user_script_baseline")


def test_the_user_script_trains_on_an_npz_spec_with_its_input_width_and_classes(tmp_path):
    x, y = load_iris(return_X_y=True)  # 4 features, 3 classes: neither is digits' 64 / 10
    np.savez(tmp_path / "iris.npz", x=x.astype(np.float32), y=y.astype(np.int64))
    points: list[dict] = []
    user_script.run(0, 2, points.append, epochs=1, spec=NpzSpec(path=str(tmp_path / "iris.npz")))
    assert len(points) == 2
    for point in points:
        assert 0.0 <= point["accuracy"] <= 100.0
        # the memory of some (weight bits, membrane bits) of the search space on a 4-128-3 network
        candidates = {memory_breakdown([4, user_script.HIDDEN, 3], QuantConfig(
            scheme="qat", weight_bits=(w, w), membrane_bits=m, current_bits=32, param_bits=32,
            timesteps=user_script.TIMESTEPS)).total / 8192
            for w in user_script.WEIGHT_BITS for m in user_script.MEMBRANE_BITS}
        assert any(point["memory_kib"] == pytest.approx(c) for c in candidates)
