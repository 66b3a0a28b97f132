"""Fixed-point number formats and how their integer/fraction split is chosen.

A format ``FixedPoint(bits, frac_bits)`` is two's complement with ``bits`` bits in total, of which ``frac_bits``
are fraction bits (``frac_bits`` may be negative or exceed ``bits``: the binary point may lie outside the word).
Its step is ``2**-frac_bits`` and its integer codes run from ``-2**(bits-1)`` to ``2**(bits-1) - 1``; values
outside saturate to the nearest end. Power-of-two steps make every rescaling a shift, so a network in these
formats runs on an integer datapath (see :mod:`qsearch.snn.integer`).

Special widths:
- ``bits == 1``: binary, codes {-1, +1} (a sign bit; zero is not representable, as in binary networks).
- ``bits >= 32``: float32, no quantization.

Calibration (how ``frac_bits`` is chosen):
- from a range ``max_abs`` (currents, neuron parameters; weights with ``weight_calibration: max``): the
  integer part, sign included, gets ``floor(log2(max_abs)) + 2`` bits, i.e.
  ``frac_bits = bits - 2 - floor(log2(max_abs))``. The largest code
  is then ``2**(floor(log2 max_abs) + 1) * (1 - 2**(1-bits))``: it holds ``max_abs`` (a threshold of exactly 1.0
  is representable) except within one step below the next power of two, where it saturates by under a step.
  For binary weights the step is the power of two nearest to mean |w|.
- from the values themselves (``calibrate_mse``, weights by default): the max-based rule spends the levels of a
  2-4 bit grid on the few largest weights, so the step is chosen by squared error instead. With
  ``f_max = frac_bits_for_range(bits, max|x|)`` the candidates are ``f_max``, ``f_max + 1`` and ``f_max + 2``
  (each extra fraction bit halves the step and the range, clipping the largest values); the one whose
  round-to-nearest-with-saturation error ``sum((quantize(x) - x)**2)`` is smallest wins, a tie going to fewer
  fraction bits. The step stays a power of two, and ``f_max`` is a candidate, so the error is never larger than
  the max-based format's. Binary (1-bit) and float32 widths keep the rules above.
- membrane potential: ``max_abs = max(|v_th|, |v_reset|, |v_leak|)``: with the rule above the range reaches
  the next power of two above that (twice the threshold when it is a power of two, e.g. [-2, 2) for v_th = 1),
  room for sub-threshold dynamics; values above threshold are reset anyway.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from qsearch.errors import InputError
from qsearch.quant._rounding import round_units

FLOAT_BITS = 32
MIN_BITS = 1
MAX_FIXED_BITS = 16
#: fraction bits beyond the max-based choice that MSE calibration tries (each one clips the range in half)
MSE_EXTRA_FRAC_BITS = 2


@dataclass(frozen=True)
class WidthRule:
    """The widths one kind of value may take: ``minimum``..MAX_FIXED_BITS fixed-point bits, or float32.

    The single source of the bit-width rules: the study file, :class:`~qsearch.quant.QuantConfig`,
    :class:`FixedPoint` and the membrane calibration all ask these rules, so their messages cannot disagree.
    """

    minimum: int
    what: str

    def allows(self, bits: int) -> bool:
        return self.minimum <= bits <= MAX_FIXED_BITS or bits == FLOAT_BITS

    def allowed(self) -> str:
        return f"{self.minimum}..{MAX_FIXED_BITS} or {FLOAT_BITS}"

    def problem(self, bits: int) -> str | None:
        """What is wrong with ``bits`` and what is allowed (one line), or None when it is allowed."""
        if self.allows(bits):
            return None
        return f"{bits} is not a supported width for {self.what}; allowed: {self.allowed()}"

    def check(self, bits: int, field: str) -> int:
        """``bits`` when allowed, else InputError naming ``field`` and the allowed widths (one line)."""
        problem = self.problem(bits)
        if problem is not None:
            raise InputError(f"{field}: {problem}")
        return bits


#: any format: binary (1 bit) up to MAX_FIXED_BITS, or float32
FORMAT_WIDTHS = WidthRule(MIN_BITS, "a fixed-point format")
#: weights may be binary (codes -1/+1)
WEIGHT_WIDTHS = WidthRule(MIN_BITS, "weights")
#: membrane potential and synaptic current: one bit cannot hold a neuron state (it needs zero and a sign)
STATE_WIDTHS = WidthRule(2, "a neuron state")
#: the five neuron constants (decays, potentials): the same reason as the state
PARAM_WIDTHS = WidthRule(2, "a neuron parameter")


@dataclass(frozen=True)
class FixedPoint:
    """A two's-complement fixed-point format; ``bits >= 32`` means float32 (no quantization)."""

    bits: int
    frac_bits: int = 0

    def __post_init__(self) -> None:
        FORMAT_WIDTHS.check(self.bits, "bits")

    @property
    def is_float(self) -> bool:
        return self.bits >= FLOAT_BITS

    @property
    def is_binary(self) -> bool:
        return self.bits == 1

    @property
    def step(self) -> float:
        return 2.0 ** (-self.frac_bits)

    @property
    def min_code(self) -> int:
        return -1 if self.is_binary else -(2 ** (self.bits - 1))

    @property
    def max_code(self) -> int:
        return 1 if self.is_binary else 2 ** (self.bits - 1) - 1

    @property
    def min_value(self) -> float:
        return self.min_code * self.step

    @property
    def max_value(self) -> float:
        return self.max_code * self.step

    def describe(self) -> str:
        """Q-notation as in the literature: Q<integer bits>.<fraction bits> (sign bit included in integer bits)."""
        if self.is_float:
            return "float32"
        if self.is_binary:
            return f"binary(+-2^{-self.frac_bits})"
        return f"Q{self.bits - self.frac_bits}.{self.frac_bits}"


def frac_bits_for_range(bits: int, max_abs: float) -> int:
    """Fraction bits so that ``max_abs`` fits in the integer part of a ``bits``-wide signed word."""
    if bits >= FLOAT_BITS:
        return 0
    if not math.isfinite(max_abs):
        raise ValueError(f"calibration range must be finite, got {max_abs}")
    if max_abs <= 0:
        return bits - 1  # all-zero tensor: any format represents it; pick the finest sensible one
    return bits - 2 - math.floor(math.log2(max_abs))


def calibrate(bits: int, max_abs: float, mean_abs: float | None = None) -> FixedPoint:
    """Choose the format of a tensor from its range (and, for binary, its mean magnitude)."""
    if bits >= FLOAT_BITS:
        return FixedPoint(FLOAT_BITS)
    if bits == 1:
        magnitude = mean_abs if mean_abs and mean_abs > 0 else max(max_abs, 1e-12)
        return FixedPoint(1, -round(math.log2(magnitude)))
    return FixedPoint(bits, frac_bits_for_range(bits, max_abs))


def membrane_format(bits: int, v_th: float, v_reset: float, v_leak: float = 0.0) -> FixedPoint:
    """Membrane-potential format from the neuron's threshold and reset (see module docstring)."""
    STATE_WIDTHS.check(bits, "membrane_bits")
    return calibrate(bits, max(abs(v_th), abs(v_reset), abs(v_leak)))


def squared_error(values: torch.Tensor, fmt: FixedPoint) -> float:
    """Sum of squared errors of round-to-nearest with saturation onto ``fmt`` (float64; 0 for float32)."""
    if fmt.is_float:
        return 0.0
    x = values.detach().double()
    if fmt.is_binary:
        q = torch.where(x < 0, -fmt.step, fmt.step)
    else:
        q = round_units(x / fmt.step, "nearest").clamp(fmt.min_code, fmt.max_code) * fmt.step
    return float(((q - x) ** 2).sum())


def calibrate_mse(bits: int, values: torch.Tensor) -> FixedPoint:
    """The format of ``values`` that trades clipping the largest ones for a finer step (module docstring).

    Low-bit weights are roughly bell-shaped: a range set by the single largest weight leaves most weights in
    the few levels around zero, while clipping that outlier halves the step of all the others.
    """
    flat = values.detach().flatten()
    max_abs = float(flat.abs().max()) if flat.numel() else 0.0
    if bits >= FLOAT_BITS or bits == 1 or max_abs == 0.0:
        mean_abs = float(flat.abs().mean()) if flat.numel() else 0.0
        return calibrate(bits, max_abs, mean_abs)
    f_max = frac_bits_for_range(bits, max_abs)
    candidates = [FixedPoint(bits, f_max + extra) for extra in range(MSE_EXTRA_FRAC_BITS + 1)]
    errors = [squared_error(flat, fmt) for fmt in candidates]
    return candidates[errors.index(min(errors))]  # index() finds the first minimum: ties keep fewer bits
