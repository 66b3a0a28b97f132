"""The results table round-trips on every supported database: SQLite, and the PostgreSQL and MariaDB services."""

from __future__ import annotations

import uuid

import pytest

from qsearch.quant import QuantConfig
from qsearch.results import (
    ResultFilter,
    TrialResult,
    delete_results,
    engine_for,
    ensure_table,
    load_results,
    save_result,
)

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
MARIADB_URL = "mysql+pymysql://root@127.0.0.1:3306/test"


def _row(study: str, number: int, kib: float) -> TrialResult:
    config = QuantConfig(scheme="qat", weight_bits=(4, 2), membrane_bits=8, current_bits=8, param_bits=8,
                         rounding="stochastic", timesteps=12, sparsity=(0.5, 0.25))
    return TrialResult(study_name=study, trial_number=number, state="COMPLETE", reason="completed",
                       is_baseline=False, scheme="qat", weight_bits="4/2", max_weight_bits=4, membrane_bits=8,
                       current_bits=8, param_bits=8, rounding="stochastic", timesteps=12, sparsity=0.375,
                       accuracy=95.25, test_accuracy=95.25, validation_accuracy=94.5, accuracy_drop=0.75,
                       memory_bits=int(kib * 8192), memory_kib=kib, compression_ratio=38.0 / kib, sops=12345.5,
                       energy_nj=0.125, epochs_run=20, silent=False, feasible=True, duration_s=3.5,
                       worker_host="host-a", config=config.to_dict(),
                       memory_breakdown={"weights_layer0": 100, "total": 1000})


@pytest.mark.services
@pytest.mark.parametrize("url", ["sqlite", POSTGRES_URL, MARIADB_URL], ids=["sqlite", "postgresql", "mariadb"])
def test_results_table_round_trips(url, sqlite_url):
    url = sqlite_url if url == "sqlite" else url
    engine = engine_for(url)
    ensure_table(engine)
    ensure_table(engine)  # idempotent: created on first use only
    study = f"roundtrip-{uuid.uuid4().hex[:8]}"
    try:
        save_result(engine, _row(study, 1, 4.5))
        save_result(engine, _row(study, 2, 3.0))
        save_result(engine, _row(study, 2, 3.25))  # a retried write replaces, never duplicates
        rows = load_results(engine, study, ResultFilter(max_memory_kib=4.0))
        assert [r["trial_number"] for r in rows] == [2]
        row = rows[0]
        assert row["memory_kib"] == pytest.approx(3.25)
        assert row["memory_bits"] == int(3.25 * 8192)
        assert row["feasible"] is True and row["silent"] is False
        assert row["rounding"] == "stochastic" and row["weight_bits"] == "4/2"
        assert QuantConfig.from_dict(row["config"]).sparsity == (0.5, 0.25)
        assert row["memory_breakdown"]["total"] == 1000
        assert len(load_results(engine, study)) == 2
    finally:
        delete_results(engine, study)
        assert load_results(engine, study) == []
        engine.dispose()


def test_table_of_an_older_qsearch_gains_the_new_columns(sqlite_url):
    """A database written before test_n/validation_n existed: its rows still read, with the sizes unknown."""
    from sqlalchemy import inspect, text

    engine = engine_for(sqlite_url)
    ensure_table(engine)
    save_result(engine, _row("old", 1, 4.0))
    with engine.begin() as connection:  # the table as an older qsearch created it
        for column in ("test_n", "validation_n"):
            connection.execute(text(f"ALTER TABLE qsearch_results DROP COLUMN {column}"))
    assert "test_n" not in {c["name"] for c in inspect(engine).get_columns("qsearch_results")}
    (row,) = load_results(engine, "old")
    assert (row.trial_number, row.accuracy, row.test_n, row.test_accuracy_se) == (1, 95.25, None, None)
    save_result(engine, _row("old", 2, 2.0))
    assert [r.trial_number for r in load_results(engine, "old")] == [1, 2]
