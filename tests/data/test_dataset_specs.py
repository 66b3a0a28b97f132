"""The dataset section of a study file: one model per dataset, chosen by ``name``, strict about fields."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from qsearch.data import (
    DatasetSpec,
    DigitsSpec,
    DvsGestureSpec,
    LatencyEncoding,
    MnistSpec,
    NmnistSpec,
    NpzSpec,
    ShdSpec,
)

ADAPTER = TypeAdapter(DatasetSpec)


@pytest.mark.parametrize(("section", "model"), [
    ({"name": "digits"}, DigitsSpec), ({"name": "mnist", "path": "m"}, MnistSpec),
    ({"name": "npz", "path": "a.npz"}, NpzSpec), ({"name": "nmnist", "path": "d"}, NmnistSpec),
    ({"name": "dvsgesture", "path": "d"}, DvsGestureSpec), ({"name": "shd", "path": "d"}, ShdSpec),
])
def test_name_selects_the_dataset_model(section, model):
    assert type(ADAPTER.validate_python(section)) is model


def test_fields_are_validated_with_their_names():
    spec = ADAPTER.validate_python({"name": "mnist", "path": "m", "flatten": False,
                                    "encoding": {"kind": "latency", "threshold": 0.2}})
    assert spec.encoding == LatencyEncoding(threshold=0.2) and spec.flatten is False
    for bad, field in [({"name": "nmnist", "path": "d", "downsample": 2}, "downsample"),
                       ({"name": "shd", "path": "d", "denoise_filter_time": -1}, "denoise_filter_time"),
                       ({"name": "dvsgesture", "path": "d", "timesteps": 5}, "timesteps"),
                       ({"name": "mnist"}, "path"), ({"name": "cifar"}, "name")]:
        with pytest.raises(ValidationError, match=field):
            ADAPTER.validate_python(bad)
