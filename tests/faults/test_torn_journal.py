"""A journal whose last record was cut short, or that holds a bad line, stays readable and appendable, with
nothing it held lost (what a full disk or a killed writer leaves)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from study_fixtures import tiny_study_dict

pytestmark = pytest.mark.faults


def _qsearch(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qsearch.cli", *args], capture_output=True, text=True, timeout=300)


def _trials(journal: Path) -> list[dict]:
    done = _qsearch("trials", "--storage", f"journal:{journal}", "--study-name", "tiny", "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _run(study: Path, journal: Path, n: int, *extra: str) -> subprocess.CompletedProcess:
    return _qsearch("run", str(study), "--storage", f"journal:{journal}", "--n-trials", str(n), "--quiet",
                    "--no-report", "--workers", "1", *extra)


@pytest.fixture
def journal(tmp_path: Path) -> tuple[Path, Path, list[dict]]:
    study = tmp_path / "tiny.yaml"
    study.write_text(yaml.safe_dump(tiny_study_dict(trial_runner="synthetic")))
    path = tmp_path / "study.journal"
    done = _run(study, path, 4)
    assert done.returncode == 0, done.stderr
    rows = _trials(path)
    assert [r["state"] for r in rows] == ["COMPLETE"] * 4
    return study, path, rows


def _numbers(rows: list[dict], state: str = "COMPLETE") -> list[int]:
    return [r["trial_number"] for r in rows if r["state"] == state]


def test_a_torn_tail_is_moved_aside_before_the_next_run_appends(journal):
    study, path, before = journal
    data = path.read_bytes()
    torn = data[:-7]  # the last record cut short, as a write that hit a full disk leaves it
    path.write_bytes(torn)
    # the cut record (trial 3 finishing) never completed: the trials finished before it still read
    assert _numbers(_trials(path)) == _numbers(before)[:-1]
    done = _run(study, path, 2)  # trial 3 stays RUNNING (a journal has no heartbeat) and takes one of the two
    assert done.returncode == 0, done.stderr
    assert "torn record" in done.stderr and ".torn" in done.stderr
    after = _trials(path)
    assert _numbers(after) == [*_numbers(before)[:-1], 4], after  # trial 4 appended after the repair
    kept = Path(f"{path}.torn").read_bytes()
    assert kept.strip() and torn.endswith(kept.strip())  # the cut bytes are kept, not deleted
    assert path.read_bytes().startswith(torn[: torn.rfind(b"\n") + 1])  # every whole record is where it was


def test_a_torn_record_that_a_later_append_landed_on_is_read_past(journal):
    """What an older qsearch left: the next append wrote its record onto the torn line."""
    study, path, before = journal
    lines = path.read_bytes().splitlines(keepends=True)
    middle = len(lines) // 2
    lines[middle] = b'{"op_code":5,"worker_id":"x","trial_id":1,"us' + lines[middle]
    path.write_bytes(b"".join(lines))
    done = _qsearch("trials", "--storage", f"journal:{path}", "--study-name", "tiny", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert _numbers(json.loads(done.stdout)) == _numbers(before)
    assert f"line {middle + 1} holds a torn record" in done.stderr
    assert _run(study, path, 1).returncode == 0
    assert len(_numbers(_trials(path))) == 5


def test_a_line_that_is_no_record_is_skipped_and_named(journal):
    study, path, before = journal
    lines = path.read_bytes().splitlines(keepends=True)
    lines.insert(3, b"\x00\x00garbage from a crashed disk\n")
    path.write_bytes(b"".join(lines))
    for command in ("trials", "best"):
        done = _qsearch(command, "--storage", f"journal:{path}", "--study-name", "tiny", "--format", "json")
        assert done.returncode == 0, done.stderr
        assert done.stderr.count("line 4 holds no record; skipped") == 1
    assert _numbers(_trials(path)) == _numbers(before)
    done = _run(study, path, 1)
    assert done.returncode == 0, done.stderr
    assert len(_numbers(_trials(path))) == 5
