"""A password in a study file's ``storage:`` never reaches the record, the dashboard's HTTP API or an export."""

from __future__ import annotations

import json
from pathlib import Path
from wsgiref.util import setup_testing_defaults

import optuna
import pytest
from study_fixtures import tiny_study_dict

from qsearch.dashboard import dashboard_app
from qsearch.execution import run_study
from qsearch.export import export_trial
from qsearch.record import make_storage
from qsearch.studyfile import parse_study

SECRET = "s3cr3t-pw"
URL_WITH_PASSWORD = f"postgresql+psycopg://postgres:{SECRET}@127.0.0.1:5432/test"
STUDY_FILE_ATTR = "qsearch_study_file"  # the attribute name is part of the stored record: studies keep it


def _get(app, path: str) -> bytes:
    environ: dict = {}
    setup_testing_defaults(environ)
    environ.update(PATH_INFO=path, QUERY_STRING="")
    status: dict = {}
    body = b"".join(app(environ, lambda s, headers, exc_info=None: status.update(s=s)))
    assert status["s"].startswith("200"), body[:300]
    return body


@pytest.fixture(scope="module")
def study_url(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('secret') / 'study.db'}"
    spec = tiny_study_dict(n_trials=2, storage=URL_WITH_PASSWORD,
                           search_space={"scheme": ["ptq"], "rounding": ["nearest"], "weight_bits": [4]})
    run_study(parse_study(spec), url, "tiny", n_trials=2)
    return url


def _study(url: str) -> optuna.Study:
    return optuna.load_study(study_name="tiny", storage=make_storage(url, heartbeat_interval=None))


def _everything_exported(url: str, out: Path) -> str:
    folder = export_trial(url, "tiny", 1, out)
    return "\n".join(p.read_text(errors="replace") for p in sorted(folder.rglob("*")) if p.is_file())


def test_the_recorded_study_file_holds_no_password(study_url):
    study = _study(study_url)
    recorded = study.user_attrs[STUDY_FILE_ATTR]
    assert recorded["storage"] == "postgresql+psycopg://postgres:***@127.0.0.1:5432/test"
    every_attribute = json.dumps([study.user_attrs,
                                  [(t.user_attrs, t.system_attrs) for t in study.trials]])
    assert SECRET not in every_attribute


def test_dashboard_and_export_show_no_password(study_url, tmp_path):
    app = dashboard_app(study_url)
    for path in ("/api/studies", "/api/studies/1"):
        body = _get(app, path)
        assert b"127.0.0.1:5432" in body or path == "/api/studies/1"
        assert SECRET.encode() not in body
    assert SECRET not in _everything_exported(study_url, tmp_path / "export")


def test_a_study_recorded_before_the_fix_is_masked_on_read(study_url, tmp_path):
    """Studies recorded by an older qsearch hold the plaintext URL; every view masks it."""
    study = _study(study_url)
    study.set_user_attr(STUDY_FILE_ATTR, {**study.user_attrs[STUDY_FILE_ATTR], "storage": URL_WITH_PASSWORD})
    assert SECRET in json.dumps(_study(study_url).user_attrs)  # the legacy record, as such a study holds it
    app = dashboard_app(study_url)
    studies = json.loads(_get(app, "/api/studies"))
    shown = json.dumps(studies)
    assert "postgres:***@127.0.0.1" in shown and SECRET not in shown
    assert SECRET.encode() not in _get(app, "/api/studies/1")
    assert SECRET not in _everything_exported(study_url, tmp_path / "legacy_export")
