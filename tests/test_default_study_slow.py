"""The default study end to end through the console script (slow: real 20-epoch float training)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_default_study_prints_front_and_writes_plot(tmp_path):
    qsearch = Path(sys.executable).parent / "qsearch"
    plot = tmp_path / "pareto.html"
    out = subprocess.run([str(qsearch), "run", str(ROOT / "studies" / "digits.yaml"), "--storage",
                          f"sqlite:///{tmp_path / 'q.db'}", "--n-trials", "8", "--plot", str(plot), "--quiet"],
                         capture_output=True, text=True, timeout=1200, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "float baseline" in out.stdout and "Pareto front" in out.stdout
    assert plot.stat().st_size > 100_000 and "plotly" in plot.read_text()[:200_000].lower()
    baseline = next(line for line in out.stdout.splitlines() if "float baseline" in line)
    accuracy = float(baseline.split("│")[10])
    assert accuracy >= 95.0  # the float SNN the compression figures are measured against
