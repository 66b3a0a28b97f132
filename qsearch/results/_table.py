"""The results table: one typed row per finished trial, in the same database as Optuna's own tables.

Optuna keeps parameters and values as generic key/value rows; this table has one column per quantity a user
filters or sorts by, so plain SQL answers questions like "the smallest network within 1 point of float".
Defined with SQLAlchemy 2.0; created on first use; works on SQLite, PostgreSQL and MySQL/MariaDB.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from qsearch.results._row import ResultRow
from qsearch.stops import StopReason

TABLE_NAME = "qsearch_results"


class Base(DeclarativeBase):
    pass


class TrialResult(Base):
    """A finished trial. Accuracy in percent; accuracy_drop in percentage points below the float baseline."""

    __tablename__ = TABLE_NAME
    __table_args__ = (UniqueConstraint("study_name", "trial_number", name="uq_qsearch_study_trial"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    study_name: Mapped[str] = mapped_column(String(512), index=True)
    trial_number: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))  # COMPLETE | PRUNED | FAIL
    reason: Mapped[str] = mapped_column(String(64), default=StopReason.COMPLETED)
    is_baseline: Mapped[bool] = mapped_column(Boolean, default=False)
    scheme: Mapped[str] = mapped_column(String(16))
    weight_bits: Mapped[str] = mapped_column(String(128))  # per layer, e.g. "4/4"
    max_weight_bits: Mapped[int] = mapped_column(Integer)
    membrane_bits: Mapped[int] = mapped_column(Integer)
    current_bits: Mapped[int] = mapped_column(Integer)
    param_bits: Mapped[int] = mapped_column(Integer)
    rounding: Mapped[str] = mapped_column(String(16))
    timesteps: Mapped[int] = mapped_column(Integer)
    sparsity: Mapped[float] = mapped_column(Float, default=0.0)  # mean over layers
    accuracy: Mapped[float | None] = mapped_column(Float, nullable=True)
    test_accuracy: Mapped[float | None] = mapped_column(Float, nullable=True)
    validation_accuracy: Mapped[float | None] = mapped_column(Float, nullable=True)
    test_n: Mapped[int | None] = mapped_column(Integer, nullable=True)  # samples behind test_accuracy
    validation_n: Mapped[int | None] = mapped_column(Integer, nullable=True)  # ... behind validation_accuracy
    accuracy_drop: Mapped[float | None] = mapped_column(Float, nullable=True)
    memory_bits: Mapped[int | None] = mapped_column(Integer, nullable=True)
    memory_kib: Mapped[float | None] = mapped_column(Float, nullable=True)
    compression_ratio: Mapped[float | None] = mapped_column(Float, nullable=True)
    sops: Mapped[float | None] = mapped_column(Float, nullable=True)
    energy_nj: Mapped[float | None] = mapped_column(Float, nullable=True)
    epochs_run: Mapped[int | None] = mapped_column(Integer, nullable=True)
    silent: Mapped[bool] = mapped_column(Boolean, default=False)
    feasible: Mapped[bool] = mapped_column(Boolean, default=False)
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    worker_host: Mapped[str] = mapped_column(String(255), default="")
    device: Mapped[str | None] = mapped_column(String(16), nullable=True)  # where the trial trained and ran
    config: Mapped[dict] = mapped_column(JSON)
    memory_breakdown: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    finished_at: Mapped[dt.datetime] = mapped_column(DateTime, default=lambda: dt.datetime.now(dt.UTC).replace(
        tzinfo=None))
    paired: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # per-sample correctness, packed bits
    confirmed_drop: Mapped[float | None] = mapped_column(Float, nullable=True)  # finalists: cross-validated drop
    confirmed_upper: Mapped[float | None] = mapped_column(Float, nullable=True)  # ... its upper bound
    confirmed_p_within: Mapped[float | None] = mapped_column(Float, nullable=True)  # ... P(drop <= budget)
    confirmed_n: Mapped[int | None] = mapped_column(Integer, nullable=True)  # ... samples behind it
    confirmed_folds: Mapped[int | None] = mapped_column(Integer, nullable=True)  # ... folds behind it

    def as_dict(self) -> dict:
        return {c.name: getattr(self, c.name) for c in self.__table__.columns if c.name != "id"}

    def to_row(self) -> ResultRow:
        """The immutable row the layers above SQL use."""
        return ResultRow(**self.as_dict())

    @classmethod
    def from_row(cls, row: ResultRow) -> TrialResult:
        values = row.as_dict()
        if values["finished_at"] is None:
            del values["finished_at"]  # the column's default: now
        return cls(**values)


COLUMNS = [c.name for c in TrialResult.__table__.columns
           if c.name not in ("id", "config", "memory_breakdown", "paired")]
