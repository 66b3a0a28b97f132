"""Writing and reading the results table through its own SQLAlchemy engine (Optuna keeps its own)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, create_engine, delete, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from qsearch.errors import InputError
from qsearch.results._row import ResultRow
from qsearch.results._table import Base, TrialResult


def engine_for(url: str) -> Engine:
    """An engine for an Optuna RDB storage URL (SQLite, PostgreSQL, MySQL/MariaDB)."""
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if parsed.drivername.startswith("sqlite"):
        kwargs = {"connect_args": {"timeout": 60}}
    return create_engine(url, **kwargs)


#: columns added after the table's first release: nullable, so older databases gain them in place
ADDED_COLUMNS = ("test_n", "validation_n", "device", "paired", "confirmed_drop", "confirmed_upper",
                 "confirmed_p_within", "confirmed_n", "confirmed_folds")


def ensure_table(engine: Engine) -> None:
    """Create the results table, or add the columns a database from an older qsearch lacks (rows keep NULL)."""
    Base.metadata.create_all(engine, checkfirst=True)
    present = {c["name"] for c in inspect(engine).get_columns(TrialResult.__tablename__)}
    for name in ADDED_COLUMNS:
        if name in present:
            continue
        column = TrialResult.__table__.columns[name]
        ddl = f"ALTER TABLE {TrialResult.__tablename__} ADD COLUMN {name} {column.type.compile(engine.dialect)}"
        try:
            with engine.begin() as connection:
                connection.execute(text(ddl))
        except SQLAlchemyError:  # another worker added it first
            if name not in {c["name"] for c in inspect(engine).get_columns(TrialResult.__tablename__)}:
                raise


def save_result(engine: Engine, row: ResultRow | TrialResult) -> None:
    """Insert or replace the row of (study, trial) — a retried write never duplicates a trial."""
    if isinstance(row, ResultRow):
        row = TrialResult.from_row(row)
    with Session(engine) as session, session.begin():
        session.execute(delete(TrialResult).where(TrialResult.study_name == row.study_name,
                                                  TrialResult.trial_number == row.trial_number))
        session.add(row)


def delete_results(engine: Engine, study_name: str) -> None:
    """Remove every results row of a study (the table is created first if it does not exist yet)."""
    ensure_table(engine)
    with Session(engine) as session, session.begin():
        session.execute(delete(TrialResult).where(TrialResult.study_name == study_name))


@dataclass(frozen=True)
class ResultFilter:
    """Filters of ``qsearch best`` / ``qsearch trials``; applied as bound parameters, never pasted into SQL."""

    max_accuracy_drop: float | None = None
    max_memory_kib: float | None = None
    states: Sequence[str] | None = None
    feasible_only: bool = False
    include_baseline: bool = True


SORTABLE = ("trial_number", "accuracy", "accuracy_drop", "memory_kib", "compression_ratio", "sops", "energy_nj",
            "timesteps", "duration_s")


def _check_sort(sort: str) -> None:
    if sort not in SORTABLE:
        raise InputError(f"--sort: {sort!r} is not a column; allowed: {', '.join(SORTABLE)}")


def filter_rows(rows: Sequence[ResultRow], flt: ResultFilter = ResultFilter(), sort: str = "trial_number",
                descending: bool = False) -> list[ResultRow]:
    """:func:`load_results`'s filters and order applied to rows in memory (storages without the SQL table).

    As in SQL, a comparison with a missing value (NULL) excludes the row, and missing values sort last.
    """
    _check_sort(sort)

    def keep(row: ResultRow) -> bool:
        drop, kib = row.accuracy_drop, row.memory_kib
        return ((flt.max_accuracy_drop is None or (drop is not None and drop <= flt.max_accuracy_drop))
                and (flt.max_memory_kib is None or (kib is not None and kib <= flt.max_memory_kib))
                and (not flt.states or row.state in {s.upper() for s in flt.states})
                and (not flt.feasible_only or bool(row.feasible))
                and (flt.include_baseline or not row.is_baseline))

    kept = sorted((r for r in rows if keep(r)), key=lambda r: r.trial_number)
    present = sorted((r for r in kept if getattr(r, sort) is not None), key=lambda r: getattr(r, sort),
                     reverse=descending)
    return present + [r for r in kept if getattr(r, sort) is None]


def load_results(engine: Engine, study_name: str, flt: ResultFilter = ResultFilter(),
                 sort: str = "trial_number", descending: bool = False) -> list[ResultRow]:
    _check_sort(sort)
    ensure_table(engine)  # a database written by an older qsearch lacks the newest columns
    query = select(TrialResult).where(TrialResult.study_name == study_name)
    if flt.max_accuracy_drop is not None:
        query = query.where(TrialResult.accuracy_drop <= flt.max_accuracy_drop)
    if flt.max_memory_kib is not None:
        query = query.where(TrialResult.memory_kib <= flt.max_memory_kib)
    if flt.states:
        query = query.where(TrialResult.state.in_([s.upper() for s in flt.states]))
    if flt.feasible_only:
        query = query.where(TrialResult.feasible.is_(True))
    if not flt.include_baseline:
        query = query.where(TrialResult.is_baseline.is_(False))
    column = getattr(TrialResult, sort)
    query = query.order_by(column.desc() if descending else column.asc(), TrialResult.trial_number.asc())
    with Session(engine) as session:
        return [row.to_row() for row in session.scalars(query)]


def study_names(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return list(session.scalars(select(TrialResult.study_name).distinct().order_by(TrialResult.study_name)))


