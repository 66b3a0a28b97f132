"""Confirmation of a real (tiny) study: stored per finalist and fold, resumed after an interruption with the
same result, and old studies without paired evidence still read."""

from __future__ import annotations

import shutil

import pytest
from study_fixtures import tiny_study_dict

from qsearch.confirm import confirm, confirmation_plan
from qsearch.execution import run_study
from qsearch.record import confirmation_fold_results, confirmed_drops, read_study
from qsearch.results import sureness_line
from qsearch.studyfile import parse_study
from qsearch.trial import run_trial, trial_splits

FOLDS = 3


def _tiny(**overrides):
    return parse_study(tiny_study_dict(
        constraints={"max_accuracy_drop": 5.0},
        selection={"folds": FOLDS, "finalists": 2, "confidence": 0.8},
        **overrides))


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A 6-trial tiny study on SQLite, not yet confirmed (run_study runs no confirmation: the CLI does)."""
    folder = tmp_path_factory.mktemp("confirm")
    url = f"sqlite:///{folder / 'study.db'}"
    run_study(_tiny(), url, "tiny", n_trials=6)
    return folder, url


class Interrupt:
    """run_trial that counts its calls and presses Ctrl-C on call ``at``."""

    def __init__(self, at: int | None = None) -> None:
        self.at, self.calls = at, 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.at is not None and self.calls == self.at:
            raise KeyboardInterrupt
        return run_trial(*args, **kwargs)


def test_an_interrupted_confirmation_resumes_with_the_same_result(finished, tmp_path):
    folder, url = finished
    whole_url = f"sqlite:///{tmp_path / 'whole.db'}"
    shutil.copy(folder / "study.db", tmp_path / "whole.db")
    part_url = f"sqlite:///{tmp_path / 'part.db'}"
    shutil.copy(folder / "study.db", tmp_path / "part.db")

    whole = confirm(read_study(whole_url, "tiny"), runner=Interrupt())
    finalists, skipped = confirmation_plan(read_study(whole_url, "tiny"))
    assert skipped is None and len(finalists) == 2 and whole.computed == FOLDS * 3 and whole.reused == 0

    with pytest.raises(KeyboardInterrupt):
        confirm(read_study(part_url, "tiny"), runner=Interrupt(at=5))
    protocol = read_study(part_url, "tiny").protocol
    stored = confirmation_fold_results(read_study(part_url, "tiny").study_attrs, protocol)
    assert sum(len(folds) for folds in stored.values()) == 4  # whole results only
    again = Interrupt()
    resumed = confirm(read_study(part_url, "tiny"), runner=again)
    assert resumed.reused == 4 and resumed.computed == again.calls == FOLDS * 3 - 4

    expected = confirmed_drops(read_study(whole_url, "tiny").study_attrs, protocol, FOLDS)
    assert set(expected) == {r.trial_number for r in finalists}
    assert confirmed_drops(read_study(part_url, "tiny").study_attrs, protocol, FOLDS) == expected
    # and a third call has nothing left to do
    assert confirm(read_study(part_url, "tiny"), runner=Interrupt(at=1)).computed == 0


def test_the_pick_uses_the_confirmation_and_the_results_table_shows_it(finished, tmp_path):
    folder, _url = finished
    shutil.copy(folder / "study.db", tmp_path / "c.db")
    url = f"sqlite:///{tmp_path / 'c.db'}"
    confirm(read_study(url, "tiny"))
    recorded = read_study(url, "tiny")
    summary = recorded.summary()
    assert summary.evidence_kind == "cross-validation" and summary.folds == FOLDS
    n = next(iter(summary.evidence.values())).n
    study = recorded.study_file()
    splits = trial_splits(study.dataset, study.baseline_timesteps())
    assert n == len(splits.train) + len(splits.validation)  # every fold's held-out samples, pooled
    confirmed = [r for r in recorded.rows if r.confirmed_drop is not None]  # the SQL table's new columns
    assert {r.trial_number for r in confirmed} == set(summary.evidence)
    for row in confirmed:
        drop = summary.evidence[row.trial_number]
        assert row.confirmed_drop == pytest.approx(drop.drop_pt) and row.confirmed_n == n
        assert row.confirmed_folds == FOLDS and row.confirmed_upper >= row.confirmed_drop
    assert "confidence" in sureness_line(summary) or summary.selected is None


def test_every_trial_records_paired_evidence_and_old_studies_fall_back(finished, tmp_path):
    _folder, url = finished
    rows = [r for r in read_study(url, "tiny").rows if r.state == "COMPLETE"]
    assert rows and all(r.paired and len(r.paired["validation"]) == r.paired["draws"] for r in rows)

    # a study without paired evidence (the synthetic runner records none, as studies before it): still reads,
    # picks by the point estimate and says so
    old_url = f"sqlite:///{tmp_path / 'old.db'}"
    run_study(_tiny(trial_runner="synthetic"), old_url, "old", n_trials=8)
    recorded = read_study(old_url, "old")
    summary = recorded.summary()
    assert summary.evidence_kind == "none" and summary.selected == recorded.summary(confidence=0.5).selected
    assert "not measured" in sureness_line(summary)
    assert confirmation_plan(recorded)[1] is not None  # nothing to retrain: said, not attempted


def _cli_run(tmp_path, y, **overrides):
    import numpy as np
    import yaml
    from typer.testing import CliRunner

    from qsearch.cli import app

    data = tmp_path / "data.npz"
    np.savez(data, x=np.random.default_rng(0).random((len(y), 4)), y=np.asarray(y))
    study = tiny_study_dict(dataset={"name": "npz", "path": str(data)}, storage=f"sqlite:///{tmp_path / 'p.db'}",
                            **overrides)
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(study))
    return CliRunner().invoke(app, ["run", str(path), "--quiet", "--no-report"])


@pytest.mark.parametrize(("y", "overrides", "expected"), [
    ([0] * 60 + [1] * 5, {}, "selection.folds: 5 folds need at least 5 samples of every class in train + "
                             "validation, class 1 has 4; allowed: 2 to 4"),
    ([0, 1] * 25, {"constraints": {"max_accuracy_drop": 1.0}},
     "constraints.max_accuracy_drop: a 40-sample train + validation (the confirmation's folds) split cannot "
     "resolve a 1 pt budget"),
    ([0, 1] * 25, {"selection": {"confidence": 1.0}}, "selection.confidence: Input should be less than 1"),
])
def test_a_selection_the_data_cannot_carry_is_one_line_and_records_nothing(tmp_path, y, overrides, expected):
    result = _cli_run(tmp_path, y, **overrides)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and expected in lines[0], result.output
    assert not (tmp_path / "p.db").exists()


def test_extra_encoding_draws_are_kept_per_dataset_spec():
    """Two studies of one data set under other split seeds must not share a cached evaluation draw."""
    import torch

    from qsearch.data import DigitsSpec
    from qsearch.trial import encoded_trial_data

    first, second = DigitsSpec(seed=0, encoding={"kind": "rate"}), DigitsSpec(seed=1, encoding={"kind": "rate"})
    a, b = encoded_trial_data(first, None, 8, "cpu", 1), encoded_trial_data(second, None, 8, "cpu", 1)
    assert not torch.equal(a.validation.y, b.validation.y)  # each its own split, not the other's cached one
    assert encoded_trial_data(first, None, 8, "cpu", 1) is a  # and each kept for the next trial
