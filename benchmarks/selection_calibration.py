"""Benchmark: does the pick keep the accuracy budget on data it never saw? Today's rule against the new one.

For each data set and seed, one study of the shipped default study file (``studies/digits.yaml``) with only
the dataset changed (scikit-learn digits: the file as shipped; other sets: the ``npz`` loader on the package's
arrays, :mod:`real_data`), split and sampler seeds both set to the seed, is run (``qsearch run``, which
confirms the finalists at its end) -- or resumed, when a kept run is short of its trials. Selection is post
hoc, so the same study serves both rules:

* today: ``selection.confidence`` 0.5, the smallest model whose point validation drop is within the budget;
* new: the study's ``selection`` (confidence, Holm over the cross-validated finalists).

Per data set and in total it prints the picks within budget on test, the coverage of the reported bound
(the pick's test drop at most its reported upper bound), and the median compression, then ends with

    within_budget_on_test: <new>/<runs> (today <old>/<runs>)
    interval_coverage: <fraction>
    compression_kept: <median of new/today>

A run without a pick counts as not within budget and as compression 0 (it kept nothing).

    PYTHONPATH=benchmarks .venv/bin/python benchmarks/selection_calibration.py [--sets sk_digits ...]
        [--seeds 0 1 2 3 4] [--n-trials 200] [--trials-for mlx_mnist=60] [--out /tmp/qsearch_calibration]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml
from real_data import write_npz  # this script's folder is on sys.path

DEFAULT_STUDY = Path(__file__).resolve().parents[1] / "studies" / "digits.yaml"
DEFAULT_SETS = ["sk_digits", "sk_breast_cancer", "mlx_mnist"]


def study_file(name: str, seed: int, n_trials: int, out: Path) -> Path:
    """The default study file with only the dataset (and the seeds, and n_trials) changed; written to ``out``."""
    data = yaml.safe_load(DEFAULT_STUDY.read_text())
    study = copy.deepcopy(data)
    if name == "sk_digits":
        study["dataset"]["seed"] = seed
    else:
        npz = write_npz(name, out)
        if npz is None:
            raise SystemExit(f"--sets: {name}: its package is not installed")
        study["dataset"] = {"name": "npz", "path": str(npz), "seed": seed,
                            "encoding": data["dataset"]["encoding"]}
    study["sampler"]["seed"] = seed
    study["name"] = f"{name}_s{seed}"
    study["storage"] = f"sqlite:///{out / (study['name'] + '.db')}"
    study["n_trials"] = n_trials
    path = out / f"{study['name']}.yaml"
    path.write_text(yaml.safe_dump(study, sort_keys=False))
    return path


def run(path: Path, n_trials: int) -> float:
    """Run (or finish) the study; wall seconds."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "qsearch.cli", "run", str(path), "--total-trials", str(n_trials), "--quiet",
                    "--no-report", "--workers", "1"], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def judge(path: Path, confidence: float | None = None) -> dict:
    """Today's and the new pick of one study, each with its test drop (float minus quantized, points)."""
    from qsearch.record import read_study

    spec = yaml.safe_load(path.read_text())
    recorded = read_study(spec["storage"], spec["name"])
    budget = recorded.budget
    row: dict = {"budget": budget}
    rules = (("today", recorded.summary(confidence=0.5)), ("new", recorded.summary(confidence=confidence)))
    for rule, summary in rules:
        picked = summary.selected
        if picked is None or summary.baseline is None:
            row[rule] = None
            continue
        test = summary.baseline.test_accuracy - picked.test_accuracy
        upper = summary.upper_bound(picked.trial_number)
        row[rule] = {"trial": picked.trial_number, "x": picked.compression_ratio, "test_drop": test,
                     "within": test <= budget, "upper": upper, "covered": None if upper is None else test <= upper,
                     "evidence": summary.evidence_kind}
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=DEFAULT_SETS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--n-trials", type=int, default=None, help="default: the study file's n_trials")
    parser.add_argument("--trials-for", action="append", default=[], help="SET=N: fewer trials on one set")
    parser.add_argument("--out", type=Path, default=Path("/tmp/qsearch_calibration"))
    parser.add_argument("--judge-only", action="store_true", help="no run: judge the kept studies")
    parser.add_argument("--confidence", type=float, default=None,
                        help="judge the new rule at this selection.confidence (default: the study file's)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    default_trials = args.n_trials or int(yaml.safe_load(DEFAULT_STUDY.read_text())["n_trials"])
    per_set = {k: int(v) for k, v in (item.split("=") for item in args.trials_for)}
    results: dict[str, list[dict]] = {name: [] for name in args.sets}
    print("set | seed | trials | s | today: trial x test_drop within | new: trial x test_drop upper within covered")
    for seed in args.seeds:  # seed-major: a stopped benchmark has as many seeds of every set
        for name in args.sets:
            n_trials = per_set.get(name, default_trials)
            path = study_file(name, seed, n_trials, args.out)
            wall = 0.0 if args.judge_only else run(path, n_trials)
            if not path.with_suffix(".db").exists() and args.judge_only:
                continue
            row = judge(path, args.confidence)
            results[name].append(row)
            print(f"{name} | {seed} | {n_trials} | {wall:.0f} | {_pick(row['today'])} | {_pick(row['new'])}",
                  flush=True)
    print()
    everything = [r for rows in results.values() for r in rows]
    for name, rows in [*results.items(), ("total", everything)]:
        print(f"{name}: {_totals(rows)}")
    runs = len(everything)
    new_ok = sum(1 for r in everything if r["new"] and r["new"]["within"])
    old_ok = sum(1 for r in everything if r["today"] and r["today"]["within"])
    bounded = [r["new"]["covered"] for r in everything if r["new"] and r["new"]["covered"] is not None]
    kept = [(r["new"]["x"] if r["new"] else 0.0) / r["today"]["x"] for r in everything if r["today"]]
    print(f"within_budget_on_test: {new_ok}/{runs} (today {old_ok}/{runs})")
    print(f"interval_coverage: {sum(bounded) / len(bounded):.2f}" if bounded else "interval_coverage: -")
    print(f"compression_kept: {statistics.median(kept):.2f}" if kept else "compression_kept: -")


def _pick(pick: dict | None) -> str:
    if pick is None:
        return "no pick"
    upper = "-" if pick["upper"] is None else f"{pick['upper']:+.2f}"
    return (f"{pick['trial']} {pick['x']:.1f}x {pick['test_drop']:+.2f} {upper} "
            f"{'yes' if pick['within'] else 'NO'} {pick['covered']} ({pick['evidence']})")


def _totals(rows: list[dict]) -> str:
    def within(rule: str) -> int:
        return sum(1 for r in rows if r[rule] and r[rule]["within"])

    covered = [r["new"]["covered"] for r in rows if r["new"] and r["new"]["covered"] is not None]
    x_new = statistics.median([r["new"]["x"] if r["new"] else 0.0 for r in rows]) if rows else 0.0
    x_old = statistics.median([r["today"]["x"] if r["today"] else 0.0 for r in rows]) if rows else 0.0
    coverage = f"{sum(covered)}/{len(covered)}" if covered else "-"
    return (f"within budget on test: new {within('new')}/{len(rows)}, today {within('today')}/{len(rows)}; "
            f"coverage of the new bound {coverage}; median compression new {x_new:.1f}x, today {x_old:.1f}x")


if __name__ == "__main__":
    main()
