"""qsearch.run from Python and `qsearch run` make the same study of the same file and data: the same front and
pick (`best --format json`), the same selected trial read back by qsearch.load, the same export files."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas
import plotly.graph_objects as go
import pytest
import torch
import yaml
from sklearn.datasets import load_digits
from study_fixtures import tiny_study_dict
from torch.utils.data import TensorDataset
from typer.testing import CliRunner

import qsearch
from qsearch.cli import app

runner = CliRunner()
#: what differs between two runs of one study: when and where each trial ran
VOLATILE = ("duration_s", "finished_at", "worker_host", "wall_s")


def _study(path: str) -> dict:
    """The tiny study on the digits as an .npz: the file's data are the arrays given to qsearch.run."""
    return tiny_study_dict(name="same", n_trials=3, dataset={"name": "npz", "path": path})


def _best(url: str) -> dict:
    result = runner.invoke(app, ["best", "--storage", url, "--study-name", "same", "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _without_timings(value):
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value


@pytest.fixture(scope="module")
def two_studies(tmp_path_factory):
    """The same study run by `qsearch run` (data from the .npz) and by qsearch.run (the arrays in memory)."""
    folder = tmp_path_factory.mktemp("same")
    digits = load_digits()
    np.savez(folder / "digits.npz", x=digits.data, y=digits.target)
    study = _study(str(folder / "digits.npz"))
    (folder / "study.yaml").write_text(yaml.safe_dump(study))
    cli_url, api_url = f"sqlite:///{folder / 'cli.db'}", f"sqlite:///{folder / 'api.db'}"
    made = runner.invoke(app, ["run", str(folder / "study.yaml"), "--storage", cli_url, "--workers", "1", "--quiet",
                               "--plot", str(folder / "pareto.html")])
    assert made.exit_code == 0, made.output
    data = TensorDataset(torch.tensor(digits.data, dtype=torch.float32), torch.tensor(digits.target))
    result = qsearch.run(folder / "study.yaml", data=data, storage=api_url, progress=False)
    return folder, cli_url, api_url, result


def test_python_and_the_command_give_the_same_front_and_pick(two_studies):
    _, cli_url, api_url, result = two_studies
    from_cli, from_api = _best(cli_url), _best(api_url)
    assert from_cli["selected"] is not None and from_cli["trials"]  # the front
    assert _without_timings(from_api) == _without_timings(from_cli)
    assert result.selected is not None and result.selected.trial_number == from_cli["selected"]


def test_load_reads_the_commands_study_with_its_pick(two_studies):
    _, cli_url, _, _ = two_studies
    loaded = qsearch.load(cli_url, "same")
    assert loaded.selected is not None and loaded.selected.trial_number == _best(cli_url)["selected"]
    assert loaded.baseline is not None and loaded.baseline.trial_number == 0
    assert all(row.feasible for row in loaded.front)


def test_table_holds_every_trial_and_figure_is_the_pareto_figure(two_studies):
    _, cli_url, _, _ = two_studies
    loaded = qsearch.load(cli_url, "same")
    table = loaded.table()
    assert isinstance(table, pandas.DataFrame)
    assert list(table.index) == [row.trial_number for row in loaded.rows] == [0, 1, 2]
    assert table.loc[loaded.selected.trial_number, "note"].startswith("selected")
    assert table.loc[0, "memory_kib"] == pytest.approx(loaded.baseline.memory_kib)
    figure = loaded.figure()
    assert isinstance(figure, go.Figure) and len(figure.data) > 0
    assert "same" in figure.layout.title.text


def test_export_writes_the_files_of_the_export_command(two_studies):
    folder, cli_url, _, _ = two_studies
    loaded = qsearch.load(cli_url, "same")
    number = loaded.selected.trial_number
    by_command = folder / "by_command"
    made = runner.invoke(app, ["export", "--storage", cli_url, "--study-name", "same", "--trial", str(number),
                               "--out", str(by_command)])
    assert made.exit_code == 0, made.output
    by_python = loaded.export(folder / "by_python")
    names = sorted(p.name for p in by_command.iterdir())
    assert "network.json" in names and "model_card.json" in names
    assert sorted(p.name for p in by_python.iterdir()) == names
    for name in names:
        if name.endswith(".npy"):
            assert np.array_equal(np.load(by_python / name), np.load(by_command / name))
    assert (by_python / "network.json").read_text() == (by_command / "network.json").read_text()


def test_a_study_continued_on_other_data_is_refused_in_one_line(two_studies):
    folder, _, api_url, _ = two_studies
    digits = load_digits()
    other = TensorDataset(torch.tensor(digits.data[:-10], dtype=torch.float32), torch.tensor(digits.target[:-10]))
    with pytest.raises(qsearch.QsearchError) as refused:
        qsearch.run(folder / "study.yaml", data=other, storage=api_url, n_trials=1, progress=False)
    message = str(refused.value)
    assert message.startswith("data: study 'same' was run on other data")
    assert "\n" not in message
    assert qsearch.load(api_url, "same").rows == qsearch.load(api_url, "same").rows  # nothing was added
    assert len(qsearch.load(api_url, "same").rows) == 3


def test_load_refuses_other_data_than_the_study_was_run_on(two_studies):
    _, _, api_url, _ = two_studies
    digits = load_digits()
    with pytest.raises(qsearch.QsearchError, match=r"^data: study 'same' was run on other data"):
        qsearch.load(api_url, "same", data=(digits.data[:100], digits.target[:100]))
    same = qsearch.load(api_url, "same", data=(digits.data.astype(np.float32), digits.target))
    assert len(same.rows) == 3


def test_a_shell_reads_a_python_made_study_and_says_in_one_line_that_it_lacks_the_data(two_studies):
    folder, _, api_url, result = two_studies
    command = [sys.executable, "-m", "qsearch.cli"]
    best = subprocess.run([*command, "best", "--storage", api_url, "--study-name", "same", "--format", "json"],
                          capture_output=True, text=True, timeout=120)
    assert best.returncode == 0, best.stderr
    assert json.loads(best.stdout)["selected"] == result.selected.trial_number
    export = subprocess.run([*command, "export", "--storage", api_url, "--study-name", "same", "--trial",
                             str(result.selected.trial_number), "--out", str(folder / "shell")],
                            capture_output=True, text=True, timeout=120)
    assert export.returncode == 2
    fingerprint = result.recorded.spec["dataset"]["fingerprint"]
    assert export.stderr.strip().splitlines() == [
        f"qsearch: error: dataset.fingerprint: this study's data ({fingerprint[:12]}) was given in Python to "
        "another process; give it again, e.g. qsearch.load(storage, name, data=...)"]
    assert not (folder / "shell").exists()
