"""One ``qsearch run`` of the default study opens its storage once: the run, its end report, the dashboard
view and the selected model's export all read the study it opened."""

from __future__ import annotations

from pathlib import Path

import optuna
import sqlalchemy
from typer.testing import CliRunner

import qsearch.results._store as results_store
from qsearch.cli import app

DEFAULT_STUDY = Path(__file__).resolve().parents[2] / "studies" / "digits.yaml"


def test_a_run_of_the_default_study_opens_its_storage_once(tmp_path, monkeypatch):
    storages: list[str] = []
    engines: list[str] = []
    original_init = optuna.storages.RDBStorage.__init__
    original_engine = sqlalchemy.create_engine

    def counting_init(self, url, *args, **kwargs):
        storages.append(url)
        original_init(self, url, *args, **kwargs)

    def counting_engine(url, *args, **kwargs):
        engines.append(str(url))
        return original_engine(url, *args, **kwargs)

    monkeypatch.setattr(optuna.storages.RDBStorage, "__init__", counting_init)
    monkeypatch.setattr(sqlalchemy, "create_engine", counting_engine)
    monkeypatch.setattr(results_store, "create_engine", counting_engine)
    monkeypatch.setattr("optuna.storages._rdb.storage.sqlalchemy.engine.create_engine", counting_engine)
    db = tmp_path / "q.db"
    result = CliRunner().invoke(app, ["run", str(DEFAULT_STUDY), "--storage", f"sqlite:///{db}", "--n-trials", "8",
                                      "--workers", "1", "--quiet", "--plot", str(tmp_path / "p.html")])
    assert result.exit_code == 0, result.output
    assert "selected: trial" in result.output  # the report ran, and with it the dashboard view and the export
    assert list((tmp_path / "q.db.artifacts").iterdir())  # the selected model was stored
    assert storages == [f"sqlite:///{db}"]
    assert len(engines) == 1, engines
