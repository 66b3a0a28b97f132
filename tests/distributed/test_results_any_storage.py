"""Results rows on every storage: journal files (no SQL database) give the same rows as the SQL results table,
and `qsearch run/best/trials` report from them."""

from __future__ import annotations

import json

from distributed_helpers import synthetic_study_dict, write_study
from typer.testing import CliRunner

from qsearch.cli import app
from qsearch.execution import run_study
from qsearch.record import read_results
from qsearch.results import ResultFilter, engine_for, filter_rows, load_results
from qsearch.studyfile import parse_study

runner = CliRunner()
COMPARED = ("trial_number", "state", "reason", "is_baseline", "scheme", "weight_bits", "membrane_bits",
            "rounding", "timesteps", "accuracy", "accuracy_drop", "memory_bits", "memory_kib", "compression_ratio",
            "sops", "energy_nj", "feasible", "config", "memory_breakdown")


def test_journal_rows_equal_the_sql_results_table(tmp_path) -> None:
    study_file = parse_study(synthetic_study_dict(n_trials=12))
    sqlite_url, journal_url = f"sqlite:///{tmp_path / 's.db'}", f"journal:{tmp_path / 's.journal'}"
    for url in (sqlite_url, journal_url):
        run_study(study_file, url, "same", n_trials=12, heartbeat_interval=None, grace_period=None)
    sql = load_results(engine_for(sqlite_url), "same")
    journal = read_results(journal_url, "same")
    assert len(sql) == 12 and any(r["state"] == "COMPLETE" and not r["is_baseline"] for r in sql)
    assert [{k: r[k] for k in COMPARED} for r in journal] == [{k: r[k] for k in COMPARED} for r in sql]


def test_in_memory_filters_match_sql_filters(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'f.db'}"
    run_study(parse_study(synthetic_study_dict(n_trials=15)), url, "f", n_trials=15, heartbeat_interval=None,
              grace_period=None)
    engine = engine_for(url)
    rows = load_results(engine, "f")
    filters = [ResultFilter(), ResultFilter(max_accuracy_drop=1.0), ResultFilter(max_memory_kib=10.0),
               ResultFilter(states=["complete"], feasible_only=True, include_baseline=False)]
    for flt in filters:
        for sort, descending in (("trial_number", False), ("memory_kib", True), ("accuracy", False)):
            expected = [r["trial_number"] for r in load_results(engine, "f", flt, sort, descending)]
            assert [r["trial_number"] for r in filter_rows(rows, flt, sort, descending)] == expected


def test_run_best_and_trials_report_from_a_journal_file(tmp_path) -> None:
    study = write_study(tmp_path, n_trials=8)
    url = f"journal:{tmp_path / 'cli.journal'}"
    result = runner.invoke(app, ["run", str(study), "--storage", url, "--study-name", "j", "--quiet",
                                 "--workers", "1", "--plot", str(tmp_path / "front.html")])
    assert result.exit_code == 0, result.output
    assert "Pareto front of 'j'" in result.output and (tmp_path / "front.html").is_file()
    best = runner.invoke(app, ["best", "--storage", url, "--study-name", "j", "--format", "json"])
    assert best.exit_code == 0, best.output
    assert json.loads(best.output)["study"] == "j"
    listed = runner.invoke(app, ["trials", "--storage", url, "--study-name", "j", "--format", "json",
                                 "--sort", "memory_kib", "--desc"])
    rows = json.loads(listed.output)
    assert len(rows) == 8
    memories = [r["memory_kib"] for r in rows if r["memory_kib"] is not None]
    assert memories == sorted(memories, reverse=True)
