"""Rounding onto a fixed-point grid — the three schemes of Q-SpiNN (Gupta et al., ICML 2015).

All functions work in *grid units*: ``u = x / step``. With a power-of-two step the division is exact in
floating point, so these functions describe exactly what an integer datapath does after a right shift.

- truncate:   floor(u)                      — the largest grid value <= x (drop the low bits)
- nearest:    ceil(u - 1/2)                 — nearest grid value; a tie (exactly half a step) goes *down*,
                                              as in the definition "floor(x) if x - floor(x) <= e/2"
- stochastic: floor(u) + 1 with probability u - floor(u), else floor(u) — unbiased: E[SR(x)] = x
"""

from __future__ import annotations

from typing import Literal, get_args

import torch

from qsearch.errors import InputError

Rounding = Literal["truncate", "nearest", "stochastic"]
ROUNDING_MODES: tuple[Rounding, ...] = get_args(Rounding)


def round_units(units: torch.Tensor, mode: Rounding, generator: torch.Generator | None = None) -> torch.Tensor:
    """Round values expressed in grid units to integers (still as a float tensor)."""
    if mode == "truncate":
        return torch.floor(units)
    if mode == "nearest":
        return torch.ceil(units - 0.5)
    if mode == "stochastic":
        low = torch.floor(units)
        draw = torch.rand(units.shape, generator=generator, device=units.device, dtype=units.dtype)
        return low + (draw < (units - low)).to(units.dtype)
    raise InputError(f"rounding: unknown mode {mode!r}; allowed: {', '.join(ROUNDING_MODES)}")


def shift_right_rounded(value: torch.Tensor, shift: int, mode: Rounding,
                        generator: torch.Generator | None = None) -> torch.Tensor:
    """Integer twin of :func:`round_units` for ``value / 2**shift`` on int64 tensors.

    A negative shift is an exact left shift. Used by the integer-only inference path, which must agree bit for
    bit with the float fake-quantized path for the deterministic modes.
    """
    if shift <= 0:
        return value << (-shift)
    if mode == "truncate":
        return value >> shift  # arithmetic shift = floor for two's complement
    if mode == "nearest":
        return (value + (1 << (shift - 1)) - 1) >> shift  # ceil(u - 1/2): ties go down
    if mode == "stochastic":
        low = value >> shift
        remainder = value - (low << shift)
        draw = torch.randint(0, 1 << shift, value.shape, generator=generator, device=value.device)
        return low + (draw < remainder).to(value.dtype)
    raise InputError(f"rounding: unknown mode {mode!r}; allowed: {', '.join(ROUNDING_MODES)}")
