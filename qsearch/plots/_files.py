"""Writing figures as HTML that opens offline and, on request, PNG.

A single figure (:func:`write_pareto_html`) is one self-contained file, plotly.js embedded (4.8 MB). A folder of
figures (:func:`write_plots`) holds plotly.js once, as ``plotly.min.js`` beside the HTML files that load it, so
the folder (kept together) still opens offline without carrying plotly.js in every file.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import optuna
import plotly.graph_objects as go

from qsearch.errors import InputError
from qsearch.plots._pareto import PNG_HELP, axis_title, pareto_figure
from qsearch.plots._study_figures import hypervolume_figure, importance_figure
from qsearch.results import FrontSummary

#: plotly.js as :func:`write_plots` writes it beside the HTML files (the name plotly's ``"directory"`` loads)
PLOTLY_JS = "plotly.min.js"


@contextmanager
def _optuna_quiet() -> Iterator[None]:
    """Optuna's INFO lines off for the block (its plots create in-memory studies and announce each one)."""
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(max(level, optuna.logging.WARNING))
    try:
        yield
    finally:
        optuna.logging.set_verbosity(level)


def _write(fig: go.Figure, path: Path, png: bool, include_plotlyjs: bool | str = True) -> list[Path]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.write_html(str(path), include_plotlyjs=include_plotlyjs, full_html=True)
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
    """Write pareto.html, hypervolume.html and importance_<objective>.html into ``out_dir``; returns their paths
    (and the PNGs').

    Figures with too little data (see the ``*_figure`` functions) are skipped. Every figure is built before the
    first file is written. The HTML files load plotly.js from :data:`PLOTLY_JS` in the same folder, written once
    (replaced, so it matches the plotly that wrote the figures): the folder opens offline as a whole. With
    ``png`` a PNG goes next to each HTML file; an :class:`~qsearch.errors.InputError` saying what to install is
    raised when that is not possible. The summary's objectives are in the order of the study's values.
    """
    out = Path(out_dir)
    name = study.study_name
    split = accuracy_split or summary.accuracy_split
    figures = {"pareto.html": pareto_figure(summary, title=name, accuracy_split=accuracy_split)}
    with _optuna_quiet():
        hypervolume = hypervolume_figure(study, title=name)
        if hypervolume is not None:
            figures["hypervolume.html"] = hypervolume
        for index, objective in enumerate(summary.objectives):
            fig = importance_figure(study, index, axis_title(objective, split), title=name)
            if fig is not None:
                figures[f"importance_{objective}.html"] = fig
    out.mkdir(parents=True, exist_ok=True)
    from plotly.offline import get_plotlyjs

    (out / PLOTLY_JS).write_text(get_plotlyjs(), encoding="utf-8")
    written: list[Path] = []
    for filename, fig in figures.items():
        written += _write(fig, out / filename, png, include_plotlyjs="directory")
    return written
