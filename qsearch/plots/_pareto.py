"""The Pareto figure of a front summary: the candidate view for choosing a model, and every trial."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import plotly.graph_objects as go

from qsearch.metrics import ACCURACY, metric
from qsearch.results import FrontSummary, ResultRow, front_order

_GREY = "rgba(130, 130, 130, 0.55)"
_FRONT = "#d62728"
_BASELINE = "#1f77b4"
_SELECTED = "#2ca02c"
_KNEE = "#9467bd"

PNG_HELP = ("PNG export needs kaleido and a Chromium browser: run `pip install -c constraints.txt kaleido` "
            "and install Debian's `chromium` package (apt-get install chromium)")


def axis_title(objective: str, accuracy_split: str) -> str:
    """The axis title of an objective, with its unit; accuracy names the split it was measured on."""
    title = metric(objective).axis_title
    return f"{accuracy_split} {title}" if objective == ACCURACY else title


def _axis_order(objectives: Sequence[str]) -> list[str]:
    """Objectives in axis order x, y(, z): accuracy last (the vertical axis), the others in their order."""
    return [o for o in objectives if o != ACCURACY] + [o for o in objectives if o == ACCURACY]


def _value(row: ResultRow, objective: str) -> float | None:
    return row.value(objective)


def _measured(row: ResultRow, objective: str) -> float:
    """The value of a row known to be plottable (every objective measured)."""
    return row.measured_value(objective)


def _plottable(row: ResultRow, objectives: Sequence[str]) -> bool:
    return row.state == "COMPLETE" and all(_value(row, o) is not None for o in objectives)


def _fmt(value, spec: str, missing: str = "-") -> str:
    return missing if value is None else format(value, spec)


def _correct(row: ResultRow, split: str) -> str:
    """``344/360 correct (95.56 ±1.09 %)`` for a split, or its percentage alone without the split size."""
    value, n = getattr(row, f"{split}_accuracy"), getattr(row, f"{split}_n")
    if value is None:
        return "-"
    if not n:
        return f"{value:.2f} %"
    se = getattr(row, f"{split}_accuracy_se")
    return f"{round(value * n / 100)}/{n} correct ({value:.2f}" + (f" ±{se:.2f}" if se is not None else "") + " %)"


def _layers(row: ResultRow) -> str:
    """Each layer's weight bits by name: ``layer0 4 bit · layer1 3 bit``."""
    bits = str(row.weight_bits).split("/")
    return " · ".join(f"layer{i} {b} bit" for i, b in enumerate(bits))


def infeasible_reason(row: ResultRow, budget: float | None) -> str | None:
    """Why a COMPLETE trial is not a candidate, in words (None when it is feasible)."""
    if row.feasible or row.state != "COMPLETE":
        return None
    if row.is_baseline:
        return "the float reference, not a candidate"
    if budget is not None and row.accuracy_drop is not None and row.accuracy_drop > budget:
        return f"{row.accuracy_drop:.2f} pt below float, over the {budget:g} pt budget"
    return "outside a constraint of the study (e.g. max_memory_kib)"


def hover_text(row: ResultRow, budget: float | None = None) -> str:
    """Hover text of one result row: its configuration and its metrics (HTML line breaks)."""
    head = f"<b>trial {row.trial_number}</b>"
    if row.is_baseline:
        head += " (float baseline)"
    elif row.state == "COMPLETE" and not row.feasible:
        head += f" (infeasible: {infeasible_reason(row, budget)})"
    if row.is_baseline:
        bits = "weights 32 · membrane 32 · current 32 · param 32"
        layers = "float32"
        scheme = "float32"
    else:
        bits = (f"weights {row.weight_bits} · membrane {row.membrane_bits} · "
                f"current {row.current_bits} · param {row.param_bits}")
        layers = _layers(row)
        scheme = row.scheme
    calibration = (row.config or {}).get("weight_calibration")
    lines = [
        head,
        f"scheme: {scheme}, rounding: {row.rounding}" + (f", calibration: {calibration}" if calibration else ""),
        f"bits: {bits}",
        f"weights: {layers}",
        f"T = {row.timesteps}, sparsity {_fmt(row.sparsity, '.2f')}",
        f"accuracy {_fmt(row.accuracy, '.2f')} % (drop {_fmt(row.accuracy_drop, '+.2f')} pt)",
        f"validation {_correct(row, 'validation')} · test {_correct(row, 'test')}",
        f"memory {_fmt(row.memory_kib, '.2f')} KiB ({_fmt(row.compression_ratio, '.1f')}x smaller)",
    ]
    if row.sops is not None:
        lines.append(f"SOPs {row.sops:.4g}")
    if row.energy_nj is not None:
        lines.append(f"energy {row.energy_nj:.4g} nJ")
    return "<br>".join(lines)


def _coords(rows: Sequence[ResultRow], axes: Sequence[str]) -> dict[str, list[float]]:
    return {name: [r.measured_value(o) for r in rows] for name, o in zip("xyz", axes, strict=False)}


def _points(rows: Sequence[ResultRow], axes: Sequence[str], three_d: bool, budget: float | None = None,
            **kwargs) -> go.Scatter | go.Scatter3d:
    trace = go.Scatter3d if three_d else go.Scatter
    return trace(**_coords(rows, axes), hovertext=[hover_text(r, budget) for r in rows],
                 hovertemplate="%{hovertext}<extra></extra>",
                 customdata=[r.trial_number for r in rows], **kwargs)


def _mark(row: ResultRow | None, label: str, color: str, axes: Sequence[str], three_d: bool,
          offset: tuple[int, int]) -> tuple[go.Scatter | go.Scatter3d | None, dict | None]:
    """A ring around a marked trial, and its annotation (None, None if the row cannot be placed)."""
    if row is None or not all(_value(row, o) is not None for o in axes):
        return None, None
    text = f"{label} (trial {row.trial_number})"
    ring = _points([row], axes, three_d, mode="markers", name=text, showlegend=True,
                   marker={"symbol": "circle-open", "size": 18 if not three_d else 10, "color": color,
                           "line": {"width": 3, "color": color}})
    point = {k: v[0] for k, v in _coords([row], axes).items()}
    annotation = {**point, "text": text, "showarrow": True, "arrowhead": 2, "arrowcolor": color,
                  "ax": offset[0], "ay": offset[1], "font": {"color": color},
                  "bgcolor": "rgba(255,255,255,0.8)"}
    return ring, annotation


def _finalists_trace(summary: FrontSummary, axes: Sequence[str]) -> go.Scatter | None:
    """The finalists at their *confirmed* accuracy (float baseline minus the paired drop), each with a bar down
    to the accuracy its upper bound allows: what the pick was judged on, next to what the search saw."""
    base = summary.baseline
    if not summary.risk_aware or base is None or base.accuracy is None:
        return None
    rows = [r for r in summary.finalists if r.value(axes[0]) is not None]
    if not rows:
        return None
    drops = [summary.evidence[r.trial_number] for r in rows]
    uppers = [summary.upper_bound(r.trial_number) or d.drop_pt for r, d in zip(rows, drops, strict=True)]
    return go.Scatter(
        x=[_measured(r, axes[0]) for r in rows], y=[base.accuracy - d.drop_pt for d in drops], mode="markers",
        name=f"finalists: {summary.evidence_kind} accuracy, bar to its {summary.confidence:.0%} bound",
        marker={"color": _SELECTED, "size": 9, "symbol": "square-open", "line": {"width": 2}},
        error_y={"type": "data", "symmetric": False, "array": [0.0] * len(rows),
                 "arrayminus": [max(u - d.drop_pt, 0.0) for u, d in zip(uppers, drops, strict=True)],
                 "color": _SELECTED},
        customdata=[r.trial_number for r in rows],
        hovertext=[f"trial {r.trial_number}: {summary.evidence_kind} drop {d.drop_pt:+.2f} pt, at most "
                   f"{u:+.2f} pt, P(within) {summary.p_within(r.trial_number) or 0:.2f} (n={d.n})"
                   for r, d, u in zip(rows, drops, uppers, strict=True)], hoverinfo="text")


@dataclass(frozen=True)
class ParetoInfo:
    """What the Pareto figure draws, computed from a front summary before any plotting (as Optuna's
    ``_pareto_front`` computes its ``_ParetoFrontInfo``): the groups of points and the candidate view."""

    axes: tuple[str, ...]  # objectives in axis order x, y(, z)
    trials: tuple[ResultRow, ...]  # plottable COMPLETE non-baseline rows
    baseline: tuple[ResultRow, ...]
    front: tuple[ResultRow, ...]  # the summary's feasible front, by increasing x
    selected: ResultRow | None
    knee: ResultRow | None
    budget: float | None
    float_accuracy: float | None  # the baseline's accuracy (a line), 2-D accuracy plots only
    floor: float | None  # float accuracy - budget: the least accuracy a candidate may have
    x_range: tuple[float, float] | None  # the candidate view (data units, before any log)
    y_range: tuple[float, float] | None
    x_ticks: tuple[float, ...]  # explicit ticks of a log x axis

    @property
    def three_d(self) -> bool:
        return len(self.axes) == 3

    @property
    def log_x(self) -> bool:
        values = [_measured(r, self.axes[0]) for r in (*self.trials, *self.baseline)]
        return metric(self.axes[0]).log_axis and bool(values) and all(v > 0 for v in values)


def _nice_ticks(low: float, high: float) -> tuple[float, ...]:
    """Round ticks covering ``[low, high]`` (positive), so a log axis never reads "10, 2, 3, 4": 1-2-5 per
    decade, or every integer mantissa (then halves) when the range is too narrow for three of them."""
    if not 0 < low <= high:
        return ()
    ticks: list[float] = []
    for mantissas in ((1, 2, 5), tuple(range(1, 10)), tuple(m / 2 for m in range(2, 20))):
        ticks = sorted({round(m * 10.0 ** e, 12) for e in range(math.floor(math.log10(low)) - 1,
                                                                 math.ceil(math.log10(high)) + 1)
                        for m in mantissas if low <= m * 10.0 ** e <= high})
        if len(ticks) >= 3:
            break
    return tuple(ticks) if len(ticks) >= 2 else (low, high)


def pareto_info(summary: FrontSummary) -> ParetoInfo:
    """The :class:`ParetoInfo` of a summary: groups of points, float and budget lines, the candidate view.

    The candidate view runs on the accuracy axis from a little below the budget's floor (or the lowest front
    point) to the best accuracy, and on the cost axis over the trials inside that band (the float baseline
    left out), so failed trials at 10 % and the float model's memory do not squeeze the candidates.
    """
    objectives = list(summary.objectives)
    axes = tuple(_axis_order(objectives))
    complete = [r for r in summary.rows if _plottable(r, objectives)]
    trials = tuple(r for r in complete if not r.is_baseline)
    baseline = tuple(r for r in complete if r.is_baseline)
    front = tuple(sorted(summary.front, key=front_order(objectives)))
    float_accuracy = summary.baseline.accuracy if summary.baseline is not None else None
    floor = (float_accuracy - summary.budget
             if float_accuracy is not None and summary.budget is not None else None)
    x_range = y_range = None
    ticks: tuple[float, ...] = ()
    if len(axes) == 2 and axes[1] == ACCURACY and trials:
        accuracies = [_measured(r, ACCURACY) for r in trials]
        lows = [v for v in (floor, *(_measured(r, ACCURACY) for r in front)) if v is not None]
        top = max([*accuracies, *([float_accuracy] if float_accuracy is not None else [])])
        bottom = min(lows) if lows else min(accuracies)
        margin = max(0.5, 0.1 * (top - bottom))
        y_range = (bottom - margin, top + margin / 2)
        inside = [_measured(r, axes[0]) for r in trials if _measured(r, ACCURACY) >= y_range[0]]
        if inside:
            x_range = (min(inside), max(inside))
            if metric(axes[0]).log_axis and x_range[0] > 0:
                ticks = _nice_ticks(x_range[0] / 1.2, x_range[1] * 1.2)
    return ParetoInfo(axes=axes, trials=trials, baseline=baseline, front=front, selected=summary.selected,
                      knee=summary.knee, budget=summary.budget, float_accuracy=float_accuracy, floor=floor,
                      x_range=x_range, y_range=y_range, x_ticks=ticks)


def _line(y: float, text: str, color: str, dash: str) -> dict:
    """A horizontal line across the candidate panel, labelled at its right end."""
    return {"type": "line", "xref": "x domain", "yref": "y", "x0": 0, "x1": 1, "y0": y, "y1": y,
            "line": {"color": color, "width": 1.5, "dash": dash},
            "label": {"text": text, "textposition": "end", "yanchor": "bottom", "font": {"color": color}},
            "name": text}


def pareto_figure(summary: FrontSummary, *, title: str | None = None, accuracy_split: str | None = None,
                  full_view: bool = True) -> go.Figure:
    """The figure for choosing a model: candidates, the feasible front, the float baseline and the budget.

    Two objectives: the left panel is the candidate view (see :func:`pareto_info`) with the feasible front as
    a step line, the float accuracy and the budget's floor as lines and the selected and knee trials marked;
    the right panel shows every trial (full view; ``full_view=False`` leaves it out, for narrow places such as
    the dashboard's custom plot). Three objectives give one 3-D scatter. Grey circles are
    feasible trials, grey crosses infeasible ones (the hover says why); every point's hover text shows its
    configuration and metrics, and its trial number is in ``customdata``. ``title`` (usually the study
    name) goes in front of the figure's heading; the accuracy axis is titled with ``accuracy_split``, by
    default the summary's.
    """
    accuracy_split = accuracy_split or summary.accuracy_split
    info = pareto_info(summary)
    axes, three_d, budget = info.axes, info.three_d, info.budget
    size = 5 if three_d else 8
    fig = go.Figure()
    for feasible, symbol, name in ((True, "circle", "trial (feasible)"), (False, "x", "trial (infeasible)")):
        group = [r for r in info.trials if bool(r.feasible) == feasible]
        if group:
            fig.add_trace(_points(group, axes, three_d, budget, mode="markers", name=name,
                                  marker={"color": _GREY, "size": size, "symbol": symbol}))
    if info.front:
        fig.add_trace(_points(info.front, axes, three_d, budget, mode="markers" if three_d else "lines+markers",
                              name="Pareto front", marker={"color": _FRONT, "size": size + 2},
                              **({} if three_d else {"line": {"color": _FRONT, "width": 2, "shape": "hv"}})))
    if info.baseline:
        fig.add_trace(_points(info.baseline, axes, three_d, budget, mode="markers+text", name="float baseline",
                              text=["float baseline"] * len(info.baseline),
                              textposition="top center" if three_d else "middle left",
                              marker={"color": _BASELINE, "size": size + 6, "symbol": "diamond",
                                      "line": {"width": 1, "color": "black"}}))

    finalists = None if three_d else _finalists_trace(summary, axes)
    if finalists is not None:
        fig.add_trace(finalists)

    annotations: list[dict] = []
    selected_label = "selected"
    if summary.risk_aware and summary.selected is not None:
        selected_label = f"selected, P(within budget) {summary.p_within(summary.selected.trial_number):.2f}"
    for row, label, color, offset in ((info.selected, selected_label, _SELECTED, (40, 40)),
                                      (info.knee, "knee", _KNEE, (-40, -40))):
        ring, annotation = _mark(row, label, color, axes, three_d, offset)
        if ring is not None and annotation is not None:
            fig.add_trace(ring)
            annotations.append(annotation)

    heading = "Pareto front: " + " vs ".join(summary.objectives)
    layout: dict = {"title": {"text": f"{title} — {heading}" if title else heading},
                    "template": "plotly_white", "legend": {"itemsizing": "constant"}, "hovermode": "closest"}
    titles = [axis_title(o, accuracy_split) for o in axes]
    if three_d:
        layout["scene"] = {f"{a}axis": {"title": {"text": t}, **({"type": "log"} if metric(o).log_axis else {})}
                           for a, t, o in zip("xyz", titles, axes, strict=True)}
        layout["scene"]["annotations"] = annotations
    else:
        _two_panels(fig, info, titles, layout, annotations, full_view)
    fig.update_layout(**layout)
    return fig


def _two_panels(fig: go.Figure, info: ParetoInfo, titles: list[str], layout: dict, annotations: list[dict],
                full_view: bool = True) -> None:
    """Lay out the 2-D figure: the zoomed candidate panel (x/y) and the full view (x2/y2)."""
    log_x = info.log_x
    x_axis: dict = {"title": {"text": titles[0]}, "domain": [0.0, 0.62 if full_view else 1.0],
                    **({"type": "log"} if log_x else {})}
    if info.x_range is not None:
        low, high = info.x_range
        x_axis["range"] = ([math.log10(low / 1.2), math.log10(high * 1.2)] if log_x
                           else [low - 0.05 * (high - low or 1), high + 0.05 * (high - low or 1)])
    if log_x and info.x_ticks:
        x_axis.update(tickvals=list(info.x_ticks), ticktext=[f"{t:g}" for t in info.x_ticks])
    y_axis: dict = {"title": {"text": titles[1]}}
    if info.y_range is not None:
        y_axis["range"] = list(info.y_range)
    layout["xaxis"], layout["yaxis"] = x_axis, y_axis
    _lines(info, layout, annotations, log_x)
    if not full_view:
        return
    layout["xaxis2"] = {"title": {"text": f"{titles[0]}, all trials"}, "domain": [0.72, 1.0], "anchor": "y2",
                        **({"type": "log"} if log_x else {})}
    layout["yaxis2"] = {"title": {"text": f"{titles[1]}, all trials"}, "anchor": "x2"}
    full = [*info.trials, *info.baseline]
    if log_x and full:
        xs = [_measured(r, info.axes[0]) for r in full]
        ticks = _nice_ticks(min(xs) / 1.2, max(xs) * 1.2)
        layout["xaxis2"].update(tickvals=list(ticks), ticktext=[f"{t:g}" for t in ticks])
    if full:
        fig.add_trace(_points(full, info.axes, False, info.budget, mode="markers", name="all trials (full view)",
                              xaxis="x2", yaxis="y2", showlegend=False,
                              marker={"color": [_BASELINE if r.is_baseline else _GREY for r in full], "size": 6,
                                      "symbol": ["diamond" if r.is_baseline else
                                                 "circle" if r.feasible else "x" for r in full]}))
    if info.front:
        fig.add_trace(_points(info.front, info.axes, False, info.budget, mode="lines", name="Pareto front (full "
                              "view)", xaxis="x2", yaxis="y2", showlegend=False,
                              line={"color": _FRONT, "width": 2, "shape": "hv"}))


def _lines(info: ParetoInfo, layout: dict, annotations: list[dict], log_x: bool) -> None:
    """The float and budget lines, and the marks' annotations (log10 coordinates on a log axis)."""
    shapes = []
    if info.float_accuracy is not None:
        shapes.append(_line(info.float_accuracy, f"float {info.float_accuracy:.2f} %", _BASELINE, "dot"))
    if info.floor is not None:
        shapes.append(_line(info.floor, f"budget: float − {info.budget:g} pt = {info.floor:.2f} %", _FRONT, "dash"))
    layout["shapes"] = shapes
    if log_x:
        for annotation in annotations:  # annotations on a log axis take log10 coordinates
            annotation["x"] = math.log10(annotation["x"])
    layout["annotations"] = annotations
