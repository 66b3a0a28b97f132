"""When no trial keeps the budget, `run` and `best` say so in one sentence naming the closest trial."""

from __future__ import annotations

import yaml
from study_fixtures import tiny_study_dict
from typer.testing import CliRunner

from qsearch.cli import app
from qsearch.record import read_study

runner = CliRunner()


def test_best_and_run_name_the_closest_trial_when_none_is_within_budget(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(tiny_study_dict(name="tight", trial_runner="synthetic", n_trials=4,
                                                   constraints={"max_accuracy_drop": 0.0})))
    url = f"sqlite:///{tmp_path / 's.db'}"
    run = runner.invoke(app, ["run", str(path), "--storage", url, "--workers", "1", "--quiet",
                              "--plot", str(tmp_path / "p.html")])
    assert run.exit_code == 0, run.output
    rows = [r for r in read_study(url, "tight").rows
            if r.state == "COMPLETE" and not r.is_baseline and r.accuracy_drop is not None]
    closest = min(rows, key=lambda r: (r.accuracy_drop, r.trial_number))
    assert closest.accuracy_drop > 0  # the synthetic trials all lose accuracy: nothing is within 0 pt
    line = (f"no model selected: no trial is within 0.0 pt of float on validation; the closest is trial "
            f"{closest.trial_number} at {closest.accuracy_drop:+.2f} pt")
    assert line in run.output
    best = runner.invoke(app, ["best", "--storage", url, "--study-name", "tight"])
    assert best.exit_code == 0 and line in best.output
