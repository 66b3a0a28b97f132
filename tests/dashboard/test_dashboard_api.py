"""optuna-dashboard's HTTP API, as `qsearch dashboard` serves it, shows qsearch's view of a finished study."""

from __future__ import annotations

import io
import json
import re
import warnings
import zipfile
from wsgiref.util import setup_testing_defaults

import pytest
from optuna_dashboard import wsgi

from qsearch.dashboard import NOTE_HEADING, PARETO_GRAPH_ID, dashboard_app
from qsearch.record import make_storage


def _get(app, path: str, query: str = "") -> tuple[str, bytes]:
    environ: dict = {}
    setup_testing_defaults(environ)
    environ.update(PATH_INFO=path, QUERY_STRING=query)
    status: dict = {}
    body = b"".join(app(environ, lambda s, headers, exc_info=None: status.update(s=s)))
    return status["s"], body


@pytest.fixture(scope="module")
def detail(finished_study) -> dict:
    status, body = _get(dashboard_app(finished_study.url), "/api/studies/1")
    assert status.startswith("200"), body
    return json.loads(body)


def _feasible(trial: dict) -> bool:
    return bool(trial["constraints"]) and all(c <= 0 for c in trial["constraints"])


def test_every_complete_trial_carries_its_constraints(detail):
    complete = [t for t in detail["trials"] if t["state"] == "Complete"]
    assert len(complete) == 24
    assert all(t["constraints"] for t in complete)
    baseline = next(t for t in complete if t["number"] == 0)
    assert not _feasible(baseline)  # the float baseline is never a candidate
    assert any(not _feasible(t) for t in complete[1:]) and any(_feasible(t) for t in complete)


def test_best_trials_are_qsearchs_feasible_front(detail, finished_study):
    best = detail["best_trials"]
    assert best and all(_feasible(t) for t in best)
    front = {row["trial_number"] for row in finished_study.best["trials"] if not row["is_baseline"]}
    assert {t["number"] for t in best} == front


def test_without_qsearchs_view_the_dashboard_badges_infeasible_trials(finished_study):
    """What this fixes: optuna-dashboard alone calls the float baseline (infeasible) a best trial."""
    status, body = _get(wsgi(make_storage(finished_study.url, heartbeat_interval=None)), "/api/studies/1")
    raw = json.loads(body)
    assert 0 in {t["number"] for t in raw["best_trials"]}
    assert all(t["constraints"] == [] for t in raw["trials"])


def test_polling_after_keeps_the_whole_front(finished_study, detail):
    status, body = _get(dashboard_app(finished_study.url), "/api/studies/1", "after=20")
    later = json.loads(body)
    assert [t["number"] for t in later["trials"]] == [20, 21, 22, 23]
    assert [t["number"] for t in later["best_trials"]] == [t["number"] for t in detail["best_trials"]]


def test_note_plot_and_trial_notes_name_the_selected_trial_and_knee(detail, finished_study):
    selected, knee = finished_study.best["selected"], finished_study.best["knee"]
    assert selected is not None and knee is not None
    note = detail["note"]["body"]
    assert note.startswith(NOTE_HEADING)
    assert f"**selected**: trial {selected} " in note and f"**knee**: trial {knee} " in note
    assert "**budget**: at most 4.0 points below float" in note
    graphs = {g["id"]: g["graph_object"] for g in detail["plotly_graph_objects"]}
    figure = graphs[PARETO_GRAPH_ID]
    assert set(re.findall(r"selected \(trial (\d+)\)", figure)) == {str(selected)}
    assert set(re.findall(r"knee \(trial (\d+)\)", figure)) == {str(knee)}
    html = finished_study.pareto_html.read_text(encoding="utf-8")
    assert set(re.findall(r"selected \(trial (\d+)\)", html)) == {str(selected)}
    trials = {t["number"]: t for t in detail["trials"]}
    assert trials[0]["note"]["body"].startswith("**float baseline**")
    assert "selected" in trials[selected]["note"]["body"] and "/artifacts/1/" in trials[selected]["note"]["body"]
    assert "knee" in trials[knee]["note"]["body"]


def test_selected_model_is_a_downloadable_artifact_whose_card_agrees(detail, finished_study):
    selected, knee = finished_study.best["selected"], finished_study.best["knee"]
    artifact = next(a for a in detail["artifacts"] if a["filename"] == f"dash-trial{selected}.zip")
    status, body = _get(dashboard_app(finished_study.url), f"/artifacts/1/{artifact['artifact_id']}")
    assert status.startswith("200")
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        card = json.loads(archive.read("model_card.json"))
    assert (card["selection"]["selected_trial"], card["selection"]["knee_trial"]) == (selected, knee)
    assert card["selection"]["is_selected"] is True


def test_run_output_has_no_experimental_warning(finished_study):
    assert "ExperimentalWarning" not in finished_study.run_output
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dashboard_app(finished_study.url)
