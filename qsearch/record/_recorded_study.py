"""One read of a recorded study: the study, its recorded study file, every results row and the reference.

Every view of a finished study (``run``'s end report, ``best``, ``trials``, ``plot``, the dashboard note and
figure, ``export``'s model card) renders a :class:`RecordedStudy` and its :class:`~qsearch.results.FrontSummary`
instead of opening the storage again: one storage per process, and every view names the same trials.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import optuna

from qsearch.errors import InputError
from qsearch.record import keys
from qsearch.record._results_rows import study_rows
from qsearch.record._results_table import storage_engine
from qsearch.record._storage import check_readable, make_storage, mask_study_file, mask_url, storage_kind
from qsearch.record.optuna_compat import study_storage
from qsearch.results import FrontSummary, ResultFilter, ResultRow, filter_rows, load_results, summarize
from qsearch.studyfile import ConstraintsSection, StudyFile, parse_study


def _schema_default(name: str) -> Any:
    """A study-file field's default, from the schema itself (a study made elsewhere has no recorded file)."""
    return StudyFile.model_fields[name].get_default(call_default_factory=True)


@dataclass(frozen=True)
class RecordedStudy:
    """What a study holds, read once."""

    url: str
    name: str
    study: optuna.Study
    spec: dict[str, Any]  # the recorded study file as JSON, storage password masked; {} if made elsewhere
    rows: tuple[ResultRow, ...]  # every results row, by trial number
    reference: dict[str, Any] | None  # the non-spiking reference the float baseline recorded

    @property
    def objectives(self) -> list[str]:
        return list(self.spec.get("objectives", _schema_default("objectives")))

    @property
    def budget(self) -> float | None:
        return self.spec.get("constraints", {}).get("max_accuracy_drop", ConstraintsSection().max_accuracy_drop)

    @property
    def accuracy_split(self) -> str:
        return str(self.spec.get("accuracy_split", _schema_default("accuracy_split")))

    def study_file(self) -> StudyFile:
        """The recorded study file, parsed (InputError for a study qsearch did not create)."""
        if not self.spec:
            raise InputError(f"--study-name: study {self.name!r} holds no study file (not created by qsearch)")
        return parse_study(self.spec, f"study {self.name!r}")

    def summary(self, max_accuracy_drop: float | None = None,
                rows: tuple[ResultRow, ...] | list[ResultRow] | None = None) -> FrontSummary:
        """The front summary of ``rows`` (default: all); a given budget replaces the recorded one."""
        budget = max_accuracy_drop if max_accuracy_drop is not None else self.budget
        return summarize(self.rows if rows is None else rows, self.objectives, budget,
                         accuracy_split=self.accuracy_split, reference=self.reference)


def _rows(url: str, study: optuna.Study, name: str) -> list[ResultRow]:
    """The results table's rows on an SQL storage (read through the storage's own engine), else the rows
    rebuilt from the trials' user attributes."""
    if storage_kind(url) in ("sqlite", "rdb"):
        return load_results(storage_engine(url, study_storage(study)), name)
    return study_rows(study, name)


def read_study(url: str, name: str, *, study: optuna.Study | None = None) -> RecordedStudy:
    """Read study ``name`` at ``url`` once (``study``: one this process already opened)."""
    if study is None:
        if storage_kind(url) == "sqlite":
            check_readable(url)  # a mistyped SQLite path must not become a new, empty database
        storage = make_storage(url, heartbeat_interval=None)
        try:
            study = optuna.load_study(study_name=name, storage=storage)
        except KeyError:
            known = ", ".join(sorted(optuna.get_all_study_names(storage))[:10]) or "none"
            raise InputError(f"--study-name: no study {name!r} in {mask_url(url)}; studies there: {known}") \
                from None
    attrs = study.user_attrs
    spec = attrs.get(keys.STUDY_FILE)
    return RecordedStudy(url=url, name=name, study=study,
                         spec=mask_study_file(spec) if isinstance(spec, dict) else {},
                         rows=tuple(sorted(_rows(url, study, name), key=lambda r: r.trial_number)),
                         reference=attrs.get(keys.REFERENCE))


def read_results(url: str, study_name: str, flt: ResultFilter = ResultFilter(), sort: str = "trial_number",
                 descending: bool = False) -> list[ResultRow]:
    """The study's results rows, filtered and sorted (:func:`read_study`'s rows; missing values sort last)."""
    return filter_rows(read_study(url, study_name).rows, flt, sort, descending)
