"""`qsearch run` checks the data and the network before the study exists: one line, exit 2, no database."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from qsearch.cli import app

runner = CliRunner()


def _run(tmp_path: Path, study: dict) -> tuple[int, str, Path]:
    db = tmp_path / "study.db"
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump({"name": "bad", "storage": f"sqlite:///{db}", "n_trials": 1, **study}))
    result = runner.invoke(app, ["run", str(path), "--quiet", "--plot", str(tmp_path / "p.html")])
    return result.exit_code, result.output, db


def test_conv_network_that_does_not_fit_the_data_is_one_line_before_any_trial(tmp_path: Path) -> None:
    code, output, db = _run(tmp_path, {"model": {"kind": "conv", "channels": [4]}})  # digits are flat (64,)
    assert code == 2
    assert output.strip().splitlines() == ["qsearch: error: model.pool: 2 exceeds the 1x64 map; use fewer conv "
                                           "blocks or pool 1"]
    assert not db.exists()


def test_conv_network_with_input_shape_on_digits_passes_the_check(tmp_path: Path) -> None:
    from qsearch.studyfile import parse_study
    from qsearch.trial import check_study_inputs

    check_study_inputs(parse_study({"model": {"kind": "conv", "channels": [4], "input_shape": [1, 8, 8]}}))


def test_wrong_input_shape_names_the_field(tmp_path: Path) -> None:
    code, output, db = _run(tmp_path, {"model": {"kind": "conv", "channels": [4], "input_shape": [1, 8, 9]}})
    assert code == 2 and "model.input_shape: [1, 8, 9] holds 72 values" in output and not db.exists()


def test_missing_dataset_files_are_one_line_naming_them(tmp_path: Path) -> None:
    code, output, db = _run(tmp_path, {"dataset": {"name": "mnist", "path": str(tmp_path / "nowhere")}})
    assert code == 2
    assert len(output.strip().splitlines()) == 1
    assert "mnist: expected train-images-idx3-ubyte" in output and "yann.lecun.com" in output
    assert not db.exists()
