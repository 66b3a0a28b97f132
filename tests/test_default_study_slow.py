"""The default study end to end through the console script (slow: real float training, 150 trials)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TRIALS = 150  # seed 0 passes 8x within the budget (on validation) at trial 7, the ladder's qat w3/3 rung (9.8x)


@pytest.mark.slow
def test_default_study_prints_front_writes_plot_and_compresses_8x_within_1_point(tmp_path):
    qsearch = Path(sys.executable).parent / "qsearch"
    plot = tmp_path / "pareto.html"
    url = f"sqlite:///{tmp_path / 'q.db'}"
    out = subprocess.run([str(qsearch), "run", str(ROOT / "studies" / "digits.yaml"), "--storage", url,
                          "--n-trials", str(TRIALS), "--plot", str(plot), "--quiet"],
                         capture_output=True, text=True, timeout=1800, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "float baseline" in out.stdout and "Pareto front" in out.stdout
    assert plot.stat().st_size > 100_000 and "plotly" in plot.read_text()[:200_000].lower()
    rows = subprocess.run([str(qsearch), "trials", "--storage", url, "--study-name", "digits", "--format", "json"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    baseline = next(r for r in json.loads(rows.stdout) if r["is_baseline"])
    assert baseline["test_accuracy"] >= 95.0  # the float SNN the compression figures are measured against

    best = subprocess.run([str(qsearch), "best", "--storage", url, "--study-name", "digits", "--format", "json"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert best.returncode == 0, best.stderr
    front = json.loads(best.stdout)
    selected = next(t for t in front["trials"] if t["trial_number"] == front["selected"])
    # the headline: at least 8x less memory than float32 within 1 point of the float accuracy, selected on
    # validation (the drop the selection sees); its test drop is reported, not asserted (README: 3 seeds)
    assert selected["accuracy_drop"] <= 1.0 and selected["compression_ratio"] >= 8.0, selected
    assert front["accuracy_split"] == "validation" and front["selected_on_test"]["test_n"] == 360
