"""A storage that fails under a running study — its database dropped or renamed, a full disk, a read-only
SQLite file — ends ``qsearch run`` with one line naming it (exit 2), the password masked; the interrupted
trial is re-queued by the next run, which says once that it waits for the dead trial's grace period."""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

pytestmark = pytest.mark.faults

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
MARIADB = "mysql+pymysql://root@127.0.0.1:3306/test"
HEARTBEAT = ("--heartbeat-interval", "1", "--grace-period", "3")


def _study(tmp_path: Path, sleep_s: float) -> Path:
    path = tmp_path / "synthetic.yaml"
    path.write_text(yaml.safe_dump({
        "name": "synthetic", "n_trials": 3, "trial_runner": "synthetic", "synthetic_sleep_s": sleep_s,
        "model": {"hidden": [32]}, "training": {"epochs": 2, "qat_epochs": 1},
        "sampler": {"kind": "random", "seed": 0}}))
    return path


def _command(study: Path, url: str, n: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "qsearch.cli", "run", str(study), "--storage", url, "--n-trials", str(n),
            "--quiet", "--no-report", "--workers", "1", "--allow-changed-study-file", *extra]


def _reachable(url: str) -> bool:
    try:
        engine = sa.create_engine(url)
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001 - no such service on this machine
        return False


@pytest.fixture
def scratch_database(request) -> Iterator[tuple[str, str, sa.Engine]]:
    """(admin URL, scratch URL with a password the server ignores, admin engine) on a new database."""
    admin_url = request.param
    if not _reachable(admin_url):
        pytest.skip(f"{admin_url} is not reachable")
    name = f"qs_fault_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f"CREATE DATABASE {name}"))
    url = sa.engine.make_url(admin_url).set(database=name)
    if admin_url.startswith("postgresql"):  # trust authentication ignores it; MariaDB's root would refuse it
        url = url.set(password="s3cret")
    yield url.render_as_string(hide_password=False), name, admin
    with admin.connect() as c:
        for leftover in (name, f"{name}_moved"):
            force = " WITH (FORCE)" if admin_url.startswith("postgresql") else ""
            c.execute(sa.text(f"DROP DATABASE IF EXISTS {leftover}{force}"))
    admin.dispose()


def _wait_for_a_running_trial(url: str, process: subprocess.Popen, after: int = 1) -> None:
    """Until trial ``after`` or later (past the baseline) runs."""
    engine = sa.create_engine(url)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()[1]
            try:
                with engine.connect() as c:
                    rows = c.execute(sa.text("SELECT number, state FROM trials")).all()
                if any(n >= after and str(s).endswith("RUNNING") for n, s in rows):
                    time.sleep(0.5)  # into the trial body
                    return
            except sa.exc.DBAPIError:
                pass  # the tables are not there yet
            time.sleep(0.2)
    finally:
        engine.dispose()
    raise AssertionError("no trial started in time")


def _one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.mark.parametrize("scratch_database", [POSTGRES, MARIADB], indirect=True, ids=["postgresql", "mariadb"])
def test_a_database_dropped_during_a_trial_is_one_line(tmp_path, scratch_database):
    url, name, admin = scratch_database
    run = subprocess.Popen(_command(_study(tmp_path, 3.0), url, 3, *HEARTBEAT), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    _wait_for_a_running_trial(url, run)
    with admin.connect() as c:
        force = " WITH (FORCE)" if url.startswith("postgresql") else ""
        c.execute(sa.text(f"DROP DATABASE {name}{force}"))
    _, stderr = run.communicate(timeout=120)
    assert run.returncode == 2, stderr
    line = _one_line(stderr)
    masked = sa.engine.make_url(url).render_as_string(hide_password=True)
    assert line.startswith("qsearch: error: storage: ") and line.endswith(f"({masked})"), line
    assert name in line and "s3cret" not in stderr
    if url.startswith("postgresql"):
        assert f'database "{name}" does not exist' in line


@pytest.mark.parametrize("scratch_database", [POSTGRES], indirect=True, ids=["postgresql"])
def test_a_renamed_database_keeps_the_interrupted_trial_for_the_next_run(tmp_path, scratch_database):
    url, name, admin = scratch_database
    study = _study(tmp_path, 3.0)
    run = subprocess.Popen(_command(study, url, 3, *HEARTBEAT), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    _wait_for_a_running_trial(url, run)
    with admin.connect() as c:
        c.execute(sa.text(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false"))
        c.execute(sa.text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
        c.execute(sa.text(f"ALTER DATABASE {name} RENAME TO {name}_moved"))
        c.execute(sa.text(f"ALTER DATABASE {name}_moved ALLOW_CONNECTIONS true"))
    _, stderr = run.communicate(timeout=120)
    assert run.returncode == 2, stderr
    line = _one_line(stderr)
    assert line.startswith("qsearch: error: storage: database") and name in line and "s3cret" not in line, line

    moved = sa.engine.make_url(url).set(database=f"{name}_moved").render_as_string(hide_password=False)
    rerun = subprocess.run(_command(study, moved, 1, *HEARTBEAT), capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    states = _states(moved)
    assert "RUNNING" not in states.values() and "WAITING" not in states.values(), states
    assert list(states.values()).count("FAIL") == 1  # the interrupted trial, failed and re-queued: it ran again


def _states(url: str) -> dict[int, str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as c:
            return {n: str(s).rsplit(".", 1)[-1] for n, s in c.execute(sa.text("SELECT number, state FROM trials"))}
    finally:
        engine.dispose()


def _limit_file_size(size: int):
    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    return limit


def test_sqlite_at_its_size_limit_is_one_line_and_the_next_run_requeues_the_trial(tmp_path):
    """``ulimit -f``: every write past the limit fails as on a full disk (SQLite: "disk I/O error")."""
    study, db = _study(tmp_path, 0.2), tmp_path / "s.db"
    url = f"sqlite:///{db}"
    assert subprocess.run(_command(study, url, 1), capture_output=True).returncode == 0
    full = subprocess.run(_command(study, url, 20, *HEARTBEAT), capture_output=True, text=True, timeout=300,
                          preexec_fn=_limit_file_size(db.stat().st_size + 2100))
    assert full.returncode == 2, full.stderr
    line = _one_line(full.stderr)
    assert line.startswith(f"qsearch: error: storage: SQLite file {db}: cannot write (disk I/O error"), line
    assert "file-size limit" in line
    assert len(_sqlite_states(db)) < 21

    rerun = subprocess.run(_command(study, url, 1, *HEARTBEAT), capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert "RUNNING" not in _sqlite_states(db).values()


def _sqlite_states(db: Path) -> dict[int, str]:
    with sqlite3.connect(db) as c:
        return dict(c.execute("SELECT number, state FROM trials").fetchall())


def test_sqlite_on_a_full_disk_names_the_file_and_the_full_disk(tmp_path):
    """SQLite's own "database or disk is full" (SQLITE_FULL), made by capping the file's pages."""
    study, db = _study(tmp_path, 0.2), tmp_path / "s.db"
    url = f"sqlite:///{db}"
    assert subprocess.run(_command(study, url, 1), capture_output=True).returncode == 0
    pages = sqlite3.connect(db).execute("PRAGMA page_count").fetchone()[0]
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(
        "import sqlalchemy\n"
        "@sqlalchemy.event.listens_for(sqlalchemy.Engine, 'connect')\n"
        "def _cap(dbapi_connection, record):\n"
        f"    if 'sqlite' in type(dbapi_connection).__module__:\n"
        f"        dbapi_connection.execute('PRAGMA max_page_count = {pages + 1}')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(hook), os.environ.get("PYTHONPATH", "")])}
    full = subprocess.run(_command(study, url, 20, *HEARTBEAT), capture_output=True, text=True, timeout=300,
                          env=env)
    assert full.returncode == 2, full.stderr
    line = _one_line(full.stderr)
    assert line == (f"qsearch: error: storage: SQLite file {db}: the disk is full (database or disk is full); "
                    "free space and run again"), line


def _without_root_override() -> None:
    """Root writes any file: drop CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH (PR_CAPBSET_DROP) for the child."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):
        if libc.prctl(24, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


@pytest.mark.parametrize("what", ["file", "folder"])
def test_a_read_only_sqlite_file_is_one_line(tmp_path, what):
    study, folder = _study(tmp_path, 0.0), tmp_path / "ro"
    folder.mkdir()
    db = folder / "s.db"
    url = f"sqlite:///{db}"
    assert subprocess.run(_command(study, url, 1), capture_output=True).returncode == 0
    before = db.read_bytes()
    (db if what == "file" else folder).chmod(0o444 if what == "file" else 0o555)
    try:
        done = subprocess.run(_command(study, url, 1), capture_output=True, text=True, timeout=120,
                              preexec_fn=_without_root_override if os.geteuid() == 0 else None)
    finally:
        db.chmod(0o644)
        folder.chmod(0o755)
    assert done.returncode == 2, done.stderr
    line = _one_line(done.stderr)
    assert line.startswith(f"qsearch: error: --storage: SQLite file {db} is read-only"), line
    assert db.read_bytes() == before


def test_a_rerun_after_kill_9_says_once_that_it_waits_for_the_grace_period(tmp_path):
    study, db = _study(tmp_path, 30.0), tmp_path / "s.db"
    url = f"sqlite:///{db}"
    beat = ("--heartbeat-interval", "1", "--grace-period", "6")
    victim = subprocess.Popen(_command(study, url, 1, *beat), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for_a_running_trial(url, victim, after=0)
    victim.kill()
    victim.wait(timeout=10)
    rerun = subprocess.run(_command(_study(tmp_path, 0.0), url, 1, *beat), capture_output=True, text=True,
                           timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    waits = [line for line in rerun.stderr.splitlines() if "waiting up to" in line]
    assert len(waits) == 1, rerun.stderr
    assert waits[0].startswith("qsearch: waiting up to ") and "for trial 0's worker (no heartbeat for " in waits[0]
    assert waits[0].endswith("--grace-period 6 s) before re-queueing it"), waits[0]
    states = _sqlite_states(db)
    assert states[0] == "FAIL" and "COMPLETE" in states.values() and "RUNNING" not in states.values(), states
