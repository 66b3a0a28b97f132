"""Writing figures: self-contained HTML (plotly.js embedded, so the files open offline) and, on request, PNG."""

from __future__ import annotations

from pathlib import Path

import optuna
import plotly.graph_objects as go

from qsearch.errors import InputError
from qsearch.plots._pareto import PNG_HELP, axis_title, pareto_figure
from qsearch.plots._study_figures import hypervolume_figure, importance_figure
from qsearch.results import FrontSummary


def _write(fig: go.Figure, path: Path, png: bool) -> list[Path]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.write_html(str(path), include_plotlyjs=True, full_html=True)
    written = [path]
    if png:
        image = path.with_suffix(".png")
        try:
            fig.write_image(str(image))
        except Exception as error:  # kaleido missing, no Chromium, ...: all the same to the user
            reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise InputError(f"{PNG_HELP} ({reason})") from error
        written.append(image)
    return written


def write_pareto_html(summary: FrontSummary, path: str | Path = "pareto.html", title: str | None = None, *,
                      accuracy_split: str | None = None, png: bool = False) -> Path:
    """Write the Pareto figure as a self-contained HTML file (opens offline); returns its path."""
    fig = pareto_figure(summary, title=title, accuracy_split=accuracy_split)
    return _write(fig, Path(path), png)[0]


def write_plots(study: optuna.Study, summary: FrontSummary, out_dir: str | Path, png: bool = False, *,
                accuracy_split: str | None = None) -> list[Path]:
    """Write pareto.html, hypervolume.html and importance_<objective>.html into ``out_dir``.

    Figures with too little data (see the ``*_figure`` functions) are skipped. All HTML files are
    self-contained. With ``png`` a PNG goes next to each HTML file; a RuntimeError saying what to install is
    raised when that is not possible. The summary's objectives are in the order of the study's values.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    name = study.study_name
    pareto = pareto_figure(summary, title=name, accuracy_split=accuracy_split)
    written = _write(pareto, out / "pareto.html", png)
    hypervolume = hypervolume_figure(study, title=name)
    if hypervolume is not None:
        written += _write(hypervolume, out / "hypervolume.html", png)
    for index, objective in enumerate(summary.objectives):
        fig = importance_figure(study, index, axis_title(objective, accuracy_split or summary.accuracy_split),
                                title=name)
        if fig is not None:
            written += _write(fig, out / f"importance_{objective}.html", png)
    return written
