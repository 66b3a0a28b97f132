"""benchmarks/hopeless_replay.py reads a recorded study's QAT curves and budget and replays the hopeless rule."""

from __future__ import annotations

import json

import optuna
import pytest
from benchmark_modules import load_benchmark

from qsearch.record import keys
from qsearch.search import STUDY_FILE_ATTR
from qsearch.studyfile import parse_study

script = load_benchmark("hopeless_replay")


def _recorded_study(db, hopeless_enabled: bool) -> None:
    """A study as qsearch records it: the float baseline at 90 %, then QAT trials with their curves."""
    spec = parse_study({"early_stopping": {"hopeless": {"enabled": hopeless_enabled, "min_curves": 2}},
                        "constraints": {"max_accuracy_drop": 1.0}})
    study = optuna.create_study(study_name="ttf", storage=f"sqlite:///{db}", directions=["maximize", "minimize"])
    study.set_user_attr(STUDY_FILE_ATTR, json.loads(spec.model_dump_json()))

    def add(curve: list[float], final: float, scheme: str = "qat", **attrs) -> None:
        study.add_trial(optuna.trial.create_trial(values=[final, 1.0], user_attrs={
            keys.CONFIG: {"scheme": scheme}, keys.VALIDATION_CURVE: curve, keys.ACCURACY: final, **attrs}))

    add([88.0, 90.0], 90.0, "float", **{keys.BASELINE: True})  # target = 89
    add([80.0, 85.0, 86.0], 86.0)  # the evidence: at most 6 points gained with 2 epochs to go, 1 with 1 to go
    add([88.0, 89.0, 90.0], 90.0)
    add([70.0, 71.0, 72.0], 72.0)  # hopeless after epoch 0 at margin 0 and 2 (70 + 6 + 2 < 89), saves 2 epochs
    add([82.0, 86.0, 89.5], 89.5)  # a late bloomer: stopped at margin 0 (82 + 6 < 89), not at margin 2


def test_replays_the_recorded_curves_against_the_studys_own_budget(tmp_path):
    db = tmp_path / "before-0-200.db"
    _recorded_study(db, hopeless_enabled=False)
    count, reports = script.study_replays(db, "ttf", [0.0, 2.0])
    assert count == 4  # the float baseline's curve is no QAT curve
    tight, shipped = reports[0.0], reports[2.0]
    assert (tight.stopped, tight.false_stops, tight.infeasible) == (2, 1, 2)
    assert (shipped.stopped, shipped.false_stops, shipped.epochs_saved) == (1, 0, 2)
    assert shipped.epochs_total == 12


def test_refuses_studies_where_the_rule_was_on(tmp_path):
    db = tmp_path / "shipped-0-200.db"
    _recorded_study(db, hopeless_enabled=True)
    with pytest.raises(SystemExit, match="the hopeless rule was on"):
        script.study_replays(db, "ttf", [2.0])
