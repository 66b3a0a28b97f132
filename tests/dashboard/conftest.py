"""A finished tiny study (synthetic trial runner: seconds, not minutes) shared by the dashboard tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from study_fixtures import tiny_study_dict
from typer.testing import CliRunner

from qsearch.cli import app

SPACE = {"weight_bits": [3, 4, 6, 8], "membrane_bits": [8, 12], "current_bits": [8, 12], "rounding": ["nearest"],
         "param_bits": [8], "timesteps": [8, 12, 16], "sparsity": [0.0, 0.3, 0.5]}


@dataclass(frozen=True)
class FinishedStudy:
    url: str
    name: str
    folder: Path
    pareto_html: Path
    best: dict  # `qsearch best --format json`
    run_output: str


@pytest.fixture(scope="session")
def finished_study(tmp_path_factory) -> FinishedStudy:
    folder = tmp_path_factory.mktemp("dashboard-study")
    name = "dash"
    study = tiny_study_dict(name=name, trial_runner="synthetic", n_trials=24, search_space=SPACE,
                            constraints={"max_accuracy_drop": 4.0})
    path = folder / "study.yaml"
    path.write_text(yaml.safe_dump(study))
    url = f"sqlite:///{folder / 'study.db'}"
    runner = CliRunner()
    run = runner.invoke(app, ["run", str(path), "--storage", url, "--workers", "1", "--quiet", "--plot",
                              str(folder / "pareto.html")])
    assert run.exit_code == 0, run.output
    best = runner.invoke(app, ["best", "--storage", url, "--study-name", name, "--format", "json"])
    assert best.exit_code == 0, best.output
    return FinishedStudy(url, name, folder, folder / "pareto.html", json.loads(best.output), run.output)
