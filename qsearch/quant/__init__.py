"""Quantization math: fixed-point formats, the three rounding modes, quantizers and the trial's QuantConfig.

Pure functions on tensors and small frozen records; nothing here trains or touches storage.
"""

from qsearch.quant._config import (
    DEFAULT_WEIGHT_CALIBRATION,
    SCHEMES,
    STORED_WITHOUT_CALIBRATION,
    WEIGHT_CALIBRATIONS,
    QuantConfig,
    Scheme,
    WeightCalibration,
)
from qsearch.quant._formats import (
    FLOAT_BITS,
    MAX_FIXED_BITS,
    PARAM_WIDTHS,
    STATE_WIDTHS,
    WEIGHT_WIDTHS,
    FixedPoint,
    WidthRule,
    calibrate,
    calibrate_mse,
    frac_bits_for_range,
    membrane_format,
    squared_error,
)
from qsearch.quant._input import DEFAULT_INPUT_BITS, INPUT_BITS_RANGE, analog_input_codes, input_code_dtype
from qsearch.quant._quantize import fake_quantize, quantize, to_codes
from qsearch.quant._rounding import ROUNDING_MODES, Rounding, round_units, shift_right_rounded

__all__ = [
    "DEFAULT_INPUT_BITS", "DEFAULT_WEIGHT_CALIBRATION", "FLOAT_BITS", "INPUT_BITS_RANGE", "MAX_FIXED_BITS",
    "PARAM_WIDTHS", "ROUNDING_MODES", "SCHEMES", "STATE_WIDTHS", "STORED_WITHOUT_CALIBRATION", "WEIGHT_CALIBRATIONS",
    "WEIGHT_WIDTHS", "FixedPoint", "QuantConfig", "Rounding", "Scheme", "WeightCalibration", "WidthRule",
    "analog_input_codes", "calibrate", "calibrate_mse", "fake_quantize", "frac_bits_for_range", "input_code_dtype",
    "membrane_format", "quantize", "round_units", "shift_right_rounded", "squared_error", "to_codes",
]
