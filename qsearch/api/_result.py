"""What a study found, for Python: the same :class:`~qsearch.results.FrontSummary` as ``qsearch best``, the
trials as a DataFrame, the Pareto figure of ``pareto.html`` and the files of ``qsearch export``."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from qsearch.errors import InputError
from qsearch.record import RecordedStudy, mask_url
from qsearch.results import FrontSummary, ResultRow

if TYPE_CHECKING:
    import pandas
    import plotly.graph_objects as go


@dataclass(frozen=True)
class StudyResult:
    """A recorded study read once (:func:`qsearch.run` and :func:`qsearch.load` return one).

    ``selected``, ``knee``, ``baseline`` and ``front`` are typed rows (:class:`~qsearch.results.ResultRow`)
    of :attr:`summary`, the front summary every view of qsearch renders, so they name the trials
    ``qsearch best`` names.
    """

    recorded: RecordedStudy

    @property
    def name(self) -> str:
        return self.recorded.name

    @property
    def storage(self) -> str:
        """The storage URL, password masked."""
        return mask_url(self.recorded.url)

    @cached_property
    def summary(self) -> FrontSummary:
        """The front summary at the recorded budget and confidence (the one ``qsearch best`` prints)."""
        return self.recorded.summary()

    @property
    def selected(self) -> ResultRow | None:
        """The recommended model: the smallest within the accuracy budget at the study's confidence."""
        return self.summary.selected

    @property
    def knee(self) -> ResultRow | None:
        return self.summary.knee

    @property
    def baseline(self) -> ResultRow | None:
        """The float baseline every drop is measured against."""
        return self.summary.baseline

    @property
    def front(self) -> tuple[ResultRow, ...]:
        """The feasible Pareto front (finished, within the constraints, non-dominated), by trial number."""
        return self.summary.front

    @property
    def rows(self) -> tuple[ResultRow, ...]:
        """Every recorded trial, with the finalists' confirmation, by trial number."""
        return self.summary.rows

    def table(self) -> pandas.DataFrame:
        """Every trial as a DataFrame indexed by trial number: the results table's columns (those of
        ``qsearch trials --format json``) and ``note`` (selected, knee)."""
        import pandas

        from qsearch.report import record
        from qsearch.results import COLUMNS

        marks = self.summary.marks()
        records = [record(r, note=marks.get(r.trial_number, "")) for r in self.rows]
        columns = [*COLUMNS, "test_accuracy_se", "validation_accuracy_se", "note"]
        return pandas.DataFrame.from_records(records, columns=columns).set_index("trial_number")

    def figure(self) -> go.Figure:
        """The Pareto figure ``qsearch run`` writes as ``pareto.html`` (plotly; shows itself in Jupyter)."""
        from qsearch.plots import pareto_figure

        return pareto_figure(self.summary, title=f"qsearch study {self.name}",
                             accuracy_split=self.summary.accuracy_split)

    def export(self, out: str | Path, trial: int | None = None, *, artifacts: str | Path | None = None,
               retrain: bool = False) -> Path:
        """Write trial ``trial`` (default: the selected one) into folder ``out`` as ``qsearch export`` does:
        integer weight codes, ``network.json``, ``model_card.json`` and ``network.nir``; returns ``out``."""
        from qsearch.api._engine import raised_as_one_line
        from qsearch.export import check_out_folder, export_trial, writing_into

        with raised_as_one_line(self.recorded.url):
            number = trial if trial is not None else (self.selected.trial_number if self.selected else None)
            if number is None:
                raise InputError(f"trial: study {self.name!r} has no selected model; give the trial number")
            target = Path(out)
            check_out_folder(target, "out")
            with writing_into(target, "out"):
                return export_trial(self.recorded.url, self.name, number, target, recorded=self.recorded,
                                    artifact_dir=artifacts, retrain=retrain)

    def __repr__(self) -> str:
        selected = self.selected
        pick = ("no model selected" if selected is None else
                f"selected trial {selected.trial_number}: {selected.memory_kib:.2f} KiB, "
                f"{self.summary.accuracy_split} accuracy {selected.accuracy:.2f}% "
                f"(drop {selected.accuracy_drop:+.2f} pt)")
        return (f"StudyResult({self.name!r} in {self.storage}: {len(self.rows)} trials, {len(self.front)} on the "
                f"front; {pick})")


__all__ = ["StudyResult"]
