"""`qsearch run` refreshes the dashboard view every few finished trials (also with --quiet) and at the end."""

from __future__ import annotations

import yaml
from study_fixtures import tiny_study_dict
from typer.testing import CliRunner

from qsearch import cli
from qsearch.cli import _run_command

SPACE = {"weight_bits": [3, 4, 6, 8], "membrane_bits": [8, 12], "rounding": ["nearest"], "timesteps": [8]}


def test_view_is_refreshed_during_and_written_at_the_end(tmp_path, sqlite_url, monkeypatch):
    calls: list[tuple[str, bool]] = []
    monkeypatch.setattr(_run_command, "_publish_dashboard_view",
                        lambda recorded, artifacts, store_model=True: calls.append((recorded.name, store_model)))
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(tiny_study_dict(name="refresh", trial_runner="synthetic", n_trials=12,
                                                   search_space=SPACE)))
    run = CliRunner().invoke(cli.app, ["run", str(path), "--storage", sqlite_url, "--workers", "1", "--quiet",
                                       "--plot", str(tmp_path / "p.html")])
    assert run.exit_code == 0, run.output
    assert calls == [("refresh", False), ("refresh", True)]  # after 10 finished trials, then the end report
