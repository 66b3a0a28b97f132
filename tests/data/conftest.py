"""The dataset writers of :mod:`dataset_files` as one fixture namespace for the data tests."""

from __future__ import annotations

import types

import pytest
from dataset_files import (
    idx_bytes,
    nmnist_bytes,
    random_events,
    reference_frames,
    write_dvsgesture,
    write_mnist,
    write_nmnist,
    write_shd,
)


@pytest.fixture
def formats():
    """The writers and the binning reference, as one namespace for the tests."""
    return types.SimpleNamespace(write_mnist=write_mnist, write_nmnist=write_nmnist, write_shd=write_shd,
                                 write_dvsgesture=write_dvsgesture, reference_frames=reference_frames,
                                 nmnist_bytes=nmnist_bytes, random_events=random_events,
                                 idx_bytes=idx_bytes)
