"""The analog input of a direct encoding as integer hardware takes it: an unsigned fixed-point number.

An intensity ``x`` in [0, 1] becomes the code ``min(floor(x * 2**b + 1/2), 2**b - 1)`` of an unsigned ``b``-bit
format with ``b`` fraction bits (step ``2**-b``, value ``code * 2**-b``): rounded to nearest (ties up, as an ADC's
midpoint rule) and saturated, so that full intensity is the largest code, one step below 1. Every path (float
training, fake-quantized evaluation, integer inference) reads the same codes, so the input is one fact and the
fake-quantized and integer paths agree exactly.
"""

from __future__ import annotations

import torch

from qsearch.quant._formats import MAX_FIXED_BITS

#: bits of an analog input code (the study file's ``encoding.input_bits``): 1..MAX_FIXED_BITS
INPUT_BITS_RANGE = (1, MAX_FIXED_BITS)
DEFAULT_INPUT_BITS = 8


def input_code_dtype(bits: int) -> torch.dtype:
    """The smallest torch integer type that stores ``bits``-bit unsigned codes (uint8 up to 8 bits)."""
    return torch.uint8 if bits <= 8 else torch.int32


def analog_input_codes(x: torch.Tensor, bits: int) -> torch.Tensor:
    """Unsigned ``bits``-bit codes (``input_code_dtype(bits)``) of intensities ``x`` (clamped into [0, 1])."""
    low, high = INPUT_BITS_RANGE
    if not low <= bits <= high:
        raise ValueError(f"analog_input_codes: bits {bits} outside {low}..{high}")
    scaled = x.double().clamp(0, 1) * 2.0 ** bits  # exact: a power of two
    return torch.floor(scaled + 0.5).clamp_(max=2 ** bits - 1).to(input_code_dtype(bits))
