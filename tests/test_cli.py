"""The command line as users and scripts see it: exit codes, one-line errors, filters in three formats."""

from __future__ import annotations

import csv
import io
import json

import optuna
import pytest
from typer.testing import CliRunner

from qsearch.cli import app
from qsearch.quant import QuantConfig
from qsearch.record import make_storage
from qsearch.results import TrialResult, engine_for, ensure_table, save_result
from qsearch.search import STUDY_FILE_ATTR

runner = CliRunner()

# (trial, scheme, weight bits, accuracy, memory KiB, feasible) — the baseline is trial 0
KNOWN = [
    (0, "float", 32, 96.0, 38.0, False),
    (1, "ptq", 8, 95.8, 9.5, True),
    (2, "qat", 4, 95.5, 4.9, True),
    (3, "ptq", 2, 90.0, 2.6, False),   # too inaccurate: infeasible
    (4, "qat", 6, 95.0, 7.0, True),    # dominated by trial 2
    (5, "ptq", 3, 95.1, 3.6, True),
]


def _row(number, scheme, bits, accuracy, kib, feasible) -> TrialResult:
    config = QuantConfig(scheme=scheme, weight_bits=(bits, bits)) if scheme != "float" else QuantConfig(
        weight_bits=(32, 32))
    return TrialResult(study_name="known", trial_number=number, state="COMPLETE", reason="completed",
                       is_baseline=number == 0, scheme=scheme, weight_bits=f"{bits}/{bits}", max_weight_bits=bits,
                       membrane_bits=8, current_bits=8, param_bits=8, rounding="nearest", timesteps=16,
                       sparsity=0.0, accuracy=accuracy, test_accuracy=accuracy, validation_accuracy=accuracy,
                       accuracy_drop=96.0 - accuracy, memory_bits=int(kib * 8192), memory_kib=kib,
                       compression_ratio=38.0 / kib, sops=1000.0, energy_nj=1.0, epochs_run=1, silent=False,
                       feasible=feasible, duration_s=1.0, worker_host="test", config=config.to_dict())


@pytest.fixture
def known_storage(sqlite_url):
    study = optuna.create_study(study_name="known", storage=make_storage(sqlite_url, heartbeat_interval=None),
                                directions=["maximize", "minimize"])
    study.set_user_attr(STUDY_FILE_ATTR, {"objectives": ["accuracy", "memory"],
                                          "constraints": {"max_accuracy_drop": 1.0}})
    dist = {"weight_bits": optuna.distributions.CategoricalDistribution([2, 3, 4, 6, 8, 32])}
    engine = engine_for(sqlite_url)
    ensure_table(engine)
    for number, scheme, bits, accuracy, kib, feasible in KNOWN:
        study.add_trial(optuna.trial.create_trial(params={"weight_bits": bits}, distributions=dist,
                                                  values=[accuracy, kib]))
        save_result(engine, _row(number, scheme, bits, accuracy, kib, feasible))
    return sqlite_url


def _numbers_json(output: str) -> list[int]:
    payload = json.loads(output)
    trials = payload["trials"] if isinstance(payload, dict) else payload
    return [t["trial_number"] for t in trials]


def test_best_returns_feasible_pareto_front_in_json(known_storage):
    result = runner.invoke(app, ["best", "--storage", known_storage, "--study-name", "known", "--format", "json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert sorted(_numbers_json(result.output)) == [1, 2, 5]
    assert payload["selected"] == 5  # smallest memory within 1 point of float


def test_best_filters_by_memory_in_csv_and_table(known_storage):
    result = runner.invoke(app, ["best", "--storage", known_storage, "--study-name", "known",
                                 "--max-memory-kib", "5", "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert sorted(int(r["trial_number"]) for r in rows) == [2, 5]
    table = runner.invoke(app, ["best", "--storage", known_storage, "--study-name", "known",
                                "--max-memory-kib", "5"])
    assert table.exit_code == 0
    assert "selected" in table.output and "9.50" not in table.output


def test_trials_filters_accuracy_drop_and_sorts(known_storage):
    result = runner.invoke(app, ["trials", "--storage", known_storage, "--study-name", "known",
                                 "--max-accuracy-drop", "0.6", "--sort", "memory_kib", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert _numbers_json(result.output) == [2, 1, 0]
    as_csv = runner.invoke(app, ["trials", "--storage", known_storage, "--study-name", "known", "--format", "csv"])
    assert [int(r["trial_number"]) for r in csv.DictReader(io.StringIO(as_csv.output))] == [0, 1, 2, 3, 4, 5]
    table = runner.invoke(app, ["trials", "--storage", known_storage, "--study-name", "known", "--feasible"])
    assert table.exit_code == 0 and "float baseline" not in table.output and "(4)" in table.output


def test_trials_rejects_unknown_sort_column_in_one_line(known_storage):
    result = runner.invoke(app, ["trials", "--storage", known_storage, "--study-name", "known",
                                 "--sort", "weight_bits; drop table x"])
    assert result.exit_code == 2
    assert "--sort" in result.output and len(result.output.strip().splitlines()) == 1


def test_studies_lists_the_study(known_storage):
    result = runner.invoke(app, ["studies", "--storage", known_storage, "--format", "json"])
    assert result.exit_code == 0
    assert json.loads(result.output)[0]["study_name"] == "known"


def test_broken_study_file_fails_before_any_trial(tmp_path, sqlite_url):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nsearch_space:\n  membrane_bits: [8, 40]\n")
    result = runner.invoke(app, ["run", str(bad), "--storage", sqlite_url])
    assert result.exit_code == 2
    assert "search_space.membrane_bits" in result.output and "allowed" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert optuna.get_all_study_summaries(make_storage(sqlite_url, heartbeat_interval=None)) == []


def test_unknown_key_in_study_file_is_named(tmp_path, sqlite_url):
    bad = tmp_path / "typo.yaml"
    bad.write_text("name: typo\ntraining:\n  epoch: 3\n")
    result = runner.invoke(app, ["run", str(bad), "--storage", sqlite_url])
    assert result.exit_code == 2 and "training.epoch: unknown key" in result.output


def test_unreachable_database_gives_masked_one_line_error():
    url = "postgresql://alice:s3cret@127.0.0.1:1/qsearch"
    result = runner.invoke(app, ["best", "--storage", url, "--study-name", "x"])
    assert result.exit_code == 2
    assert "s3cret" not in result.output
    assert "127.0.0.1:1" in result.output and "qsearch" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_unknown_storage_scheme_lists_what_is_allowed():
    result = runner.invoke(app, ["trials", "--storage", "mongodb://h/db", "--study-name", "x"])
    assert result.exit_code == 2 and "allowed: sqlite" in result.output
