"""One read of a recorded study: the study, its recorded study file, every results row and the reference.

Every view of a finished study (``run``'s end report, ``best``, ``trials``, ``plot``, the dashboard note and
figure, ``export``'s model card) renders a :class:`RecordedStudy` and its :class:`~qsearch.results.FrontSummary`
instead of opening the storage again: one storage per process, and every view names the same trials.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import optuna

from qsearch.errors import InputError
from qsearch.record import keys
from qsearch.record._confirmations import confirmed_drops, protocol_id
from qsearch.record._results_rows import study_rows
from qsearch.record._results_table import storage_engine
from qsearch.record._storage import check_readable, make_storage, mask_study_file, mask_url, storage_kind
from qsearch.record.optuna_compat import study_storage
from qsearch.results import (
    POINT_ESTIMATE,
    FrontSummary,
    PairedDrop,
    ResultFilter,
    ResultRow,
    filter_rows,
    finalist_rows,
    load_results,
    paired_split_drop,
    summarize,
    test_levels,
)
from qsearch.studyfile import ConstraintsSection, SelectionSection, StudyFile, parse_study, with_settings


def _schema_default(name: str) -> Any:
    """A study-file field's default, from the schema itself (a study made elsewhere has no recorded file)."""
    return StudyFile.model_fields[name].get_default(call_default_factory=True)


@dataclass(frozen=True)
class RecordedStudy:
    """What a study holds, read once."""

    url: str
    name: str
    study: optuna.Study
    #: the recorded study file as JSON, storage password masked, the tuned baseline settings applied (what the
    #: trials ran with); {} if made elsewhere
    spec: dict[str, Any]
    rows: tuple[ResultRow, ...]  # every results row, by trial number
    reference: dict[str, Any] | None  # the non-spiking reference the float baseline recorded
    study_attrs: dict[str, Any] = field(default_factory=dict)  # the study's user attributes, read with it

    @property
    def baseline_tuning(self) -> dict[str, Any] | None:
        """How the float baseline's settings were settled (``execution._baseline``), if the study did."""
        value = self.study_attrs.get(keys.BASELINE_TUNING)
        return value if isinstance(value, dict) else None

    @property
    def baseline_check(self) -> dict[str, Any] | None:
        """The float SNN against the non-spiking reference, paired on validation (``trial.BaselineCheck``)."""
        value = self.study_attrs.get(keys.BASELINE_CHECK)
        return value if isinstance(value, dict) else None

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

    @property
    def selection(self) -> SelectionSection:
        """The recorded selection settings (a study recorded before them: the defaults)."""
        return SelectionSection.model_validate(self.spec.get("selection", {}))

    @property
    def fold_seed(self) -> int:
        """The seed the confirmation's folds are cut with: the dataset's split seed."""
        return int(self.spec.get("dataset", {}).get("seed", 0))

    @property
    def protocol(self) -> str:
        """The confirmation protocol of the recorded settings (:mod:`qsearch.record._confirmations`)."""
        return protocol_id(self.selection.folds, self.fold_seed)

    @property
    def confirmable(self) -> bool:
        """Whether finalists can be confirmed by retraining: a qsearch-trained SNN (not an imported network,
        which cannot be retrained, nor the synthetic test double, which has no data)."""
        model_kind = self.spec.get("model", {}).get("kind", "mlp")
        return bool(self.spec) and self.spec.get("trial_runner", "snn") == "snn" and model_kind in ("mlp", "conv")

    def summary(self, max_accuracy_drop: float | None = None,
                rows: tuple[ResultRow, ...] | list[ResultRow] | None = None,
                confidence: float | None = None) -> FrontSummary:
        """The front summary of ``rows`` (default: all); a given budget or confidence replaces the recorded one.

        The pick uses the strongest evidence the study holds for its finalists: their cross-validated
        confirmation when every finalist has one, else their paired validation drops, else (a study recorded
        before paired evidence) the point estimate.
        """
        budget = max_accuracy_drop if max_accuracy_drop is not None else self.budget
        rows = self.rows if rows is None else tuple(rows)
        confidence = self.selection.confidence if confidence is None else confidence
        point = summarize(rows, self.objectives, budget, accuracy_split=self.accuracy_split,
                          reference=self.reference, baseline_check=self.baseline_check,
                          baseline_tuning=self.baseline_tuning)
        if confidence == POINT_ESTIMATE or budget is None:
            return point
        # the study's finalists, whatever rows a view shows (a filtered table must not change the evidence)
        everything = point if rows == self.rows else summarize(self.rows, self.objectives, budget)
        finalists = self.finalists(everything, budget)
        evidence, kind = self.evidence(finalists, point.baseline or everything.baseline)
        confirmed = evidence if kind == "cross-validation" else {}
        levels = test_levels(confirmed, budget, confidence, self.selection.multiplicity)
        rows = tuple(with_confirmation(r, confirmed.get(r.trial_number), self.selection.folds,
                                       levels.get(r.trial_number, confidence), budget) for r in rows)
        return summarize(rows, self.objectives, budget, accuracy_split=self.accuracy_split,
                         reference=self.reference, baseline_check=self.baseline_check,
                         baseline_tuning=self.baseline_tuning, confidence=confidence, evidence=evidence,
                         evidence_kind=kind, folds=self.selection.folds, multiplicity=self.selection.multiplicity)

    def finalists(self, point: FrontSummary, budget: float) -> list[ResultRow]:
        """The front trials the pick chooses among (and a confirmation measures)."""
        sel = self.selection
        max_kib = self.spec.get("constraints", {}).get("max_memory_kib")
        return finalist_rows(point.rows, budget, sel.margin, sel.finalists, self.objectives, max_kib)

    def evidence(self, finalists: list[ResultRow],
                 baseline: ResultRow | None) -> tuple[dict[int, PairedDrop], str]:
        """Paired drops of ``finalists`` and their kind: "cross-validation", "validation" or "none"."""
        if not finalists or baseline is None:
            return {}, "none"
        if self.selection.confirm and self.confirmable:
            confirmed = confirmed_drops(self.study_attrs, self.protocol, self.selection.folds)
            if all(r.trial_number in confirmed for r in finalists):
                return {r.trial_number: confirmed[r.trial_number] for r in finalists}, "cross-validation"
        drops = {r.trial_number: paired_split_drop(baseline, r, self.accuracy_split) for r in finalists}
        if any(d is None for d in drops.values()):
            return {}, "none"
        return {k: d for k, d in drops.items() if d is not None}, "validation"


def with_confirmation(row: ResultRow, drop: PairedDrop | None, folds: int, level: float,
                       budget: float) -> ResultRow:
    """``row`` with its confirmation columns (the results table's projection of the study's confirmation);
    ``level``: the one-sided level of the upper bound (the level the finalist's Holm step tested it at)."""
    if drop is None:  # not a finalist (now): no confirmation shown, even if an earlier finalist set had one
        if row.confirmed_drop is None:
            return row
        return replace(row, confirmed_drop=None, confirmed_upper=None, confirmed_p_within=None, confirmed_n=None,
                       confirmed_folds=None)
    return replace(row, confirmed_drop=drop.drop_pt, confirmed_upper=drop.score_upper_bound(level),
                   confirmed_p_within=drop.prob_within_budget(budget), confirmed_n=drop.n, confirmed_folds=folds)


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
    tuning = attrs.get(keys.BASELINE_TUNING)
    if isinstance(spec, dict) and isinstance(tuning, dict):
        spec = with_settings(spec, tuning.get("settings", {}))
    return RecordedStudy(url=url, name=name, study=study,
                         spec=mask_study_file(spec) if isinstance(spec, dict) else {},
                         rows=tuple(sorted(_rows(url, study, name), key=lambda r: r.trial_number)),
                         reference=attrs.get(keys.REFERENCE), study_attrs=dict(attrs))


def read_results(url: str, study_name: str, flt: ResultFilter = ResultFilter(), sort: str = "trial_number",
                 descending: bool = False) -> list[ResultRow]:
    """The study's results rows, filtered and sorted (:func:`read_study`'s rows; missing values sort last)."""
    return filter_rows(read_study(url, study_name).rows, flt, sort, descending)
