"""Eight processes started at the same instant on a brand-new database: the schema set-up (Optuna's tables
and the results table) takes the database's schema lock, so none fails, and the study ends with exactly the
requested trials. Each round gets a new, uniquely named database, dropped afterwards."""

from __future__ import annotations

import multiprocessing
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import optuna
import pytest
import sqlalchemy as sa
from distributed_helpers import SERVICE_URLS, synthetic_study_dict
from optuna.trial import TrialState

from qsearch.execution import RunSettings, execute
from qsearch.record import make_storage
from qsearch.studyfile import parse_study

PROCESSES = 8
TOTAL = 8
ROUNDS = 5


@contextmanager
def fresh_database(url: str) -> Iterator[str]:
    name = f"qs_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f"CREATE DATABASE {name}"))
    try:
        yield str(sa.engine.make_url(url).set(database=name).render_as_string(hide_password=False))
    finally:
        with admin.connect() as connection:
            force = " WITH (FORCE)" if url.startswith("postgresql") else ""
            connection.execute(sa.text(f"DROP DATABASE {name}{force}"))
        admin.dispose()


def _worker(url: str, index: int, barrier, results) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        barrier.wait(timeout=60)
        execute(parse_study(synthetic_study_dict(0.0)), RunSettings(url, "race", 0, total_trials=TOTAL,
                                                                     timeout=120, worker_index=index))
        results.put((index, "ok"))
    except BaseException as error:  # noqa: BLE001 - reported to the test
        results.put((index, f"{type(error).__name__}: {error}"))


@pytest.mark.services
@pytest.mark.slow  # 5 rounds x 8 processes: ~30 s per round on the loaded test machine
@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_eight_processes_at_once_on_a_new_database(backend):
    context = multiprocessing.get_context("fork")
    for _ in range(ROUNDS):
        with fresh_database(SERVICE_URLS[backend]) as url:
            barrier, results = context.Barrier(PROCESSES), context.Queue()
            processes = [context.Process(target=_worker, args=(url, i, barrier, results)) for i in range(PROCESSES)]
            for p in processes:
                p.start()
            outcomes = [results.get(timeout=180) for _ in processes]
            for p in processes:
                p.join(timeout=30)
            assert all(text == "ok" for _, text in outcomes), outcomes
            study = optuna.load_study(study_name="race", storage=make_storage(url, heartbeat_interval=None))
            states = [t.state for t in study.get_trials(deepcopy=False)]
            assert states.count(TrialState.COMPLETE) == TOTAL
            assert TrialState.RUNNING not in states and TrialState.WAITING not in states
