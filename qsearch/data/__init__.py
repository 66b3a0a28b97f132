"""Datasets as :class:`Splits` of labelled tensors, and the spike encoders that turn them into trial input."""

from qsearch.data._arrays import load_npz_splits
from qsearch.data._digits import load_digits_splits
from qsearch.data._encoded import EncodedSplit, encode_split
from qsearch.data._encoding import (
    DirectEncoder,
    LatencyEncoder,
    RateEncoder,
    RegularEncoder,
    direct_encode,
    latency_encode,
    rate_encode,
    regular_encode,
)
from qsearch.data._events import load_event_splits
from qsearch.data._frame_cache import cache_key
from qsearch.data._frames import FrameBinning, binning_calls
from qsearch.data._held import ArrayPairs, data_fingerprint, held_frames, hold_data
from qsearch.data._idx import parse_idx, read_idx
from qsearch.data._mnist import load_mnist_splits
from qsearch.data._specs import (
    DatasetSpec,
    DigitsSpec,
    DirectEncoding,
    DvsGestureSpec,
    LatencyEncoding,
    MnistSpec,
    NmnistSpec,
    NpzSpec,
    PythonSpec,
    RateEncoding,
    RegularEncoding,
    ShdSpec,
)
from qsearch.data._splits import (
    LabeledTensors,
    Splits,
    check_folds,
    cross_validation_folds,
    splits_from_arrays,
    stratified_split,
)

__all__ = [
    "ArrayPairs", "DatasetSpec", "DigitsSpec", "DirectEncoder", "DirectEncoding", "DvsGestureSpec", "EncodedSplit",
    "FrameBinning", "LabeledTensors", "LatencyEncoder", "LatencyEncoding", "MnistSpec", "NmnistSpec", "NpzSpec",
    "PythonSpec", "RateEncoder", "RateEncoding", "RegularEncoder", "RegularEncoding", "ShdSpec", "Splits",
    "binning_calls", "cache_key", "check_folds", "cross_validation_folds", "data_fingerprint", "direct_encode",
    "encode_split", "held_frames", "hold_data", "latency_encode", "load_digits_splits", "load_event_splits",
    "load_mnist_splits", "load_npz_splits", "parse_idx", "rate_encode", "read_idx", "regular_encode",
    "splits_from_arrays", "stratified_split",
]
