"""Quantizing tensors to a :class:`FixedPoint` format: integer codes, grid values and the STE twin for QAT."""

from __future__ import annotations

import torch

from qsearch.quant._formats import FixedPoint
from qsearch.quant._rounding import Rounding, round_units


def to_codes(x: torch.Tensor, fmt: FixedPoint, mode: Rounding,
             generator: torch.Generator | None = None) -> torch.Tensor:
    """Integer codes of ``x`` in ``fmt`` (int64), rounded with ``mode`` and saturated to the format's range."""
    if fmt.is_float:
        raise ValueError("to_codes: a float32 format has no integer codes")
    if fmt.is_binary:
        return torch.where(x < 0, -1, 1).to(torch.int64)
    units = x.double() / fmt.step
    return round_units(units, mode, generator).clamp(fmt.min_code, fmt.max_code).to(torch.int64)


def quantize(x: torch.Tensor, fmt: FixedPoint, mode: Rounding,
             generator: torch.Generator | None = None) -> torch.Tensor:
    """Value of ``x`` on the grid of ``fmt`` (same dtype as ``x``); identity for float32 formats."""
    if fmt.is_float:
        return x
    if fmt.is_binary:
        return torch.where(x < 0, -fmt.step, fmt.step).to(x.dtype)
    units = x / fmt.step  # exact: the step is a power of two
    return round_units(units, mode, generator).clamp_(fmt.min_code, fmt.max_code) * fmt.step


def fake_quantize(x: torch.Tensor, fmt: FixedPoint, mode: Rounding,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """Quantized forward, identity (straight-through) gradient — the QAT estimator of Bengio et al. 2013."""
    if fmt.is_float:
        return x
    if not x.requires_grad:
        return quantize(x, fmt, mode, generator)
    # q + (x - x.detach()) is exactly q in value (x - x is 0) yet carries x's gradient; x + (q - x).detach()
    # would lose q's low bits in float32 when |x| is far outside the range
    return quantize(x.detach(), fmt, mode, generator) + (x - x.detach())
