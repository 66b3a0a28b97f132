"""Figures of a study's trials: the hypervolume history and the parameter importances of each objective."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import optuna
import plotly.graph_objects as go
from optuna.importance import FanovaImportanceEvaluator
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

#: how much the hypervolume reference point lies beyond the worst observed value
REFERENCE_PADDING = 0.10


def _is_baseline_trial(trial: FrozenTrial) -> bool:
    from qsearch.record.keys import BASELINE as BASELINE_ATTR  # the record layer imports torch; plots need not

    return bool(trial.user_attrs.get(BASELINE_ATTR))


def _search_trials(study: optuna.Study) -> list[FrozenTrial]:
    """COMPLETE trials with finite values, without the float baseline (not a point of the search)."""
    trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    return [t for t in trials if t.values is not None and all(math.isfinite(v) for v in t.values)
            and not _is_baseline_trial(t)]


def reference_point(study: optuna.Study) -> list[float] | None:
    """Worst observed value of each objective padded by 10% (maximize: lower, minimize: higher).

    Computed over the non-baseline COMPLETE trials; None with fewer than two of them.
    """
    trials = _search_trials(study)
    if len(trials) < 2:
        return None
    point = []
    for i, direction in enumerate(study.directions):
        values = [t.values[i] for t in trials]
        worst = min(values) if direction == StudyDirection.MAXIMIZE else max(values)
        pad = REFERENCE_PADDING * abs(worst) or REFERENCE_PADDING * (max(values) - min(values)) or 1.0
        point.append(worst - pad if direction == StudyDirection.MAXIMIZE else worst + pad)
    return point


def hypervolume_figure(study: optuna.Study, *, title: str | None = None) -> go.Figure | None:
    """Optuna's hypervolume history with :func:`reference_point`; None with fewer than two search trials.

    Optuna counts only feasible trials, so the float baseline (always marked infeasible) adds nothing.
    """
    if len(study.directions) < 2:
        return None
    point = reference_point(study)
    if point is None:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        fig = optuna.visualization.plot_hypervolume_history(study, point)
    shown = ", ".join(f"{v:.4g}" for v in point)
    heading = f"Hypervolume history<br><sup>reference point ({shown})</sup>"
    fig.update_layout(title={"text": f"{title} — {heading}" if title else heading}, template="plotly_white")
    return fig


def varying_params(trials: Sequence[FrozenTrial]) -> list[str]:
    """Parameters that take more than one value among ``trials`` (a fixed one has no importance to show)."""
    values: dict[str, set[str]] = {}
    for trial in trials:
        for name, value in trial.params.items():
            values.setdefault(name, set()).add(repr(value))
    return sorted(name for name, seen in values.items() if len(seen) > 1)


def _search_study(study: optuna.Study) -> optuna.Study:
    """An in-memory copy of the study's search trials (no float baseline), so Optuna's plots neither see the
    baseline nor log a line about leaving it out."""
    copy = optuna.create_study(directions=study.directions, storage=optuna.storages.InMemoryStorage())
    copy.add_trials(_search_trials(study))
    return copy


def importance_figure(study: optuna.Study, target_index: int, target_name: str | None = None, *,
                      title: str | None = None) -> go.Figure | None:
    """Optuna's parameter importances (fANOVA, seed 0) for objective ``target_index``, varying parameters only.

    The float baseline and parameters that never change (e.g. a fixed ``timesteps``) are left out. None with
    fewer than two search trials, without varying parameters, or when the importances cannot be computed.
    """
    trials = _search_trials(study)
    params = varying_params(trials)
    if len(trials) < 2 or not params:
        return None
    name = target_name or (study.metric_names[target_index] if study.metric_names
                           else f"objective {target_index}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            fig = optuna.visualization.plot_param_importances(
                _search_study(study), FanovaImportanceEvaluator(seed=0), params=params,
                target=lambda t: t.values[target_index], target_name=name)
    except (ValueError, RuntimeError):
        return None
    if not fig.data or not any(len(trace.x or ()) for trace in fig.data):
        return None
    heading = f"Parameter importance for {name}"
    fig.update_layout(title={"text": f"{title} — {heading}" if title else heading}, template="plotly_white",
                      xaxis_title=f"fANOVA importance for {name} (share of its variance)",
                      yaxis_title="search parameter")
    return fig
