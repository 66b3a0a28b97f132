"""The user's data as they hold it (datasets, loaders, arrays, frames) and network, fingerprinted; user errors
from Python as one-line QsearchErrors, credentials masked; `import qsearch` stays cheap."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from study_fixtures import tiny_study_dict
from torch.utils.data import DataLoader, TensorDataset

import qsearch
from qsearch.api import materialize
from qsearch.data import PythonSpec, data_fingerprint, hold_data
from qsearch.search import python_inputs_changed
from qsearch.studyfile import parse_study
from qsearch.trial import hold_network, network_fingerprint
from qsearch.trial._imported_network import load_python_model

X = np.arange(60, dtype=np.float32).reshape(20, 3)
Y = np.arange(20) % 2


def _dataset() -> TensorDataset:
    return TensorDataset(torch.from_numpy(X), torch.from_numpy(Y))


def test_a_dataset_a_loader_a_shuffled_loader_and_arrays_hold_the_same_samples():
    forms = [_dataset(), DataLoader(_dataset(), batch_size=6), DataLoader(_dataset(), batch_size=6, shuffle=True),
             (X, Y), (torch.from_numpy(X), torch.from_numpy(Y))]
    fingerprints = set()
    for form in forms:
        pairs, frames = materialize(form)
        assert not frames and set(pairs) == {"all"}
        np.testing.assert_array_equal(pairs["all"][0], X)
        np.testing.assert_array_equal(pairs["all"][1], Y)
        fingerprints.add(data_fingerprint(pairs, frames))
    assert len(fingerprints) == 1  # a shuffled loader is read in index order: its fingerprint does not change


def test_changed_samples_change_the_fingerprint():
    pairs, _ = materialize((X, Y))
    changed = X.copy()
    changed[3, 1] += 1
    assert data_fingerprint(materialize((changed, Y))[0], False) != data_fingerprint(pairs, False)
    assert data_fingerprint(pairs, True) != data_fingerprint(pairs, False)


def test_given_splits_keep_their_names_and_validation_needs_a_test_split():
    pairs, _ = materialize(qsearch.Datasets(train=(X, Y), test=_dataset()))
    assert set(pairs) == {"train", "test"}
    with pytest.raises(qsearch.QsearchError, match=r"^data\.test: a validation split needs a test split"):
        materialize(qsearch.Datasets(train=(X, Y), validation=(X, Y)))


def test_held_data_split_and_scale_by_the_npz_rules():
    fingerprint = hold_data(*materialize((X, Y)))
    splits = PythonSpec(fingerprint=fingerprint, validation_fraction=0.2, test_fraction=0.2).load(8)
    assert len(splits.train) + len(splits.validation) + len(splits.test) == 20
    assert float(splits.train.x.max()) <= 1.0 and float(splits.train.x.min()) >= 0.0  # scaled on train
    assert splits.input_shape == (3,) and splits.n_classes == 2 and not splits.has_time_axis


def test_frames_keep_their_time_axis_unscaled():
    frames = np.random.default_rng(0).integers(0, 3, size=(20, 4, 2, 3, 3)).astype(np.float32)
    pairs, is_frames = materialize(qsearch.Datasets(train=(frames, Y), frames=True))
    splits = PythonSpec(fingerprint=hold_data(pairs, is_frames)).load(4)
    assert splits.has_time_axis and splits.input_shape == (2, 3, 3)
    assert float(splits.train.x.max()) == 2.0  # spike counts as given


def test_frames_must_match_the_studys_timesteps():
    frames = np.zeros((20, 4, 6), dtype=np.float32)
    with pytest.raises(qsearch.QsearchError, match=r"^search_space\.timesteps: the frames have 4 time bins"):
        qsearch.run(tiny_study_dict(), data=qsearch.Datasets(train=(frames, Y), frames=True),
                    storage="sqlite:///never.db")


def test_raw_events_are_refused_with_the_transform_to_give():
    events = np.zeros(5, dtype=[("t", "<i8"), ("x", "<i2"), ("p", "<i1")])
    with pytest.raises(qsearch.QsearchError, match=r"^data: the samples are raw events.*ToFrame"):
        materialize([(events, 0), (events, 1), (events, 0)])


def _network() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 4, bias=False), torch.nn.Linear(4, 2, bias=False))


def test_a_held_network_is_the_factory_of_a_python_model_and_its_weights_are_its_fingerprint():
    net = _network()
    factory = hold_network(net)
    study = parse_study(tiny_study_dict(model={"kind": "python", "factory": factory}))
    loaded = load_python_model(study.model)
    assert network_fingerprint(loaded) == network_fingerprint(net)
    assert loaded is not net  # a copy: training the user's module later changes nothing recorded
    with torch.no_grad():
        net[0].weight.add_(0.5)
    other = parse_study(tiny_study_dict(model={"kind": "python", "factory": hold_network(net)}))
    line = python_inputs_changed(study.model_dump(mode="json"), other, "s")
    assert line is not None and line.startswith("model: study 's' was run with another network")


def test_a_network_not_given_in_this_process_is_one_line():
    study = parse_study(tiny_study_dict(model={"kind": "python",
                                               "factory": "qsearch.trial._held_network:network_" + "0" * 64}))
    with pytest.raises(qsearch.QsearchError, match=r"^model\.factory: this study's network \(000000000000\) was given"):
        load_python_model(study.model)


def test_a_bad_study_from_python_is_the_commands_one_line():
    with pytest.raises(qsearch.QsearchError) as error:
        qsearch.run(tiny_study_dict(n_trials=0), storage="sqlite:///never.db")
    assert str(error.value) == "study: n_trials: Input should be greater than or equal to 1"
    assert error.value.__traceback__ is not None and error.value.__cause__ is None


def test_a_missing_study_is_one_line_and_a_password_never_shows(tmp_path):
    with pytest.raises(qsearch.QsearchError, match=r"^--storage: .*does not exist"):
        qsearch.load(f"sqlite:///{tmp_path / 'missing.db'}", "x")
    with pytest.raises(qsearch.QsearchError) as refused:
        qsearch.load("postgresql+psycopg://user:s3cret@127.0.0.1:9/db", "x")
    assert "s3cret" not in str(refused.value) and "\n" not in str(refused.value)


def test_import_qsearch_loads_no_torch_and_the_names_on_first_use():
    code = ("import sys, qsearch; assert 'torch' not in sys.modules and 'optuna' not in sys.modules; "
            "assert set(qsearch.__all__) <= set(dir(qsearch)); print(qsearch.run.__module__)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "qsearch.api._run"


def test_in_ipython_a_user_error_is_its_line_and_a_bug_keeps_its_traceback(tmp_path, capsys):
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        refused = shell.run_cell(f"import qsearch\nqsearch.load('sqlite:///{tmp_path / 'missing.db'}', 'x')")
        shown = capsys.readouterr()
        assert isinstance(refused.error_in_exec, qsearch.QsearchError)
        assert shown.err.startswith("qsearch: error: --storage: ") and len(shown.err.strip().splitlines()) == 1
        assert "Traceback" not in shown.out + shown.err
        bug = shell.run_cell("1 / 0")
        assert isinstance(bug.error_in_exec, ZeroDivisionError)
        assert "ZeroDivisionError" in capsys.readouterr().out  # IPython's own traceback
    finally:
        InteractiveShell.clear_instance()
