"""examples/python_api.ipynb runs top to bottom in a real Jupyter kernel (nbclient + ipykernel) and ends with
the front and the pick of the study it made."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).parents[1] / "examples" / "python_api.ipynb"


def _text(cell) -> str:
    return "".join(output.get("text", "") + "".join(output.get("data", {}).get("text/plain", ""))
                   for output in cell.get("outputs", []))


def test_the_committed_notebook_has_no_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")


def test_the_example_notebook_runs_and_shows_the_front_and_the_pick(tmp_path):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
                   ).execute()
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert "float validation accuracy" in _text(code[1])
    assert "StudyResult('notebook-digits'" in _text(code[2])
    last = _text(code[-1])
    assert "front (trial, weight bits, KiB, drop pt): [(" in last
    selected = last.rsplit("selected:", 1)[1].strip()
    assert selected.isdigit()  # a model within the budget was picked
