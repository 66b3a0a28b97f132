"""benchmarks/time_to_front.py's arithmetic: the one-sample level and the ratio bounds it reports."""

from __future__ import annotations

import pytest
from benchmark_modules import load_benchmark

load_benchmark("compare_samplers")  # time_to_front imports it by name
ttf = load_benchmark("time_to_front")

STEP = 100 / 360  # one validation sample of the digits split


def test_the_one_sample_level_is_the_share_left_when_every_point_loses_one_sample():
    floor, ceiling = 96.0, 40.0
    points = [{"accuracy": 96.0 + 6 * STEP, "memory_kib": 4.0}, {"accuracy": 96.0 + 2 * STEP, "memory_kib": 2.0}]
    step, share = ttf.sample_resolution(points, floor, ceiling)
    assert step == pytest.approx(4 * STEP)  # the smallest gap between recorded accuracies
    full = 6 * STEP * 36 + 2 * STEP * 2  # the best point's rectangle, then the compact point's extra strip
    lowered = 2 * STEP * 36  # one step (4 samples) lower, the compact point falls to the floor
    assert share == pytest.approx(lowered / full)


def test_ratios_are_bounds_where_a_runner_never_reached_the_level():
    assert ttf.ratio_to_95(50.0, 400.0, 200.0, 500.0) == ("=", 0.25)
    assert ttf.ratio_to_95(50.0, 400.0, None, 500.0) == ("<=", 0.1)  # the other needed more than its whole run
    assert ttf.ratio_to_95(None, 400.0, 200.0, 500.0) == (">=", 2.0)
    assert ttf.ratio_to_95(None, 400.0, None, 500.0) is None
    assert ttf.median_ratio([("=", 0.2), ("<=", 0.1), ("=", 0.4)]) == "<= 0.200"
    assert ttf.median_ratio([("<=", 0.2), (">=", 3.0)]).startswith("n/a")
