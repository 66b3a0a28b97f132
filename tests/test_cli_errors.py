"""Every probe of issue #17 (points 5 and 6): a user's mistake is one line and exit 2, nothing is created;
anything else is a bug with a traceback and exit 1."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from qsearch.cli import app

runner = CliRunner()
BASE = {"name": "p", "n_trials": 2, "trial_runner": "synthetic", "model": {"hidden": [8]},
        "training": {"epochs": 1, "qat_epochs": 1}, "sampler": {"kind": "random", "seed": 0}}


def _study(tmp_path: Path, name: str = "s.yaml", **overrides) -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump({**BASE, **overrides}))
    return path


def _one_line(args: list[str], expected: str) -> str:
    result = runner.invoke(app, args)
    lines = result.output.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1, result.output
    assert lines[0].startswith("qsearch: error: ") and expected in lines[0], lines[0]
    return lines[0]


def _run(tmp_path: Path, study: Path, storage: str, *extra: str) -> list[str]:
    return ["run", str(study), "--storage", storage, "--quiet", "--no-report", *extra]


@pytest.mark.parametrize(("storage", "expected"), [
    ("journal:/proc/qsearch.journal", "--storage: cannot write journal file /proc/qsearch.journal"),
    ("sqlite://", "--storage: 'sqlite://' is in memory"),
    ("sqlite:///:memory:", "is in memory"),
    ("postgresql+psycopg://u:secret@127.0.0.1:abc/test", "a port must be a number"),
    ("grpc://127.0.0.1:1", "--storage: cannot reach the gRPC storage proxy at 127.0.0.1:1"),
])
def test_unusable_storage_is_one_line(tmp_path, storage, expected):
    line = _one_line(_run(tmp_path, _study(tmp_path), storage), expected)
    assert "secret" not in line


@pytest.mark.parametrize(("y", "expected"), [
    (np.zeros(50, dtype=int), "holds 1 class (train 30, validation 10, test 10 samples)"),
    (np.array([0, 1, 0, 1, 0]), "is too small to split: train 3, validation 1, test 1 samples for 2 classes"),
])
def test_npz_that_cannot_be_split_is_refused_naming_the_file(tmp_path, y, expected):
    data = tmp_path / "data.npz"
    np.savez(data, x=np.random.default_rng(0).random((len(y), 4)), y=y)
    study = _study(tmp_path, trial_runner="snn", dataset={"name": "npz", "path": str(data)})
    line = _one_line(_run(tmp_path, study, f"sqlite:///{tmp_path / 'p.db'}"), expected)
    assert str(data) in line and not (tmp_path / "p.db").exists()


def test_npz_errors_name_the_file(tmp_path):
    data = tmp_path / "bad.npz"
    np.savez(data, x=np.ones((6, 4)), y=np.array([0, 1, 0, 1]))
    study = _study(tmp_path, trial_runner="snn", dataset={"name": "npz", "path": str(data)})
    _one_line(_run(tmp_path, study, f"sqlite:///{tmp_path / 'p.db'}"), f"npz: {data}: y: must hold one label")


@pytest.mark.parametrize(("space", "expected"), [
    ({"weight_bits": [True]}, "search_space.weight_bits: true/false is not a number"),
    ({"sparsity": []}, "search_space.sparsity: sparsity must be a non-empty list"),
])
def test_study_file_values_that_were_accepted_are_refused(tmp_path, space, expected):
    _one_line(_run(tmp_path, _study(tmp_path, search_space=space), f"sqlite:///{tmp_path / 'p.db'}"), expected)
    assert not (tmp_path / "p.db").exists()


@pytest.mark.parametrize(("extra", "expected"), [
    (["--timeout", "-5"], "--timeout: -5 must be a positive number of seconds"),
    (["--timeout", "0"], "--timeout: 0 must be a positive number"),
    (["--n-trials", "0"], "Invalid value for '--n-trials'"),
    (["--grace-period", "5", "--heartbeat-interval", "10"], "--grace-period: 5 must exceed --heartbeat-interval"),
])
def test_bad_run_options_are_one_line(tmp_path, extra, expected):
    _one_line(_run(tmp_path, _study(tmp_path), f"sqlite:///{tmp_path / 'p.db'}", *extra), expected)


def test_bad_format_is_one_line(tmp_path):
    _one_line(["best", "--storage", f"sqlite:///{tmp_path / 'p.db'}", "--format", "xml"],
              "Invalid value for '--format'")


def test_continuing_with_another_study_file_needs_the_flag(tmp_path):
    url = f"sqlite:///{tmp_path / 'p.db'}"
    assert runner.invoke(app, _run(tmp_path, _study(tmp_path), url)).exit_code == 0
    changed = _study(tmp_path, "changed.yaml", search_space={"weight_bits": [2, 4]})
    _one_line(_run(tmp_path, changed, url), "study_file: study 'p' was run with a different study file")
    more = _study(tmp_path, "more.yaml", n_trials=5, synthetic_sleep_s=0.001)  # run-only fields: same study
    assert runner.invoke(app, _run(tmp_path, more, url)).exit_code == 0
    result = runner.invoke(app, _run(tmp_path, changed, url, "--allow-changed-study-file"))
    assert result.exit_code == 0, result.output


def test_a_study_from_an_older_qsearch_continues_where_the_file_only_lacks_new_defaulted_fields(tmp_path):
    import hashlib
    import json

    import optuna

    from qsearch.search import RUN_ONLY_FIELDS, STUDY_FILE_ATTR, STUDY_FILE_HASH_ATTR

    url = f"sqlite:///{tmp_path / 'p.db'}"
    assert runner.invoke(app, _run(tmp_path, _study(tmp_path), url)).exit_code == 0
    # what an older qsearch recorded: the same file without a field added since (with its default), and its hash
    study = optuna.load_study(study_name="p", storage=url)
    older = json.loads(json.dumps(study.user_attrs[STUDY_FILE_ATTR]))
    del older["sampler"]["initial_design"]
    study.set_user_attr(STUDY_FILE_ATTR, older)
    spec = {k: v for k, v in older.items() if k not in RUN_ONLY_FIELDS}
    study.set_user_attr(STUDY_FILE_HASH_ATTR, hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest())
    trials_before = len(study.trials)
    more = _study(tmp_path, "more.yaml", n_trials=5)
    result = runner.invoke(app, _run(tmp_path, more, url))
    assert result.exit_code == 0, result.output
    assert len(study.trials) > trials_before  # it did continue
    changed = _study(tmp_path, "changed.yaml", search_space={"weight_bits": [2, 4]})  # a real change still counts
    _one_line(_run(tmp_path, changed, url), "study_file: study 'p' was run with a different study file")
    explicit = _study(tmp_path, "explicit.yaml", sampler={"kind": "random", "seed": 0, "initial_design": "none"})
    _one_line(_run(tmp_path, explicit, url), "study_file: study 'p' was run with a different study file")


def test_readers_refuse_unknown_studies_and_missing_files_without_creating_them(tmp_path):
    url = f"sqlite:///{tmp_path / 'p.db'}"
    assert runner.invoke(app, _run(tmp_path, _study(tmp_path), url)).exit_code == 0
    _one_line(["trials", "--storage", url, "--study-name", "nope"], "--study-name: no study 'nope'")
    for command in (["best", "--study-name", "p"], ["studies"], ["trials", "--study-name", "p"]):
        typo = tmp_path / "typo.db"
        _one_line([command[0], "--storage", f"sqlite:///{typo}", *command[1:]], f"SQLite file {typo} does not exist")
        assert not typo.exists()


def test_a_reader_during_a_new_sqlite_study_does_not_break_it(tmp_path):
    db = tmp_path / "new.db"
    study = _study(tmp_path, n_trials=3, synthetic_sleep_s=0.2)
    process = subprocess.Popen([sys.executable, "-m", "qsearch.cli", *_run(tmp_path, study, f"sqlite:///{db}")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not db.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.02)
    codes = set()
    while process.poll() is None and time.monotonic() < deadline:
        codes.add(runner.invoke(app, ["best", "--storage", f"sqlite:///{db}", "--study-name", "p"]).exit_code)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert codes <= {0, 2} and codes  # the reader saw no study yet (one line) or the study; never a crash


def test_an_internal_error_is_a_traceback_and_exit_1(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'p.db'}"
    assert runner.invoke(app, _run(tmp_path, _study(tmp_path), url)).exit_code == 0

    def broken(*_args, **_kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("qsearch.record.read_study", broken)
    result = runner.invoke(app, ["trials", "--storage", url, "--study-name", "p"])
    assert result.exit_code == 1 and isinstance(result.exception, RuntimeError)


@pytest.mark.parametrize("name", ["nmnist", "shd", "dvsgesture"])
def test_a_direct_encoding_of_event_data_is_one_line_and_records_nothing(tmp_path, name):
    study = _study(tmp_path, trial_runner="snn",
                   dataset={"name": name, "path": str(tmp_path), "encoding": {"kind": "direct"}})
    db = tmp_path / "q.db"
    line = _one_line(_run(tmp_path, study, f"sqlite:///{db}"), f"dataset.{name}: encoding: event data ({name})")
    assert "allowed for digits, mnist and npz only" in line and "direct" in line
    assert not db.exists()


@pytest.mark.parametrize(("encoding", "expected"), [
    ({"kind": "direct", "input_bits": 0}, "dataset.digits.encoding.direct.input_bits: Input should be greater than "
                                          "or equal to 1"),
    ({"kind": "direct", "input_bits": 17}, "input_bits: Input should be less than or equal to 16"),
    ({"kind": "direct", "max_rate": 0.5}, "dataset.digits.encoding.direct.max_rate: unknown key"),
])
def test_a_bad_direct_encoding_is_one_line_and_records_nothing(tmp_path, encoding, expected):
    db = tmp_path / "q.db"
    _one_line(_run(tmp_path, _study(tmp_path, dataset={"name": "digits", "encoding": encoding}), f"sqlite:///{db}"),
              expected)
    assert not db.exists()
