"""`qsearch dashboard` on a study qsearch did not write: feasibility still shows, infeasible trials are not best."""

from __future__ import annotations

import json
from wsgiref.util import setup_testing_defaults

import optuna

from qsearch.dashboard import dashboard_app


def test_plain_optuna_study_with_constraints(tmp_path):
    url = f"sqlite:///{tmp_path / 'plain.db'}"
    study = optuna.create_study(study_name="plain", storage=url, directions=["maximize", "minimize"])
    points = [(0.9, 5.0, 1.0), (0.8, 2.0, -1.0), (0.7, 1.0, -1.0), (0.95, 9.0, -1.0)]  # (acc, cost, constraint)
    for accuracy, cost, constraint in points:
        trial = study.ask()
        trial.set_constraint("c", constraint)
        study.tell(trial, [accuracy, cost])
    environ: dict = {}
    setup_testing_defaults(environ)
    environ.update(PATH_INFO="/api/studies/1")
    body = b"".join(dashboard_app(url)(environ, lambda *args: None))
    detail = json.loads(body)
    assert [t["constraints"] for t in detail["trials"]] == [[1.0], [-1.0], [-1.0], [-1.0]]
    assert sorted(t["number"] for t in detail["best_trials"]) == [1, 2, 3]  # trial 0 is infeasible
