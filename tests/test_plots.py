"""Figures of qsearch.plots, built from hand-made result rows and small in-memory Optuna studies."""

from __future__ import annotations

import re
from dataclasses import replace

import optuna
import plotly.graph_objects as go
import pytest
from optuna.distributions import CategoricalDistribution, IntDistribution
from result_rows import result_row

from qsearch import plots
from qsearch.errors import QsearchError
from qsearch.results import FrontSummary, ResultRow, summarize
from qsearch.search import BASELINE_ATTR

pytestmark = pytest.mark.filterwarnings("error")


def _row(number: int, accuracy: float | None, memory: float | None, *, feasible: bool = True,
         state: str = "COMPLETE", baseline: bool = False, sops: float | None = None, **extra) -> ResultRow:
    fields = {"scheme": "uniform", "timesteps": 25, "accuracy_drop": None if accuracy is None else 98.0 - accuracy,
              **extra}
    return result_row(number, accuracy, memory, feasible=feasible, state=state, is_baseline=baseline, sops=sops,
                      **fields)


@pytest.fixture
def rows() -> list[ResultRow]:
    return [
        _row(0, 98.0, 100.0, feasible=False, baseline=True, scheme="float", sops=900.0),
        _row(1, 97.0, 10.0, sops=500.0),
        _row(2, 95.0, 5.0, scheme="lsq", weight_bits="3/5", rounding="stochastic", timesteps=20,
             sparsity=0.25, membrane_bits=6, current_bits=7, param_bits=5, sops=450.0),
        _row(3, 90.0, 12.0, feasible=False, sops=100.0),  # dominated in 2-D, not in 3-D (fewest SOPs)
        _row(4, 80.0, 2.0, feasible=False, sops=300.0),  # non-dominated but infeasible: not on the front
        _row(5, 96.0, 8.0, sops=600.0),
        _row(6, None, None, feasible=False, state="PRUNED", reason="silent", silent=True),
    ]


def _summary(rows, objectives=("accuracy", "memory"), budget: float | None = 2.0, **fields) -> FrontSummary:
    summary = summarize(rows, objectives, budget)
    return replace(summary, **fields) if fields else summary


def _unmarked(rows, objectives=("accuracy", "memory")) -> FrontSummary:
    return _summary(rows, objectives, selected=None, knee=None)


def _trace(fig: go.Figure, name: str):
    matches = [t for t in fig.data if t.name == name]
    assert len(matches) == 1, [t.name for t in fig.data]
    return matches[0]


def _annotations(fig: go.Figure) -> list[str]:
    found = list(fig.layout.annotations) + list(fig.layout.scene.annotations or ())
    return [a.text for a in found]


def test_front_trace_holds_exactly_the_summary_front(rows):
    summary = _summary(rows)
    fig = plots.pareto_figure(summary)
    front = _trace(fig, "Pareto front")
    assert sorted(front.customdata) == [1, 2, 5]
    assert front.mode == "lines+markers"
    assert list(front.x) == sorted(front.x)  # a connected line from small to large memory
    assert list(front.customdata) == [r.trial_number for r in summary.front]


def test_trials_are_split_by_feasibility_and_pruned_ones_are_left_out(rows):
    fig = plots.pareto_figure(_summary(rows))
    feasible = _trace(fig, "trial (feasible)")
    infeasible = _trace(fig, "trial (infeasible)")
    assert sorted(feasible.customdata) == [1, 2, 5]
    assert sorted(infeasible.customdata) == [3, 4]
    assert feasible.marker.symbol != infeasible.marker.symbol
    shown = {n for t in fig.data for n in (t.customdata or ())}
    assert 6 not in shown


def test_baseline_has_its_own_labelled_marker(rows):
    fig = plots.pareto_figure(_summary(rows))
    baseline = _trace(fig, "float baseline")
    assert list(baseline.customdata) == [0]
    assert list(baseline.text) == ["float baseline"]
    assert "float32" in baseline.hovertext[0]
    assert 0 not in _trace(fig, "Pareto front").customdata


def test_hover_text_describes_the_configuration(rows):
    front = _trace(plots.pareto_figure(_summary(rows)), "Pareto front")
    text = front.hovertext[list(front.customdata).index(2)]
    for part in ("trial 2", "lsq", "3/5", "membrane 6", "current 7", "param 5", "stochastic", "T = 20",
                 "sparsity 0.25", "95.00 %", "+3.00 pt", "5.00 KiB", "20.0x smaller"):
        assert part in text, part
    assert front.hovertemplate == "%{hovertext}<extra></extra>"


def test_axes_titles_units_and_title(rows):
    fig = plots.pareto_figure(_summary(rows, accuracy_split="test"), title="mnist-study")
    assert fig.layout.xaxis.title.text == "memory (KiB)"
    assert fig.layout.xaxis.type == "log"
    assert fig.layout.yaxis.title.text == "test accuracy (%)"
    assert "mnist-study" in fig.layout.title.text
    validation = plots.pareto_figure(_summary(rows), accuracy_split="validation")
    assert validation.layout.yaxis.title.text == "validation accuracy (%)"
    # without a split given, the figure is titled with the summary's (validation unless the study says test)
    assert plots.pareto_figure(_summary(rows)).layout.yaxis.title.text == "validation accuracy (%)"


def test_selected_and_knee_are_annotated(rows):
    summary = _summary(rows)
    selected, knee = summary.selected, summary.knee
    assert selected is not None and knee is not None
    fig = plots.pareto_figure(summary)
    texts = _annotations(fig)
    assert f"selected (trial {selected.trial_number})" in texts
    assert f"knee (trial {knee.trial_number})" in texts
    _trace(fig, f"selected (trial {selected.trial_number})")
    # log x axis: annotation positions are in log10 units
    mark = next(a for a in fig.layout.annotations if a.text.startswith("selected"))
    assert mark.x == pytest.approx(__import__("math").log10(selected.memory_kib))
    assert mark.y == pytest.approx(selected.accuracy)


def test_no_marks_without_selection(rows):
    assert _annotations(plots.pareto_figure(_unmarked(rows))) == []


def test_three_objectives_give_a_3d_scatter(rows):
    fig = plots.pareto_figure(_summary(rows, ("accuracy", "memory", "sops"), selected=rows[5], accuracy_split="test"))
    assert all(isinstance(t, go.Scatter3d) for t in fig.data)
    front = _trace(fig, "Pareto front")
    assert sorted(front.customdata) == [1, 2, 5]
    assert fig.layout.scene.zaxis.title.text == "test accuracy (%)"
    assert fig.layout.scene.xaxis.title.text == "memory (KiB)"
    assert fig.layout.scene.yaxis.title.text == "synaptic operations (SOPs)"
    assert "selected (trial 5)" in _annotations(fig)


def test_sops_study_draws_sops_not_memory(rows):
    fig = plots.pareto_figure(_summary(rows, ("accuracy", "sops")))
    assert fig.layout.xaxis.title.text == "synaptic operations (SOPs)"
    front = _trace(fig, "Pareto front")
    assert list(front.x) == [450.0, 500.0] and list(front.customdata) == [2, 1]  # 5 has more SOPs than 1


def test_empty_rows_give_an_empty_figure():
    fig = plots.pareto_figure(summarize([], ("accuracy", "memory"), 1.0))
    assert len(fig.data) == 0


def test_unknown_objective_is_rejected(rows):
    with pytest.raises(ValueError, match="unknown"):
        summarize(rows, ("accuracy", "latency"), 1.0)


def test_write_pareto_html_is_self_contained(rows, tmp_path):
    path = plots.write_pareto_html(_summary(rows), tmp_path / "out" / "pareto.html", title="s1")
    html = path.read_text(encoding="utf-8")
    assert path.exists() and "plotly" in html
    assert "<script src=" not in html  # nothing loaded from the network
    assert len(html) > 1_000_000  # plotly.js is embedded
    for number in (0, 1, 2, 3, 4, 5):
        assert f"trial {number}" in html


# ---------------------------------------------------------------- Optuna studies

_DISTRIBUTIONS = {"weight_bits": IntDistribution(2, 8),
                  "rounding": CategoricalDistribution(["nearest", "stochastic"])}


def _study(values: list[tuple[int, str, float, float]], baseline: bool = True) -> optuna.Study:
    storage = optuna.storages.InMemoryStorage()
    storage.create_new_study([optuna.study.StudyDirection.MAXIMIZE, optuna.study.StudyDirection.MINIMIZE],
                             study_name="plots-test")
    study = optuna.Study(study_name="plots-test", storage=storage)
    if baseline:
        study.add_trial(optuna.trial.create_trial(
            params={"weight_bits": 8, "rounding": "nearest"}, distributions=_DISTRIBUTIONS,
            values=[98.0, 100.0], user_attrs={BASELINE_ATTR: True}))
    for bits, rounding, accuracy, memory in values:
        study.add_trial(optuna.trial.create_trial(
            params={"weight_bits": bits, "rounding": rounding}, distributions=_DISTRIBUTIONS,
            values=[accuracy, memory]))
    return study


_TRIALS = [(2, "nearest", 80.0, 2.0), (3, "stochastic", 88.0, 3.0), (4, "nearest", 95.0, 4.0),
           (6, "stochastic", 96.0, 6.0), (8, "nearest", 97.0, 8.0), (5, "stochastic", 90.0, 5.0)]


def test_reference_point_pads_the_worst_search_value():
    point = plots.reference_point(_study(_TRIALS))
    assert point == pytest.approx([80.0 - 8.0, 8.0 + 0.8])  # the baseline (memory 100) is left out


def test_hypervolume_figure():
    fig = plots.hypervolume_figure(_study(_TRIALS), title="plots-test")
    assert fig is not None
    assert len(fig.data) == 1
    assert list(fig.data[0].x) == list(range(len(_TRIALS) + 1))
    assert fig.data[0].y[-1] > 0
    assert "plots-test" in fig.layout.title.text and "reference point" in fig.layout.title.text


def test_hypervolume_needs_two_search_trials():
    assert plots.hypervolume_figure(_study([])) is None
    assert plots.hypervolume_figure(_study(_TRIALS[:1])) is None


def test_importance_figure():
    study = _study(_TRIALS)
    for index, name in enumerate(("test accuracy (%)", "memory (KiB)")):
        fig = plots.importance_figure(study, index, name)
        assert fig is not None
        assert set(fig.data[0].y) == {"weight_bits", "rounding"}
        assert name in fig.layout.title.text


def test_importance_none_when_it_cannot_be_computed():
    assert plots.importance_figure(_study(_TRIALS[:1]), 0, "acc") is None
    constant = _study([(2, "nearest", 90.0, 2.0), (4, "stochastic", 90.0, 4.0), (8, "nearest", 90.0, 8.0)])
    assert plots.importance_figure(constant, 0, "acc") is None  # accuracy never varies
    storage = optuna.storages.InMemoryStorage()
    storage.create_new_study([optuna.study.StudyDirection.MAXIMIZE, optuna.study.StudyDirection.MINIMIZE])
    no_params = optuna.Study(study_name=storage.get_all_studies()[0].study_name, storage=storage)
    for values in ([1.0, 2.0], [2.0, 3.0]):
        no_params.add_trial(optuna.trial.create_trial(params={}, distributions={}, values=values))
    assert plots.importance_figure(no_params, 0, "acc") is None


def test_write_plots(rows, tmp_path):
    out = tmp_path / "plots"
    written = plots.write_plots(_study(_TRIALS), _summary(rows), out)
    names = sorted(p.name for p in written)
    assert names == ["hypervolume.html", "importance_accuracy.html", "importance_memory.html", "pareto.html"]
    for path in written:
        html = path.read_text(encoding="utf-8")
        assert path.parent == out and "plotly" in html
        sources = re.findall(r'<script[^>]*\bsrc="([^"]+)"', html)
        assert sources == ["plotly.min.js"]  # the folder's own copy: nothing loaded from the network
    assert (out / "plotly.min.js").stat().st_size > 1_000_000


def test_write_plots_skips_figures_without_data(rows, tmp_path):
    written = plots.write_plots(_study([]), _summary(rows), tmp_path)
    assert [p.name for p in written] == ["pareto.html"]


def test_png_failure_says_what_to_install(rows, tmp_path, monkeypatch):
    def broken(self, *args, **kwargs):
        raise ValueError("Image export using the \"kaleido\" engine requires the kaleido package\nmore")

    monkeypatch.setattr(go.Figure, "write_image", broken)
    with pytest.raises(QsearchError) as error:
        plots.write_pareto_html(_summary(rows), tmp_path / "pareto.html", png=True)
    message = str(error.value)
    assert "pip install -c constraints.txt kaleido" in message and "chromium" in message
    assert "\n" not in message


def test_png_written_next_to_html(rows, tmp_path, monkeypatch):
    def fake(self, path, *args, **kwargs):
        with open(path, "wb") as handle:
            handle.write(b"\x89PNG")

    monkeypatch.setattr(go.Figure, "write_image", fake)
    written = plots.write_plots(_study(_TRIALS), _summary(rows), tmp_path, png=True)
    names = {p.name for p in written}
    assert {"pareto.png", "hypervolume.png", "importance_accuracy.png", "importance_memory.png"} <= names
    assert all(p.exists() for p in written)


# ---------------------------------------------------------------- the figure for choosing (issue 13)


def test_budget_and_float_lines_are_drawn_at_their_accuracies(rows):
    summary = _summary(rows)  # baseline 98 %, budget 2 pt
    shapes = {s.name: s for s in plots.pareto_figure(summary).layout.shapes}
    float_line = next(s for n, s in shapes.items() if n.startswith("float"))
    budget_line = next(s for n, s in shapes.items() if n.startswith("budget"))
    assert float_line.y0 == float_line.y1 == 98.0
    assert budget_line.y0 == budget_line.y1 == 96.0
    assert "2 pt" in budget_line.label.text


def test_candidate_view_is_zoomed_to_the_budget_and_the_full_view_keeps_every_trial(rows):
    rows = [*rows, _row(7, 10.0, 1.0, feasible=False)]  # a failed-to-learn trial far below
    info = plots.pareto_info(_summary(rows))
    low, high = info.y_range
    assert 94.0 < low < 95.0 and high >= 98.0  # a little below the floor and the front, up to the best
    assert info.x_range == (5.0, 10.0)  # trials inside that band (not 3 at 90 %, not the 100 KiB baseline)
    assert all(5.0 / 1.2 <= t <= 10.0 * 1.2 for t in info.x_ticks) and 10.0 in info.x_ticks
    fig = plots.pareto_figure(_summary(rows))
    assert list(fig.layout.xaxis.tickvals) == list(info.x_ticks)
    full = _trace(fig, "all trials (full view)")
    assert sorted(full.customdata) == [0, 1, 2, 3, 4, 5, 7] and full.xaxis == "x2"


def test_front_is_a_step_line_of_feasible_trials_only(rows):
    front = _trace(plots.pareto_figure(_summary(rows)), "Pareto front")
    assert front.line.shape == "hv"
    assert 4 not in front.customdata  # non-dominated but infeasible


def test_hover_names_layers_calibration_counts_and_why_infeasible(rows):
    rows = [*rows[:3], replace(rows[3], config={"weight_calibration": "mse"}), *rows[4:]]
    fig = plots.pareto_figure(_summary(rows))
    infeasible = _trace(fig, "trial (infeasible)")
    text = infeasible.hovertext[list(infeasible.customdata).index(3)]
    assert "8.00 pt below float, over the 2 pt budget" in text
    assert "calibration: mse" in text
    assert "324/360 correct" in text and "±1.58" in text  # 90 % of 360, se = sqrt(.9*.1/360)
    front = _trace(fig, "Pareto front")
    assert "layer0 3 bit · layer1 5 bit" in front.hovertext[list(front.customdata).index(2)]


def test_importance_leaves_out_fixed_parameters_and_logs_nothing(caplog):
    distributions = {**_DISTRIBUTIONS, "timesteps": IntDistribution(16, 16)}
    study = _study(_TRIALS)
    fixed = optuna.create_study(directions=study.directions)
    for trial in study.trials:
        fixed.add_trial(optuna.trial.create_trial(params={**trial.params, "timesteps": 16},
                                                  distributions=distributions, values=trial.values,
                                                  user_attrs=trial.user_attrs))
    assert plots.varying_params(fixed.trials) == ["rounding", "weight_bits"]
    with caplog.at_level("WARNING"):
        fig = plots.importance_figure(fixed, 0, "accuracy (%)")
    assert fig is not None
    assert set(fig.data[0].y) <= {"rounding", "weight_bits"}
    assert fig.layout.xaxis.title.text.startswith("fANOVA importance")
    assert not [r for r in caplog.records if "omitted" in r.getMessage()]


def test_candidate_view_alone_for_narrow_places(rows):
    fig = plots.pareto_figure(_summary(rows), full_view=False)
    assert "all trials (full view)" not in [t.name for t in fig.data]
    assert list(fig.layout.xaxis.domain) == [0.0, 1.0]
    assert any(s.name.startswith("budget") for s in fig.layout.shapes)
