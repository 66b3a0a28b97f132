"""FixedPoint formats, their calibration from a range, and QuantConfig validation."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from qsearch.quant import (
    FLOAT_BITS,
    MAX_FIXED_BITS,
    ROUNDING_MODES,
    FixedPoint,
    QuantConfig,
    calibrate,
    frac_bits_for_range,
    membrane_format,
    quantize,
)

FAST = settings(max_examples=80, deadline=None)

fixed_bits = st.integers(min_value=2, max_value=MAX_FIXED_BITS)
ranges = st.floats(min_value=1e-6, max_value=1e6, allow_nan=False, allow_infinity=False)


def test_fixed_point_geometry_by_hand() -> None:
    fmt = FixedPoint(4, 2)  # codes -8..7, step 1/4
    assert (fmt.step, fmt.min_code, fmt.max_code) == (0.25, -8, 7)
    assert (fmt.min_value, fmt.max_value) == (-2.0, 1.75)
    assert fmt.describe() == "Q2.2"
    assert not fmt.is_float and not fmt.is_binary
    wide = FixedPoint(8, -2)  # binary point right of the word: step 4
    assert (wide.step, wide.min_value, wide.max_value) == (4.0, -512.0, 508.0)
    binary = FixedPoint(1, 3)
    assert binary.is_binary and (binary.min_code, binary.max_code) == (-1, 1)
    assert binary.describe() == "binary(+-2^-3)"
    assert FixedPoint(FLOAT_BITS).describe() == "float32"


@pytest.mark.parametrize("bits", [0, -1, MAX_FIXED_BITS + 1, 17, 31, 33, 64])
def test_unsupported_widths_raise_naming_bits(bits: int) -> None:
    with pytest.raises(ValueError, match=r"bits: .*not a supported width"):
        FixedPoint(bits)


@pytest.mark.parametrize("bits", [1, 2, 8, MAX_FIXED_BITS, FLOAT_BITS])
def test_supported_widths_construct(bits: int) -> None:
    assert FixedPoint(bits).bits == bits


@pytest.mark.parametrize("mode", ROUNDING_MODES)
@FAST
@given(bits=fixed_bits, max_abs=ranges)
def test_calibrated_format_holds_the_largest_magnitude_within_one_step(mode: str, bits: int,
                                                                       max_abs: float) -> None:
    fmt = calibrate(bits, max_abs)
    x = torch.tensor([max_abs, -max_abs], dtype=torch.float64)
    q = quantize(x, fmt, mode, torch.Generator().manual_seed(0))
    assert bool(((q - x).abs() < fmt.step).all())


@FAST
@given(bits=fixed_bits, max_abs=ranges)
def test_calibration_picks_the_finest_format_whose_range_covers_the_value(bits: int, max_abs: float) -> None:
    fmt = calibrate(bits, max_abs)
    assert fmt.frac_bits == frac_bits_for_range(bits, max_abs)
    # the negative end is a power of two: the smallest one above max_abs (a finer format would not hold it)
    assert abs(fmt.min_value) / 2 <= max_abs < abs(fmt.min_value)


@pytest.mark.parametrize("mode", ROUNDING_MODES)
@pytest.mark.parametrize("bits", range(2, MAX_FIXED_BITS + 1))
def test_a_threshold_of_exactly_one_is_representable(mode: str, bits: int) -> None:
    fmt = calibrate(bits, 1.0)
    one = torch.tensor([1.0, -1.0], dtype=torch.float64)
    assert quantize(one, fmt, mode, torch.Generator().manual_seed(0)).tolist() == [1.0, -1.0]
    assert quantize(one, membrane_format(bits, 1.0, 0.0), mode).tolist() == [1.0, -1.0]


@FAST
@given(bits=fixed_bits, exponent=st.integers(min_value=-20, max_value=20))
def test_powers_of_two_are_representable_exactly(bits: int, exponent: int) -> None:
    value = 2.0 ** exponent
    fmt = calibrate(bits, value)
    x = torch.tensor([value, -value], dtype=torch.float64)
    assert quantize(x, fmt, "truncate").tolist() == [value, -value]


def test_frac_bits_for_range_by_hand() -> None:
    assert frac_bits_for_range(8, 1.0) == 6  # Q2.6: 8 - 2 - floor(log2 1)
    assert frac_bits_for_range(8, 0.3) == 8  # 8 - 2 - (-2)
    assert frac_bits_for_range(8, 5.0) == 4  # 8 - 2 - 2
    assert frac_bits_for_range(4, 0.0) == 3  # all-zero tensor: finest format
    assert frac_bits_for_range(FLOAT_BITS, 123.0) == 0


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan])
def test_non_finite_calibration_range_raises(bad: float) -> None:
    with pytest.raises(ValueError, match="finite"):
        frac_bits_for_range(8, bad)


@FAST
@given(mean_abs=ranges, max_abs=ranges)
def test_binary_step_is_the_power_of_two_nearest_the_mean_magnitude(mean_abs: float, max_abs: float) -> None:
    fmt = calibrate(1, max_abs, mean_abs)
    assert fmt.is_binary
    assert math.log2(fmt.step) == round(math.log2(fmt.step))
    assert abs(math.log2(fmt.step) - math.log2(mean_abs)) <= 0.5


def test_binary_step_falls_back_to_the_range_without_a_mean() -> None:
    assert calibrate(1, 0.25).step == 0.25
    assert calibrate(1, 0.25, 0.0).step == 0.25


def test_float_width_calibrates_to_float() -> None:
    assert calibrate(FLOAT_BITS, 7.0).is_float


def test_membrane_format_covers_threshold_reset_and_leak() -> None:
    fmt = membrane_format(8, v_th=1.0, v_reset=-3.0, v_leak=0.5)
    assert fmt == calibrate(8, 3.0)
    assert quantize(torch.tensor([-3.0, 1.0], dtype=torch.float64), fmt, "nearest").tolist() == [-3.0, 1.0]


def test_one_bit_membrane_raises_naming_the_field() -> None:
    with pytest.raises(ValueError, match="membrane_bits"):
        membrane_format(1, 1.0, 0.0)


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"scheme": "ptq", "membrane_bits": 1}, "membrane_bits"),
    ({"membrane_bits": 1}, "membrane_bits"),
    ({"scheme": "ptq", "current_bits": 1}, "current_bits"),
    ({"scheme": "ptq", "param_bits": 1}, "param_bits"),
    ({"scheme": "ptq", "membrane_bits": 0}, "membrane_bits"),
    ({"scheme": "ptq", "current_bits": 17}, "current_bits"),
    ({"scheme": "ptq", "param_bits": 24}, "param_bits"),
    ({"scheme": "ptq", "weight_bits": (4, 0)}, r"weight_bits\[1\]"),
    ({"scheme": "ptq", "weight_bits": (17,)}, r"weight_bits\[0\]"),
    ({"scheme": "int8"}, "scheme"),
    ({"rounding": "banker"}, "rounding"),
    ({"timesteps": 0}, "timesteps"),
    ({"scheme": "ptq", "sparsity": (0.5, 1.0)}, "sparsity"),
    ({"scheme": "ptq", "sparsity": (-0.1,)}, "sparsity"),
    ({"scheme": "float", "weight_bits": (8,)}, "scheme"),
])
def test_invalid_quant_config_raises_naming_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        QuantConfig(**kwargs)


def test_quant_config_per_layer_lookups_repeat_the_last_entry() -> None:
    cfg = QuantConfig(scheme="qat", weight_bits=(1, 4), membrane_bits=8, sparsity=(0.5,))
    assert [cfg.layer_bits(i) for i in range(3)] == [1, 4, 4]
    assert [cfg.layer_sparsity(i) for i in range(3)] == [0.5, 0.5, 0.5]
    assert QuantConfig().layer_bits(0) == FLOAT_BITS and QuantConfig().layer_sparsity(2) == 0.0


def test_quant_config_round_trips_through_a_dict() -> None:
    cfg = QuantConfig(scheme="ptq", weight_bits=(4, 2), membrane_bits=8, current_bits=6, param_bits=5,
                      rounding="stochastic", timesteps=8, sparsity=(0.25, 0.0))
    data = cfg.to_dict()
    assert data["weight_bits"] == [4, 2] and data["sparsity"] == [0.25, 0.0]
    assert QuantConfig.from_dict(data) == cfg
