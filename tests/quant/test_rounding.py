"""Rounding in grid units (round_units) and its integer twin (shift_right_rounded).

Definitions (Gupta et al. 2015; /work/shared/papers.md and qsearch/quant/_rounding.py), with u = x / step:
truncate = floor(u); nearest = ceil(u - 1/2) (ties go down); stochastic = floor(u) + Bernoulli(u - floor(u)).
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from qsearch.quant import ROUNDING_MODES, round_units, shift_right_rounded

FAST = settings(max_examples=60, deadline=None)
FEW = settings(max_examples=15, deadline=None)

units_lists = st.lists(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False),
                       min_size=1, max_size=32)


def _t(values: list[float]) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


def test_rounding_modes_are_exactly_the_three_of_q_spinn() -> None:
    assert set(ROUNDING_MODES) == {"truncate", "nearest", "stochastic"}


@pytest.mark.parametrize("mode", ROUNDING_MODES)
@FAST
@given(values=units_lists)
def test_every_mode_returns_integers_adjacent_to_the_input(mode: str, values: list[float]) -> None:
    u = _t(values)
    r = round_units(u, mode, torch.Generator().manual_seed(0))
    assert torch.equal(r, torch.round(r))
    assert bool(((r == torch.floor(u)) | (r == torch.floor(u) + 1)).all())


@FAST
@given(values=units_lists)
def test_truncate_is_floor_and_never_rounds_up(values: list[float]) -> None:
    u = _t(values)
    r = round_units(u, "truncate")
    assert bool((r <= u).all())
    assert bool((r + 1 > u).all())  # (not u - r < 1: that difference can round up to 1 for tiny negative u)
    assert r.tolist() == [math.floor(v) for v in values]


@FAST
@given(values=units_lists)
def test_nearest_is_within_half_a_step(values: list[float]) -> None:
    u = _t(values)
    r = round_units(u, "nearest")
    assert bool(((r - u).abs() <= 0.5).all())


@FAST
@given(k=st.integers(min_value=-(2 ** 40), max_value=2 ** 40))
def test_nearest_sends_exact_ties_down(k: int) -> None:
    u = _t([k + 0.5])
    assert round_units(u, "nearest").item() == k


def test_nearest_on_hand_examples() -> None:
    u = _t([-1.5, -1.25, -0.5, -0.25, 0.0, 0.25, 0.5, 0.75, 1.5, 2.5000001])
    assert round_units(u, "nearest").tolist() == [-2, -1, -1, 0, 0, 0, 0, 1, 1, 3]


@FAST
@given(k=st.integers(min_value=-(2 ** 40), max_value=2 ** 40))
def test_exact_integers_are_left_alone_by_every_mode(k: int) -> None:
    u = _t([float(k)] * 8)
    for mode in ROUNDING_MODES:
        assert round_units(u, mode, torch.Generator().manual_seed(1)).tolist() == [k] * 8


@FEW
@given(u=st.floats(min_value=-100, max_value=100, allow_nan=False).filter(lambda v: v != math.floor(v)),
       seed=st.integers(min_value=0, max_value=2 ** 31))
def test_stochastic_rounding_is_unbiased(u: float, seed: int) -> None:
    n = 20_000
    draws = round_units(_t([u] * n), "stochastic", torch.Generator().manual_seed(seed))
    p = u - math.floor(u)
    sigma = math.sqrt(p * (1 - p) / n)  # std of the mean error (Bernoulli(p) per draw, step 1)
    mean_error = float((draws - u).mean())
    assert abs(mean_error) <= 5 * sigma + 1e-9


def test_stochastic_rounding_probability_follows_the_fraction() -> None:
    n = 40_000
    draws = round_units(_t([3.25] * n), "stochastic", torch.Generator().manual_seed(7))
    up = float((draws == 4).double().mean())
    assert abs(up - 0.25) <= 5 * math.sqrt(0.25 * 0.75 / n)
    assert set(draws.unique().tolist()) == {3.0, 4.0}


def test_stochastic_rounding_is_reproducible_with_a_seeded_generator() -> None:
    u = torch.linspace(-10, 10, 1001, dtype=torch.float64) + 0.37
    a = round_units(u, "stochastic", torch.Generator().manual_seed(123))
    b = round_units(u, "stochastic", torch.Generator().manual_seed(123))
    c = round_units(u, "stochastic", torch.Generator().manual_seed(124))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_stochastic_rounding_works_in_float32() -> None:
    u = torch.full((10_000,), 0.5, dtype=torch.float32)
    r = round_units(u, "stochastic", torch.Generator().manual_seed(0))
    assert r.dtype == torch.float32
    assert abs(float(r.mean()) - 0.5) <= 5 * math.sqrt(0.25 / 10_000)


def test_unknown_rounding_mode_raises_naming_the_field() -> None:
    with pytest.raises(ValueError, match="rounding"):
        round_units(_t([0.5]), "banker")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="rounding"):
        shift_right_rounded(torch.tensor([5]), 1, "banker")  # type: ignore[arg-type]


# ---- the integer twin --------------------------------------------------------------------------------------

# |v| < 2**40: u - 1/2 stays exact in float64 (at 2**53 the float reference itself rounds wrongly)
int_values = st.lists(st.integers(min_value=-(2 ** 40), max_value=2 ** 40), min_size=1, max_size=32)


@pytest.mark.parametrize("mode", ["truncate", "nearest"])
@settings(max_examples=100, deadline=None)
@given(values=int_values, shift=st.integers(min_value=1, max_value=60))
def test_shift_right_rounded_equals_round_units_on_the_quotient(mode: str, values: list[int],
                                                                shift: int) -> None:
    v = torch.tensor(values, dtype=torch.int64)
    expected = round_units(v.double() / 2 ** shift, mode)  # exact: |v| <= 2**40 and a power-of-two divisor
    got = shift_right_rounded(v, shift, mode)
    assert got.dtype == torch.int64
    assert got.tolist() == [int(e) for e in expected.tolist()]


@pytest.mark.parametrize("mode", ["truncate", "nearest"])
@FAST
@given(k=st.integers(min_value=-(2 ** 40), max_value=2 ** 40), shift=st.integers(min_value=1, max_value=12))
def test_shift_right_rounded_sends_ties_down_like_round_units(mode: str, k: int, shift: int) -> None:
    tie = torch.tensor([k * 2 ** shift + 2 ** (shift - 1)], dtype=torch.int64)  # (k + 1/2) * 2**shift
    assert shift_right_rounded(tie, shift, mode).item() == k


@pytest.mark.parametrize("mode", ROUNDING_MODES)
@FAST
@given(values=st.lists(st.integers(min_value=-(2 ** 40), max_value=2 ** 40), min_size=1, max_size=16),
       shift=st.integers(min_value=-12, max_value=0))
def test_non_positive_shift_is_an_exact_left_shift(mode: str, values: list[int], shift: int) -> None:
    v = torch.tensor(values, dtype=torch.int64)
    assert shift_right_rounded(v, shift, mode).tolist() == [x * 2 ** (-shift) for x in values]


@FAST
@given(values=int_values, shift=st.integers(min_value=1, max_value=30), seed=st.integers(0, 2 ** 31))
def test_integer_stochastic_shift_returns_floor_or_floor_plus_one(values: list[int], shift: int,
                                                                  seed: int) -> None:
    v = torch.tensor(values, dtype=torch.int64)
    got = shift_right_rounded(v, shift, "stochastic", torch.Generator().manual_seed(seed))
    low = [x >> shift for x in values]
    assert all(g in (lo, lo + 1) for g, lo in zip(got.tolist(), low, strict=True))
    exact = [x % 2 ** shift == 0 for x in values]
    assert all(g == lo for g, lo, e in zip(got.tolist(), low, exact, strict=True) if e)


def test_integer_stochastic_shift_is_unbiased() -> None:
    n, shift, value = 40_000, 4, 2 ** 4 * 5 + 3  # 5 + 3/16 in units of 2**4
    got = shift_right_rounded(torch.full((n,), value, dtype=torch.int64), shift, "stochastic",
                              torch.Generator().manual_seed(3))
    p = 3 / 16
    assert abs(float(got.double().mean()) - (5 + p)) <= 5 * math.sqrt(p * (1 - p) / n)
