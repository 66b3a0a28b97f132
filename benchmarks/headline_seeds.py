"""Benchmark: the README's headline, selected on validation and reported on test, over several sampler seeds.

For each seed it runs the default study (``studies/digits.yaml``, or ``--study``) with ``sampler.seed`` set, in
its own process on its own SQLite file, then reads ``qsearch best --format json`` and prints the selected model:
compression, validation drop (what selection saw), test accuracy with its standard error and the test drop
against the float baseline's test accuracy (what selection never saw), and whether it keeps the budget on test.

    .venv/bin/python benchmarks/headline_seeds.py --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def run_seed(study_path: Path, seed: int, n_trials: int | None, workdir: Path) -> dict:
    spec = yaml.safe_load(study_path.read_text())
    spec["sampler"] = {**spec.get("sampler", {}), "seed": seed}
    path = workdir / f"seed{seed}.yaml"
    path.write_text(yaml.safe_dump(spec))
    url = f"sqlite:///{workdir / f'seed{seed}.db'}"
    cli = [sys.executable, "-m", "qsearch.cli"]
    started = time.perf_counter()
    extra = ["--n-trials", str(n_trials)] if n_trials else []
    subprocess.run([*cli, "run", str(path), "--storage", url, "--quiet", "--no-report", "--workers", "1", *extra],
                   check=True)
    wall = time.perf_counter() - started
    best = subprocess.run([*cli, "best", "--storage", url, "--study-name", spec.get("name", "qsearch"),
                           "--format", "json"], check=True, capture_output=True, text=True)
    return {"seed": seed, "wall_s": wall, **json.loads(best.stdout)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", type=Path, default=ROOT / "studies" / "digits.yaml")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--n-trials", type=int, default=None, help="default: the study file's n_trials")
    parser.add_argument("--workdir", type=Path, default=Path("headline_runs"))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    kept = 0
    for seed in args.seeds:
        result = run_seed(args.study, seed, args.n_trials, args.workdir)
        selected = next((t for t in result["trials"] if t["trial_number"] == result["selected"]), None)
        if selected is None:
            print(f"seed {seed}: no model within the budget ({result['wall_s']:.0f} s)")
            continue
        on_test = result["selected_on_test"]
        kept += bool(on_test["within_budget"])
        print(f"seed {seed}: trial {selected['trial_number']} {selected['compression_ratio']:.1f}x "
              f"({selected['memory_kib']:.2f} KiB), validation drop {selected['accuracy_drop']:+.2f} pt, "
              f"test {on_test['test_accuracy']:.2f} +-{on_test['test_accuracy_se']:.2f} (n={on_test['test_n']}), "
              f"test drop {on_test['test_drop']:+.2f} pt, within budget on test: {on_test['within_budget']} "
              f"[{result['wall_s']:.0f} s]", flush=True)
    print(f"within_budget_on_test: {kept}/{len(args.seeds)}")


if __name__ == "__main__":
    main()
