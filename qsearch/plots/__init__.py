"""Figures of a study: the Pareto front of result rows, hypervolume history and parameter importances.

The ``*_figure`` functions are pure: they build and return a :class:`plotly.graph_objects.Figure` (or
``None`` when there is too little to plot) and write nothing. ``write_pareto_html`` writes one self-contained
HTML file (plotly.js embedded); ``write_plots`` writes a folder of figures that share one local ``plotly.min.js``.
Both open offline and, on request, write PNG images too.

The Pareto figure draws a :class:`qsearch.results.FrontSummary` (rows, front, baseline, selected model and knee,
computed once by :func:`qsearch.results.summarize`); axis titles, units and log axes come from
:mod:`qsearch.metrics`.
"""

from qsearch.plots._files import write_pareto_html, write_plots
from qsearch.plots._pareto import ParetoInfo, axis_title, hover_text, infeasible_reason, pareto_figure, pareto_info
from qsearch.plots._study_figures import hypervolume_figure, importance_figure, reference_point, varying_params

__all__ = [
    "ParetoInfo", "axis_title", "hover_text", "hypervolume_figure", "importance_figure", "infeasible_reason",
    "pareto_figure", "pareto_info", "reference_point", "varying_params", "write_pareto_html", "write_plots",
]
