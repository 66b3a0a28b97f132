"""Quantizing tensors onto FixedPoint grids: grid membership, level count, saturation, the three roundings."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from qsearch.quant import ROUNDING_MODES, FixedPoint, fake_quantize, quantize, to_codes

FAST = settings(max_examples=40, deadline=None)
FEW = settings(max_examples=12, deadline=None)

formats = st.builds(FixedPoint, bits=st.integers(min_value=2, max_value=16),
                    frac_bits=st.integers(min_value=-6, max_value=20))
# a value expressed as a multiple of the format's half-range, so that it lands inside and outside the range
spans = st.lists(st.floats(min_value=-3.0, max_value=3.0, allow_nan=False), min_size=1, max_size=32)


def _values(fmt: FixedPoint, span: list[float], dtype: torch.dtype = torch.float64) -> torch.Tensor:
    half_range = 2.0 ** (fmt.bits - 1) * fmt.step
    return torch.tensor(span, dtype=torch.float64).mul(half_range).to(dtype)


def _on_grid(q: torch.Tensor, fmt: FixedPoint) -> bool:
    units = q.double() / fmt.step
    return bool(torch.equal(units, torch.round(units)))


@pytest.mark.parametrize("mode", ROUNDING_MODES)
@FAST
@given(fmt=formats, span=spans)
def test_quantized_values_lie_on_the_grid_within_the_code_range(mode: str, fmt: FixedPoint,
                                                                span: list[float]) -> None:
    q = quantize(_values(fmt, span), fmt, mode, torch.Generator().manual_seed(0))
    assert _on_grid(q, fmt)
    assert bool((q >= fmt.min_value).all()) and bool((q <= fmt.max_value).all())


@pytest.mark.parametrize("mode", ROUNDING_MODES)
@FEW
@given(fmt=formats, span=spans)
def test_float32_inputs_stay_float32_and_on_the_grid(mode: str, fmt: FixedPoint, span: list[float]) -> None:
    x = _values(fmt, span, torch.float32)
    q = quantize(x, fmt, mode, torch.Generator().manual_seed(0))
    assert q.dtype == torch.float32
    assert _on_grid(q, fmt)


@pytest.mark.parametrize("mode", ROUNDING_MODES)
@settings(max_examples=20, deadline=None)
@given(bits=st.integers(min_value=1, max_value=10), frac_bits=st.integers(min_value=-4, max_value=12))
def test_a_format_has_at_most_two_to_the_bits_levels(mode: str, bits: int, frac_bits: int) -> None:
    fmt = FixedPoint(bits, frac_bits)
    # a sweep well past both ends, denser than the step: every code is hit by the deterministic modes
    x = torch.linspace(-2, 2, 2 ** (bits + 3) + 1, dtype=torch.float64) * (2.0 ** (bits - 1) * fmt.step)
    levels = quantize(x, fmt, mode, torch.Generator().manual_seed(0)).unique()
    assert levels.numel() <= 2 ** bits
    if mode != "stochastic":
        assert levels.numel() == 2 ** bits


@pytest.mark.parametrize("mode", ROUNDING_MODES)
@FAST
@given(fmt=formats, excess=st.lists(st.floats(min_value=0.0, max_value=1e3, allow_nan=False),
                                    min_size=1, max_size=16))
def test_values_outside_the_range_saturate_to_the_ends(mode: str, fmt: FixedPoint,
                                                       excess: list[float]) -> None:
    over = torch.tensor([fmt.max_value + e * fmt.step for e in excess], dtype=torch.float64)
    under = torch.tensor([fmt.min_value - e * fmt.step for e in excess], dtype=torch.float64)
    gen = torch.Generator().manual_seed(0)
    assert quantize(over, fmt, mode, gen).tolist() == [fmt.max_value] * len(excess)
    assert quantize(under, fmt, mode, gen).tolist() == [fmt.min_value] * len(excess)
    assert to_codes(over, fmt, mode, gen).tolist() == [fmt.max_code] * len(excess)
    assert to_codes(under, fmt, mode, gen).tolist() == [fmt.min_code] * len(excess)


def _in_range(fmt: FixedPoint, span: list[float]) -> torch.Tensor:
    x = _values(fmt, span)
    return x.clamp(fmt.min_value, fmt.max_value)


@FAST
@given(fmt=formats, span=spans)
def test_truncation_never_rounds_up_and_drops_less_than_a_step(fmt: FixedPoint, span: list[float]) -> None:
    x = _in_range(fmt, span)
    q = quantize(x, fmt, "truncate")
    assert bool((q <= x).all())
    assert bool((q + fmt.step > x).all())


@FAST
@given(fmt=formats, span=spans)
def test_nearest_is_within_half_a_step_of_in_range_values(fmt: FixedPoint, span: list[float]) -> None:
    x = _in_range(fmt, span)
    q = quantize(x, fmt, "nearest")
    assert bool(((q - x).abs() <= fmt.step / 2).all())


@FAST
@given(fmt=formats, code=st.floats(min_value=0.0, max_value=1.0))
def test_nearest_sends_ties_down(fmt: FixedPoint, code: float) -> None:
    k = fmt.min_code + math.floor(code * (fmt.max_code - 1 - fmt.min_code))  # k and k + 1 are both codes
    tie = torch.tensor([(k + 0.5) * fmt.step], dtype=torch.float64)
    assert quantize(tie, fmt, "nearest").item() == k * fmt.step
    assert to_codes(tie, fmt, "nearest").item() == k


@FAST
@given(fmt=formats, span=spans)
def test_stochastic_rounding_picks_one_of_the_two_neighbours(fmt: FixedPoint, span: list[float]) -> None:
    x = _in_range(fmt, span)
    q = quantize(x, fmt, "stochastic", torch.Generator().manual_seed(5))
    low = quantize(x, fmt, "truncate")
    assert bool(((q == low) | (q == low + fmt.step)).all())


@FEW
@given(fmt=formats, position=st.floats(min_value=0.0, max_value=1.0), seed=st.integers(0, 2 ** 31))
def test_stochastic_quantization_is_unbiased(fmt: FixedPoint, position: float, seed: int) -> None:
    x = fmt.min_value + position * (fmt.max_value - fmt.min_value)
    n = 20_000
    gen = torch.Generator().manual_seed(seed)
    q = quantize(torch.full((n,), x, dtype=torch.float64), fmt, "stochastic", gen)
    units = x / fmt.step
    p = units - math.floor(units)
    sigma = fmt.step * math.sqrt(p * (1 - p) / n)
    assert abs(float(q.mean()) - x) <= 5 * sigma + 1e-12 * fmt.step


def test_stochastic_quantization_is_reproducible_and_seed_dependent() -> None:
    fmt = FixedPoint(6, 4)
    x = torch.linspace(-1.9, 1.9, 2001, dtype=torch.float64)
    a = quantize(x, fmt, "stochastic", torch.Generator().manual_seed(11))
    b = quantize(x, fmt, "stochastic", torch.Generator().manual_seed(11))
    c = quantize(x, fmt, "stochastic", torch.Generator().manual_seed(12))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


@pytest.mark.parametrize("mode", ["truncate", "nearest"])
@FAST
@given(fmt=formats, span=spans)
def test_codes_times_step_equal_quantized_values(mode: str, fmt: FixedPoint, span: list[float]) -> None:
    x = _values(fmt, span)
    codes = to_codes(x, fmt, mode)
    assert codes.dtype == torch.int64
    assert bool((codes >= fmt.min_code).all()) and bool((codes <= fmt.max_code).all())
    assert torch.equal(codes.double() * fmt.step, quantize(x, fmt, mode))


@pytest.mark.parametrize("mode", ROUNDING_MODES)
@FAST
@given(frac_bits=st.integers(min_value=-8, max_value=12),
       values=st.lists(st.floats(min_value=-1e4, max_value=1e4, allow_nan=False), min_size=1, max_size=32))
def test_binary_format_gives_plus_or_minus_step_only(mode: str, frac_bits: int, values: list[float]) -> None:
    fmt = FixedPoint(1, frac_bits)
    x = torch.tensor(values, dtype=torch.float64)
    q = quantize(x, fmt, mode, torch.Generator().manual_seed(0))
    assert set(q.tolist()) <= {-fmt.step, fmt.step}
    assert torch.equal(q, torch.where(x < 0, -fmt.step, fmt.step).double())
    assert set(to_codes(x, fmt, mode).tolist()) <= {-1, 1}
    assert (fmt.min_value, fmt.max_value) == (-fmt.step, fmt.step)


@pytest.mark.parametrize("mode", ROUNDING_MODES)
def test_float32_format_is_the_identity(mode: str) -> None:
    x = torch.randn(50, generator=torch.Generator().manual_seed(0))
    fmt = FixedPoint(32)
    assert fmt.is_float
    assert quantize(x, fmt, mode) is x
    assert fake_quantize(x, fmt, mode) is x
    with pytest.raises(ValueError, match="float32"):
        to_codes(x, fmt, mode)


@pytest.mark.parametrize("mode", ROUNDING_MODES)
@pytest.mark.parametrize("fmt", [FixedPoint(4, 2), FixedPoint(8, 5), FixedPoint(1, 3), FixedPoint(16, 10)])
def test_fake_quantize_passes_the_gradient_straight_through(mode: str, fmt: FixedPoint) -> None:
    # includes values far outside the range: the straight-through estimator does not clip
    x = (torch.randn(64, generator=torch.Generator().manual_seed(1)) * 4 * fmt.max_value).requires_grad_()
    weights = torch.arange(64, dtype=torch.float32)
    (fake_quantize(x, fmt, mode, torch.Generator().manual_seed(2)) * weights).sum().backward()
    assert x.grad is not None
    assert torch.equal(x.grad, weights)  # d/dx of fake_quantize(x) == 1 everywhere


@pytest.mark.parametrize("mode", ROUNDING_MODES)
def test_fake_quantize_forward_equals_quantize_for_in_range_values(mode: str) -> None:
    fmt = FixedPoint(8, 5)
    x = torch.linspace(fmt.min_value, fmt.max_value, 1001)
    expected = quantize(x, fmt, mode, torch.Generator().manual_seed(9))
    with_grad = fake_quantize(x.clone().requires_grad_(), fmt, mode, torch.Generator().manual_seed(9))
    without_grad = fake_quantize(x, fmt, mode, torch.Generator().manual_seed(9))
    assert torch.equal(with_grad.detach(), expected)
    assert torch.equal(without_grad, expected)


def test_fake_quantize_forward_saturates_exactly_far_outside_the_range() -> None:
    fmt = FixedPoint(16, 14)  # max_value = 2 - 2**-14
    x = torch.tensor([1e4], requires_grad=True)
    assert fake_quantize(x, fmt, "nearest").item() == fmt.max_value
