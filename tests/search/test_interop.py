"""Other tools read qsearch's studies: the Optuna CLI and optuna-dashboard (over HTTP, on a loopback port)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from study_fixtures import tiny_study_dict

from qsearch.execution import run_study
from qsearch.studyfile import parse_study

BIN = Path(sys.executable).parent
#: how each command is started where its console script is not installed (a package put on PYTHONPATH)
MODULE_FORMS = {"optuna": ["-c", "import sys; from optuna.cli import main; sys.exit(main())"],
                "qsearch": ["-m", "qsearch.cli"]}


def _command(name: str) -> list[str]:
    """The installed console script ``name`` next to this interpreter, else the same entry point by module."""
    script = BIN / name
    return [str(script)] if script.exists() else [sys.executable, *MODULE_FORMS[name]]


@pytest.fixture(scope="module")
def study_url(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('interop') / 'study.db'}"
    run_study(parse_study(tiny_study_dict(constraints={"max_accuracy_drop": None})), url, "interop", n_trials=2)
    return url


def test_optuna_cli_reads_qsearch_study(study_url):
    out = subprocess.run([*_command("optuna"), "best-trials", "--study-name", "interop", "--storage", study_url,
                          "-f", "json"], capture_output=True, text=True, timeout=120, check=True)
    trials = json.loads(out.stdout)
    assert trials and all("values" in t for t in trials)
    assert {"scheme", "weight_bits", "timesteps"} <= set(trials[0]["params"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get_json(url: str, deadline: float):
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return json.loads(response.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def test_dashboard_serves_study_with_metric_names(study_url):
    port = _free_port()
    server = subprocess.Popen([*_command("qsearch"), "dashboard", "--storage", study_url, "--port", str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        summaries = _get_json(f"http://127.0.0.1:{port}/api/studies", deadline)["study_summaries"]
        study = next(s for s in summaries if s["study_name"] == "interop")
        detail = _get_json(f"http://127.0.0.1:{port}/api/studies/{study['study_id']}", deadline)
        assert detail["objective_names"] == ["accuracy_pct", "memory_kib"]  # the dashboard labels axes with these
        attrs = {a["key"] for a in detail["trials"][0]["user_attrs"]}
        assert {"summary", "config", "memory_breakdown_kib", "accuracy_drop"} <= attrs  # qsearch's display view
    finally:
        server.terminate()
        server.wait(timeout=10)
