"""Selection never sees the test split: validation accuracy by default, test accuracy only reported."""

from __future__ import annotations

import json
import random

import yaml
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from study_fixtures import tiny_study_dict
from typer.testing import CliRunner

from qsearch.cli import app
from qsearch.metrics import accuracy_standard_error
from qsearch.results import TrialResult, engine_for
from qsearch.studyfile import parse_study

runner = CliRunner()
SPACE = {"weight_bits": [3, 4, 6, 8], "membrane_bits": [8, 12], "current_bits": [8, 12], "rounding": ["nearest"],
         "param_bits": [8], "timesteps": [8, 12, 16], "sparsity": [0.0, 0.3, 0.5]}


def _write(tmp_path, name: str, n_trials: int = 16, **overrides) -> str:
    study = tiny_study_dict(name=name, trial_runner="synthetic", n_trials=n_trials, search_space=SPACE,
                            constraints={"max_accuracy_drop": 4.0}, **overrides)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(study))
    return str(path)


def _best(url: str, name: str) -> dict:
    result = runner.invoke(app, ["best", "--storage", url, "--study-name", name, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_validation_is_the_default_split():
    assert parse_study({}).accuracy_split == "validation"


def test_selection_ignores_shuffled_test_accuracies(tmp_path, sqlite_url):
    run = runner.invoke(app, ["run", _write(tmp_path, "shuffle"), "--storage", sqlite_url, "--workers", "1",
                              "--quiet", "--no-report"])
    assert run.exit_code == 0, run.output
    before = _best(sqlite_url, "shuffle")
    engine = engine_for(sqlite_url)
    with Session(engine) as session, session.begin():
        rows = session.execute(select(TrialResult.id, TrialResult.test_accuracy)).all()
        values = [r.test_accuracy for r in rows]
        shuffled = values[:]
        while shuffled == values:
            random.Random(len(values)).shuffle(shuffled)
        for (row_id, _), value in zip(rows, shuffled, strict=True):
            session.execute(update(TrialResult).where(TrialResult.id == row_id).values(test_accuracy=value))
    after = _best(sqlite_url, "shuffle")
    assert before["selected"] is not None and before["knee"] is not None
    assert (after["selected"], after["knee"]) == (before["selected"], before["knee"])
    assert [t["trial_number"] for t in after["trials"]] == [t["trial_number"] for t in before["trials"]]
    assert [t["test_accuracy"] for t in after["trials"]] != [t["test_accuracy"] for t in before["trials"]]


def test_best_json_reports_both_accuracies_with_n_and_error(tmp_path, sqlite_url):
    run = runner.invoke(app, ["run", _write(tmp_path, "both"), "--storage", sqlite_url, "--workers", "1",
                              "--quiet", "--no-report"])
    assert run.exit_code == 0, run.output
    payload = _best(sqlite_url, "both")
    assert payload["accuracy_split"] == "validation" and payload["trials"]
    for trial in payload["trials"]:
        assert trial["accuracy"] == trial["validation_accuracy"] != trial["test_accuracy"]
        assert trial["validation_n"] > 0 and trial["test_n"] > 0
        assert trial["test_accuracy_se"] == accuracy_standard_error(trial["test_accuracy"], trial["test_n"])
        assert 0 < trial["validation_accuracy_se"] < 5
    chosen = next(t for t in payload["trials"] if t["trial_number"] == payload["selected"])
    on_test = payload["selected_on_test"]
    assert on_test["test_accuracy"] == chosen["test_accuracy"] and on_test["test_n"] == chosen["test_n"]
    baseline = json.loads(runner.invoke(app, ["trials", "--storage", sqlite_url, "--study-name", "both",
                                              "--format", "json"]).output)[0]
    assert baseline["is_baseline"]
    assert on_test["test_drop"] == baseline["test_accuracy"] - chosen["test_accuracy"]
    assert on_test["within_budget"] == (on_test["test_drop"] <= payload["max_accuracy_drop"])
    table = runner.invoke(app, ["best", "--storage", sqlite_url, "--study-name", "both"])
    assert f"test drop {on_test['test_drop']:+.2f} pt vs float" in table.output


def test_selecting_on_test_warns_once_at_run(tmp_path, sqlite_url):
    warned = runner.invoke(app, ["run", _write(tmp_path, "on-test", accuracy_split="test", n_trials=2),
                                 "--storage", sqlite_url, "--workers", "1", "--quiet", "--no-report"])
    assert warned.exit_code == 0, warned.output
    lines = [line for line in warned.output.splitlines() if "warning" in line]
    assert len(lines) == 1 and "accuracy_split: test" in lines[0]
    quiet = runner.invoke(app, ["run", _write(tmp_path, "on-validation", n_trials=2), "--storage", sqlite_url,
                                "--workers", "1", "--quiet", "--no-report"])
    assert quiet.exit_code == 0 and "warning" not in quiet.output
