"""`run`, `best`, `plot` and `export` render one front summary: they name the same selected trial and knee."""

from __future__ import annotations

import json
import re
import warnings

import pytest
import yaml
from study_fixtures import tiny_study_dict
from typer.testing import CliRunner

from qsearch.cli import app
from qsearch.export._trial_export import _selection
from qsearch.record import make_storage, read_study
from qsearch.studyfile import load_study_file

runner = CliRunner()


def _study_file(tmp_path, objectives: list[str]):
    name = "views-" + "-".join(objectives)
    space = {"weight_bits": [3, 4, 6, 8], "membrane_bits": [8, 12], "current_bits": [8, 12],
             "rounding": ["nearest"], "param_bits": [8], "timesteps": [8, 12, 16], "sparsity": [0.0, 0.3, 0.5]}
    study = tiny_study_dict(name=name, objectives=objectives, trial_runner="synthetic", n_trials=24,
                            search_space=space,
                            constraints={"max_accuracy_drop": 4.0})
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(study))
    return path, name


def _marked(html: str, label: str) -> int | None:
    found = set(re.findall(label + r" \(trial (\d+)\)", html))
    assert len(found) <= 1, found
    return int(found.pop()) if found else None


@pytest.mark.parametrize("objectives", [["accuracy", "memory"], ["accuracy", "sops"]])
def test_run_best_plot_and_export_agree(tmp_path, sqlite_url, objectives):
    path, name = _study_file(tmp_path, objectives)
    report = tmp_path / "report.html"
    run = runner.invoke(app, ["run", str(path), "--storage", sqlite_url, "--workers", "1", "--quiet",
                              "--plot", str(report)])
    assert run.exit_code == 0, run.output

    best = runner.invoke(app, ["best", "--storage", sqlite_url, "--study-name", name, "--format", "json"])
    assert best.exit_code == 0, best.output
    payload = json.loads(best.output)
    selected, knee = payload["selected"], payload["knee"]
    assert selected is not None and knee is not None  # the study is big enough to have both
    assert payload["objectives"] == objectives

    # run's end report: the "selected:" line, the knee's note in the table, and its plot
    assert f"selected: trial {selected} " in run.output
    assert re.search(rf"│\s*{knee}\s*│.*knee", run.output), run.output
    html = report.read_text(encoding="utf-8")
    assert (_marked(html, "selected"), _marked(html, "knee")) == (selected, knee)

    plot = runner.invoke(app, ["plot", "--storage", sqlite_url, "--study-name", name, "--out",
                               str(tmp_path / "plots")])
    assert plot.exit_code == 0, plot.output
    html = (tmp_path / "plots" / "pareto.html").read_text(encoding="utf-8")
    assert (_marked(html, "selected"), _marked(html, "knee")) == (selected, knee)

    card = _selection(read_study(sqlite_url, name), load_study_file(path), selected)
    assert (card["selected_trial"], card["knee_trial"], card["is_selected"]) == (selected, knee, True)

    with warnings.catch_warnings():  # the retrained real network differs from the synthetic numbers
        warnings.simplefilter("ignore", RuntimeWarning)
        export = runner.invoke(app, ["export", "--storage", sqlite_url, "--study-name", name,
                                     "--trial", str(knee), "--out", str(tmp_path / "export")])
    assert export.exit_code == 0, export.output
    written = json.loads((tmp_path / "export" / "model_card.json").read_text())["selection"]
    assert (written["selected_trial"], written["knee_trial"], written["is_knee"]) == (selected, knee, True)
    make_storage(sqlite_url, heartbeat_interval=None)  # the study stays readable after every view
