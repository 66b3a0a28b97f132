"""Time to the front (issue #14): how long each runner needs to reach 90/95/99 % of a reference hypervolume.

Runners, each in a fresh process (no float network cached across them), one after another on the digits study:

- ``user``: the script a user would write without qsearch (``benchmarks/user_script_baseline.py``: Optuna
  NSGA-II, Norse ``LIFCell``/``LICell`` step loop, fake-quantized weights and membrane, every trial from scratch);
- ``before``: qsearch with this issue's features off (``sampler.distinct: false``,
  ``early_stopping.hopeless.enabled: false``);
- ``shipped``: qsearch as shipped (both on) — ``before`` and ``shipped`` differ only in those two fields.

Hypervolume of validation accuracy (maximised) vs memory in KiB (minimised, qsearch's cost model for every
runner), with the reference point (budget accuracy, float32 memory): budget = the reference run's float
baseline validation accuracy minus ``constraints.max_accuracy_drop``, so only points within the accuracy
budget count. The reference hypervolume is that of every point any run found, the long ``reference`` run (qsearch
as shipped, more trials, another seed) included. Time runs from each study's start (imports excluded).

    python benchmarks/time_to_front.py            # 3 seeds; long (an hour or more on 2 cores)
    python benchmarks/time_to_front.py --quick    # 1 seed, shorter studies: under 10 minutes on this machine

The last two lines are ``time_to_95_vs_before: <x>`` and ``time_to_95_vs_user_script: <y>``: wall time to
95 % for ``shipped`` over that of the other runner (median over seeds; below 1 means shipped is faster).
On a shared machine every time here is noisy.
"""

from __future__ import annotations

import argparse
import json
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
RUNNERS = ("user", "before", "shipped")


def study_dict(features: bool, seed: int, n_trials: int) -> dict:
    data = yaml.safe_load((ROOT / "studies" / "digits.yaml").read_text())
    data["n_trials"] = n_trials
    data["sampler"] = {**data["sampler"], "seed": seed, "distinct": features}
    data["early_stopping"] = {**data.get("early_stopping", {}), "hopeless": {"enabled": features}}
    return data


def run_one(runner: str, seed: int, n_trials: int, out: Path, user_epochs: int) -> None:
    """One runner in this process; writes ``{"events": [...], "baseline": acc}`` to ``out``."""
    events: list[dict] = []
    baseline: list[float] = []
    wall0, cpu0 = time.perf_counter(), time.process_time()

    def record(point: dict | None) -> None:
        events.append({"wall": time.perf_counter() - wall0, "cpu": time.process_time() - cpu0, "point": point})

    if runner == "user":
        sys.path.insert(0, str(ROOT / "benchmarks"))
        import user_script_baseline

        wall0, cpu0 = time.perf_counter(), time.process_time()
        user_script_baseline.run(seed, n_trials, record, epochs=user_epochs)
    else:
        import optuna

        from qsearch.search import BASELINE_ATTR, run_study
        from qsearch.studyfile import parse_study

        sf = parse_study(study_dict(runner != "before", seed, n_trials))

        def on_trial(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
            if trial.user_attrs.get(BASELINE_ATTR):
                baseline.append(float(trial.user_attrs["validation_accuracy"]))
                record(None)
            elif trial.state == optuna.trial.TrialState.COMPLETE:
                record({"accuracy": float(trial.user_attrs["validation_accuracy"]),
                        "memory_kib": float(trial.user_attrs["memory_bits"]) / 8192})
            else:
                record(None)

        with tempfile.TemporaryDirectory() as tmp:
            wall0, cpu0 = time.perf_counter(), time.process_time()
            run_study(sf, f"sqlite:///{tmp}/study.db", "ttf", n_trials=n_trials, callbacks=[on_trial])
    out.write_text(json.dumps({"events": events, "baseline": baseline[0] if baseline else None}))


def hypervolume(points: list[dict], floor: float, ceiling_kib: float) -> float:
    """Area dominated by ``points`` above accuracy ``floor`` and below memory ``ceiling_kib`` (the same 2-D
    hypervolume as ``compare_samplers``)."""
    return hypervolume_2d([(p["accuracy"], p["memory_kib"]) for p in points], floor, ceiling_kib)


def launch(runner: str, seed: int, n_trials: int, user_epochs: int, tmp: Path) -> dict:
    out = tmp / f"{runner}-{seed}-{n_trials}.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}
    started = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--run-one", runner, "--seed", str(seed), "--trials", str(n_trials),
                    "--user-epochs", str(user_epochs), "--out", str(out)], check=True, env=env)
    print(f"  {runner:9s} seed {seed}: {n_trials} trials in {time.perf_counter() - started:.0f} s (process)",
          flush=True)
    return json.loads(out.read_text())


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one seed, shorter studies and reference")
    parser.add_argument("--seeds", type=int, nargs="+")
    parser.add_argument("--trials", type=int, help="trials per qsearch runner (default 200; quick 40)")
    parser.add_argument("--user-trials", type=int, help="trials of the user script (default 100; quick 12)")
    parser.add_argument("--user-epochs", type=int, help="epochs per user-script trial (default 10; quick 5)")
    parser.add_argument("--reference-trials", type=int, help="trials of the reference run (default 400; quick 60)")
    parser.add_argument("--run-one", choices=(*RUNNERS, "reference"), help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_one:
        run_one("shipped" if args.run_one == "reference" else args.run_one, args.seed, args.trials, args.out,
                args.user_epochs)
        return
    seeds = args.seeds or ([0] if args.quick else [0, 1, 2])
    trials = args.trials or (40 if args.quick else 200)
    user_trials = args.user_trials or (12 if args.quick else 100)
    user_epochs = args.user_epochs or (5 if args.quick else 10)
    reference_trials = args.reference_trials or (60 if args.quick else 400)

    from qsearch.cost import float_memory_bits

    ceiling = float_memory_bits([64, 128, 10]) / 8192
    drop = study_dict(True, 0, 1)["constraints"]["max_accuracy_drop"]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        print(f"reference: qsearch as shipped, {reference_trials} trials, seed 1000", flush=True)
        reference = launch("reference", 1000, reference_trials, user_epochs, tmp)
        runs = {(r, s): launch(r, s, user_trials if r == "user" else trials, user_epochs, tmp)
                for s in seeds for r in RUNNERS}
    floor = reference["baseline"] - drop
    every_point = [e["point"] for run in (reference, *runs.values()) for e in run["events"] if e["point"]]
    reference_hv = hypervolume(every_point, floor, ceiling)
    print(f"\nbudget floor {floor:.2f} % validation accuracy, memory ceiling {ceiling:.2f} KiB, "
          f"reference hypervolume {reference_hv:.2f} (all points of all runs)")

    to95: dict[str, list[float | None]] = {r: [] for r in RUNNERS}
    header = "runner     seed  trials  wall_s  " + "  ".join(f"to{int(f * 100)}_wall/cpu_s" for f in FRACTIONS)
    print(header + "  hv@equal_wall")
    for seed in seeds:
        rows = {r: progress(runs[(r, seed)], floor, ceiling) for r in RUNNERS}
        equal_wall = min(rows[r][-1][0] for r in RUNNERS)
        for r in RUNNERS:
            cells = []
            for fraction in FRACTIONS:
                hit = time_to(rows[r], fraction * reference_hv)
                cells.append("never".rjust(17) if hit is None else f"{hit[0]:8.1f}/{hit[1]:8.1f}")
                if fraction == 0.95:
                    to95[r].append(None if hit is None else hit[0])
            share = hv_at(rows[r], equal_wall) / reference_hv if reference_hv else 0.0
            print(f"{r:9s} {seed:5d} {len(rows[r]):7d} {rows[r][-1][0]:7.1f}  " + "  ".join(cells)
                  + f"  {share:6.1%} @ {equal_wall:.0f}s")

    def ratio(other: str) -> str:
        pairs = [(a, b) for a, b in zip(to95["shipped"], to95[other], strict=True) if a is not None and b is not None]
        if not pairs:
            return "n/a (in no seed did both reach 95 %)"
        return f"{statistics.median(a / b for a, b in pairs):.3f}"

    print(f"time_to_95_vs_before: {ratio('before')}")
    print(f"time_to_95_vs_user_script: {ratio('user')}")


if __name__ == "__main__":
    main()
