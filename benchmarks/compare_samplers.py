"""Benchmark: samplers on the default study — hypervolume and the best compression within the accuracy budget.

For each (sampler, seed) it runs ``studies/digits.yaml`` (or ``--study``) in its own process on its own SQLite
file, then prints per run: the 2-D hypervolume of (accuracy, memory) over COMPLETE non-baseline trials against the
reference point (accuracy = float - 10 points, memory = float memory), the selected model (smallest memory within
``constraints.max_accuracy_drop``) and its compression ratio; and at the end the mean hypervolume per sampler and
the ratio NSGA-II / random measured in this same run.

    .venv/bin/python benchmarks/compare_samplers.py --samplers nsga2 random --seeds 0 1 2 --n-trials 120
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def hypervolume_2d(points: list[tuple[float, float]], ref_accuracy: float, ref_memory: float) -> float:
    """Area dominated by (accuracy up, memory down) points, bounded by the reference point."""
    pts = sorted((m, a) for a, m in points if a > ref_accuracy and m < ref_memory)
    area, best_acc = 0.0, ref_accuracy
    for i, (memory, accuracy) in enumerate(pts):
        best_acc = max(best_acc, accuracy)
        next_memory = pts[i + 1][0] if i + 1 < len(pts) else ref_memory
        area += (next_memory - memory) * (best_acc - ref_accuracy)
    return area


def run_one(study_path: Path, sampler: str, seed: int, n_trials: int, workdir: Path) -> dict:
    spec = yaml.safe_load(study_path.read_text())
    spec["sampler"] = {**spec.get("sampler", {}), "kind": sampler, "seed": seed}
    spec["n_trials"] = n_trials
    path = workdir / f"{sampler}-{seed}.yaml"
    path.write_text(yaml.safe_dump(spec))
    db = workdir / f"{sampler}-{seed}.db"
    url = f"sqlite:///{db}"
    subprocess.run([sys.executable, "-m", "qsearch.cli", "run", str(path), "--storage", url, "--quiet",
                    "--plot", str(workdir / f"{sampler}-{seed}.html")], check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL)
    from qsearch.results import engine_for, load_results, select_model

    rows = load_results(engine_for(url), spec.get("name", "qsearch"))
    base = next(r for r in rows if r["is_baseline"])
    done = [r for r in rows if r["state"] == "COMPLETE" and not r["is_baseline"]]
    hv = hypervolume_2d([(r["accuracy"], r["memory_kib"]) for r in done], base["accuracy"] - 10, base["memory_kib"])
    budget = spec.get("constraints", {}).get("max_accuracy_drop", 1.0)
    chosen = select_model(rows, budget)
    return {"sampler": sampler, "seed": seed, "hypervolume": hv, "trials": len(rows), "complete": len(done),
            "pruned": sum(r["state"] == "PRUNED" for r in rows), "baseline": base["accuracy"], "selected": chosen}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--study", type=Path, default=ROOT / "studies" / "digits.yaml")
    parser.add_argument("--samplers", nargs="+", default=["nsga2", "random"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--n-trials", type=int, default=120)
    parser.add_argument("--parallel", type=int, default=2, help="runs at once (one core each)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        jobs = [(s, seed) for s in args.samplers for seed in args.seeds]
        with ThreadPoolExecutor(args.parallel) as pool:
            results = list(pool.map(lambda j: run_one(args.study, j[0], j[1], args.n_trials, Path(tmp)), jobs))
    for r in results:
        sel = r["selected"]
        chosen = (f"trial {sel['trial_number']}: {sel['scheme']} w{sel['weight_bits']} v{sel['membrane_bits']} "
                  f"i{sel['current_bits']} p{sel['param_bits']} {sel['rounding']} T{sel['timesteps']} "
                  f"sp{sel['sparsity']:.2f} -> {sel['accuracy']:.2f}% ({sel['accuracy_drop']:+.2f} pt), "
                  f"{sel['memory_kib']:.2f} KiB, {sel['compression_ratio']:.2f}x") if sel else "none"
        print(f"{r['sampler']:>7} seed {r['seed']}: hypervolume {r['hypervolume']:.2f}  trials {r['trials']} "
              f"(complete {r['complete']}, pruned {r['pruned']})  float {r['baseline']:.2f}%  selected {chosen}")
    means = {s: statistics.mean(r["hypervolume"] for r in results if r["sampler"] == s) for s in args.samplers}
    for sampler, value in means.items():
        print(f"mean_hypervolume_{sampler}: {value:.2f}")
    if "nsga2" in means and "random" in means and means["random"] > 0:
        print(f"hypervolume_ratio_nsga2_vs_random: {means['nsga2'] / means['random']:.3f}")


if __name__ == "__main__":
    main()
