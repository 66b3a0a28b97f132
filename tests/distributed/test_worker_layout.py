"""``--workers auto``: one process per usable core where the storage takes parallel writers, one on SQLite."""

from __future__ import annotations

import optuna
import pytest
from distributed_helpers import write_study
from optuna.trial import TrialState
from typer.testing import CliRunner

from qsearch.cli import app
from qsearch.execution import _launch as workers_module
from qsearch.execution._launch import (
    WORKER_INDEX_ENV,
    cgroup_cpu_limit,
    launch_environment,
    parse_workers,
    resolve_workers,
    worker_command,
)
from qsearch.record import make_storage


@pytest.mark.parametrize(("kind", "cores", "expected"), [
    ("sqlite", 8, 1), ("sqlite", 1, 1),
    ("rdb", 8, 8), ("rdb", 1, 1), ("journal", 2, 2), ("grpc", 4, 4),
])
def test_auto_is_one_worker_per_core_except_on_sqlite(kind, cores, expected):
    assert resolve_workers("auto", kind, cores=cores) == expected


def test_a_number_of_workers_is_taken_as_given():
    assert resolve_workers(3, "rdb", cores=8, inside_worker=True) == 3
    assert resolve_workers(2, "sqlite", cores=8) == 2  # refused later by check_parallel_storage, in one line


def test_a_worker_process_never_starts_workers_of_its_own():
    """A replica (QSEARCH_WORKER_INDEX=auto) or a worker of --workers resolves auto to itself alone."""
    assert not launch_environment({}).is_worker
    for index in ("0", "auto"):
        environment = launch_environment({WORKER_INDEX_ENV: index})
        assert environment.is_worker
        assert resolve_workers("auto", "rdb", cores=8, inside_worker=environment.is_worker) == 1


def test_workers_option_values():
    assert parse_workers("auto") == "auto" and parse_workers(" AUTO ") == "auto"
    assert parse_workers("4") == 4
    for bad in ("0", "-1", "two", "1.5", ""):
        with pytest.raises(ValueError, match="--workers"):
            parse_workers(bad)


def test_worker_command_pins_one_worker():
    command = worker_command("s.yaml", "journal:s.log", "s", 10)
    assert command[command.index("--workers") + 1] == "1"


def test_cgroup_quota_caps_the_cores(tmp_path):
    (tmp_path / "proc").write_text("0::/box\n")
    (tmp_path / "box").mkdir()
    limit = tmp_path / "box" / "cpu.max"
    limit.write_text("150000 100000\n")
    assert cgroup_cpu_limit(tmp_path, tmp_path / "proc") == 2  # 1.5 CPUs: two processes share them
    limit.write_text("max 100000\n")
    assert cgroup_cpu_limit(tmp_path, tmp_path / "proc") is None
    assert cgroup_cpu_limit(tmp_path, tmp_path / "missing") is None


def test_bad_workers_value_is_one_line(tmp_path):
    result = CliRunner().invoke(app, ["run", str(write_study(tmp_path)), "--workers", "many"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == ["qsearch: error: --workers: 'many' is not a positive number "
                                                  "or auto"]


def _spy_on_run_workers(monkeypatch, cores: int) -> list[int]:
    """Pretend this machine has ``cores`` usable cores; record how many workers the command starts."""
    started: list[int] = []
    real = workers_module.run_workers

    def spy(*args, **kwargs):
        started.append(args[2])
        return real(*args, **kwargs)

    monkeypatch.delenv(WORKER_INDEX_ENV, raising=False)
    monkeypatch.setattr(workers_module, "available_cores", lambda: cores)
    monkeypatch.setattr(workers_module, "run_workers", spy)
    return started


def test_default_run_on_a_journal_file_starts_one_worker_per_core(tmp_path, monkeypatch):
    started = _spy_on_run_workers(monkeypatch, cores=2)
    url = f"journal:{tmp_path / 'study.journal'}"
    result = CliRunner().invoke(app, ["run", str(write_study(tmp_path)), "--storage", url, "--total-trials", "6",
                                      "--no-report"])  # the front is read from a results table: SQL only
    assert result.exit_code == 0, result.output
    assert started == [2]
    study = optuna.load_study(study_name="synthetic", storage=make_storage(url, heartbeat_interval=None))
    assert len(study.get_trials(states=(TrialState.COMPLETE,))) == 6


def test_default_run_on_sqlite_stays_in_this_process(tmp_path, monkeypatch):
    started = _spy_on_run_workers(monkeypatch, cores=2)
    url = f"sqlite:///{tmp_path / 'study.db'}"
    result = CliRunner().invoke(app, ["run", str(write_study(tmp_path)), "--storage", url, "--total-trials", "4",
                                      "--quiet", "--plot", str(tmp_path / "front.html")])
    assert result.exit_code == 0, result.output
    assert started == [] and "Pareto front of" in result.output
    study = optuna.load_study(study_name="synthetic", storage=make_storage(url, heartbeat_interval=None))
    assert len(study.get_trials(states=(TrialState.COMPLETE,))) == 4
