"""Every study file in studies/ validates, and each dataset study runs (two trials) on tiny files in its real
on-disk format — the same files a user downloads, only fewer samples — with only paths and sizes overridden."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from dataset_files import write_dvsgesture, write_mnist, write_nmnist, write_shd

from qsearch.execution import run_study
from qsearch.results import engine_for, load_results
from qsearch.search._space import layer_count
from qsearch.studyfile import load_study_file, parse_study

STUDIES = Path(__file__).resolve().parents[1] / "studies"


def _write_mnist(root: Path) -> str:
    write_mnist(root / "mnist", 60, 20, gz=True)
    return str(root / "mnist")


def _write_nmnist(root: Path) -> str:
    write_nmnist(root, {"Train": 3, "Test": 1})
    return str(root)


def _write_dvsgesture(root: Path) -> str:
    write_dvsgesture(root, "ibmGestureTrain", n_users=2)
    write_dvsgesture(root, "ibmGestureTest", n_users=1, seed=1)
    return str(root)


def _write_shd(root: Path) -> str:
    # 5 samples of each of the 20 classes: the reference's fit sees several per class after the validation split
    write_shd(root / "SHD" / "shd_train.h5", 100)
    write_shd(root / "SHD" / "shd_test.h5", 20, seed=1)
    return str(root)


WRITERS = {"mnist": _write_mnist, "nmnist": _write_nmnist, "dvsgesture": _write_dvsgesture, "shd": _write_shd}


@pytest.mark.parametrize("path", sorted(STUDIES.glob("*.yaml")), ids=lambda p: p.name)
def test_study_file_validates(path: Path) -> None:
    study = load_study_file(path)
    assert study.name == path.stem
    assert study.sampler.kind == "nsga2"  # qsearch's default multi-objective sampler in every shipped study


def test_every_dataset_has_a_study_file() -> None:
    assert {p.stem for p in STUDIES.glob("*.yaml")} >= {"digits", *WRITERS}


@pytest.mark.filterwarnings("error::UserWarning:sklearn")  # too few samples per class for the reference's fit
@pytest.mark.parametrize("name", sorted(WRITERS))
def test_dataset_study_runs_on_files_in_the_real_format(name: str, tmp_path: Path) -> None:
    data = yaml.safe_load((STUDIES / f"{name}.yaml").read_text())
    data["dataset"].update(path=WRITERS[name](tmp_path), limit_train=None, limit_test=None)
    if "cache_dir" in data["dataset"]:
        data["dataset"]["cache_dir"] = str(tmp_path / "cache")
    data["training"].update(epochs=1, qat_epochs=1)
    data["search_space"]["timesteps"] = data["search_space"]["timesteps"][:1]
    study_file = parse_study(data, name)
    url = f"sqlite:///{tmp_path / 'study.db'}"
    run_study(study_file, url, name, n_trials=2)
    rows = load_results(engine_for(url), name)
    assert [r["state"] for r in rows] == ["COMPLETE", "COMPLETE"]
    layers = layer_count(study_file)
    assert all(len(r["weight_bits"].split("/")) == layers for r in rows)
    assert all(r["memory_kib"] > 0 and r["sops"] > 0 for r in rows)


def test_mnist_study_with_a_conv_snn_on_images(tmp_path: Path) -> None:
    """The variant the mnist study file's comment names: `flatten: false` + `model.kind: conv`."""
    data = yaml.safe_load((STUDIES / "mnist.yaml").read_text())
    data["dataset"].update(path=_write_mnist(tmp_path), flatten=False, limit_train=None, limit_test=None)
    data["model"].update(kind="conv", channels=[4], hidden=[])
    data["training"].update(epochs=1, qat_epochs=1)
    data["search_space"]["timesteps"] = [8]
    study_file = parse_study(data, "mnist-conv")
    url = f"sqlite:///{tmp_path / 'study.db'}"
    run_study(study_file, url, "mnist-conv", n_trials=2)
    rows = load_results(engine_for(url), "mnist-conv")
    assert [r["state"] for r in rows] == ["COMPLETE", "COMPLETE"]
    # conv 4x1x3x3 on 28x28, sum-pooled to 4x14x14, then the 10-way readout: 36 + 7840 float32 weights
    assert rows[0]["memory_breakdown"]["weights_layer0"] == 36 * 32
    assert rows[0]["memory_breakdown"]["weights_layer1"] == 10 * 4 * 14 * 14 * 32
