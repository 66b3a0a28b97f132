"""Cross-validated confirmation of a study's finalists, stored per (finalist, fold) as each finishes."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import optuna

from qsearch.data import Splits, cross_validation_folds
from qsearch.quant import QuantConfig
from qsearch.record import (
    RecordedStudy,
    call_with_retry,
    confirmation_fold_results,
    keys,
    results_engine_for,
    write_confirmation_fold,
)
from qsearch.record.optuna_compat import study_storage
from qsearch.results import POINT_ESTIMATE, ResultRow, save_result
from qsearch.search import baseline_config
from qsearch.snn import DivergedError, SilentNetworkError
from qsearch.studyfile import StudyFile
from qsearch.trial import TrialOutcome, run_trial, trial_splits

BASELINE_SUBJECT = keys.CONFIRMATION_BASELINE
Runner = Callable[..., TrialOutcome]


@dataclass(frozen=True)
class ConfirmationRun:
    """What one call of :func:`confirm` did."""

    protocol: str
    finalists: tuple[int, ...]  # trial numbers, smallest first
    computed: int = 0  # (subject, fold) results trained now
    reused: int = 0  # results found stored (an interrupted confirmation resumed)
    wall_s: float = 0.0
    skipped: str | None = None  # why nothing needed confirming (a sentence); None when it ran
    failed: dict[int, str] = field(default_factory=dict)  # finalist -> why a fold's retraining stopped

    @property
    def total(self) -> int:
        return self.computed + self.reused


def confirmation_plan(recorded: RecordedStudy) -> tuple[list[ResultRow], str | None]:
    """The finalists to confirm, or none and the sentence saying why nothing is confirmed."""
    sel = recorded.selection
    budget = recorded.budget
    if not sel.confirm:
        return [], "selection.confirm is false: the pick uses the paired validation evidence"
    if sel.confidence == POINT_ESTIMATE:
        return [], "selection.confidence 0.5 is the point estimate: nothing to confirm"
    if budget is None:
        return [], "no accuracy budget (constraints.max_accuracy_drop: null): nothing to confirm"
    if not recorded.confirmable:
        return [], ("an imported network (or the synthetic runner) cannot be retrained per fold: the pick uses "
                    "the paired validation evidence")
    point = recorded.summary(confidence=POINT_ESTIMATE)
    finalists = recorded.finalists(point, budget)
    if point.baseline is None or not finalists:
        return [], f"no front trial within the budget + {sel.margin:g} pt margin: nothing to confirm"
    return finalists, None


def _params(study: optuna.Study) -> dict[int, dict]:
    return {t.number: t.params for t in study.get_trials(deepcopy=False)}


def confirm(recorded: RecordedStudy, *, runner: Runner = run_trial,
            on_step: Callable[[int, int, str], None] | None = None) -> ConfirmationRun:
    """Retrain and score the float baseline and every finalist on every fold; results already stored are kept.

    ``on_step(done, total, what)`` reports progress. A KeyboardInterrupt leaves every finished result stored;
    the next call resumes after them.
    """
    started = time.perf_counter()
    sf: StudyFile = recorded.study_file()
    protocol = recorded.protocol
    finalists, skipped = confirmation_plan(recorded)
    if skipped is not None:
        return ConfirmationRun(protocol=protocol, finalists=(), skipped=skipped)
    study = recorded.study
    stored = confirmation_fold_results(study.user_attrs, protocol)  # fresh: another process may have added
    params = _params(study)
    k, seed = sf.selection.folds, recorded.fold_seed
    subjects: list[tuple[int | str, QuantConfig, dict]] = [(BASELINE_SUBJECT, baseline_config(sf), {})]
    subjects += [(r.trial_number, QuantConfig.from_dict(r.config), params.get(r.trial_number, {}))
                 for r in finalists]
    folds_by_t: dict[int, list[Splits]] = {}
    total, done, computed, reused = k * len(subjects), 0, 0, 0
    failed: dict[int, str] = {}
    for fold in range(k):
        for subject, config, trial_params in subjects:
            done += 1
            if fold in stored.get(str(subject), {}):
                reused += 1
                continue
            if on_step is not None:
                on_step(done - 1, total, f"fold {fold + 1}/{k} {_name(subject)}")
            if config.timesteps not in folds_by_t:
                folds_by_t[config.timesteps] = cross_validation_folds(trial_splits(sf.dataset, config.timesteps),
                                                                      k, seed)
            split = folds_by_t[config.timesteps][fold]
            result = _score_fold(sf, runner, config, trial_params, split)
            if result["status"] != "ok" and isinstance(subject, int):
                failed[subject] = f"fold {fold + 1}: {result['status']}"
            write_confirmation_fold(study, protocol, subject, fold, result)
            computed += 1
    if on_step is not None:
        on_step(total, total, "done")
    _write_columns(recorded, study)
    return ConfirmationRun(protocol=protocol, finalists=tuple(r.trial_number for r in finalists),
                           computed=computed, reused=reused, wall_s=time.perf_counter() - started, failed=failed)


def _name(subject: int | str) -> str:
    return "float baseline" if subject == BASELINE_SUBJECT else f"trial {subject}"


def _score_fold(sf: StudyFile, runner: Runner, config: QuantConfig, params: dict, split: Splits) -> dict:
    """Train ``config`` on the fold's training part and score its held-out part (validation slot)."""
    started = time.perf_counter()
    n = len(split.validation)
    try:
        outcome = runner(sf, config, learning_rate=params.get("learning_rate"), epochs=params.get("epochs"),
                         splits=split)
    except SilentNetworkError:
        return {"correct": [], "n": n, "status": "silent", "duration_s": time.perf_counter() - started}
    except DivergedError:
        return {"correct": [], "n": n, "status": "diverged", "duration_s": time.perf_counter() - started}
    return {"correct": list(outcome.validation_correct), "n": n, "status": "ok",
            "accuracy": outcome.validation_accuracy, "duration_s": time.perf_counter() - started}


def _write_columns(recorded: RecordedStudy, study: optuna.Study) -> None:
    """The results table's confirmation columns, for SQL users (the study attributes stay the record)."""
    engine = results_engine_for(recorded.url, study_storage(study))
    if engine is None:
        return
    fresh = replace(recorded, study_attrs=dict(study.user_attrs))
    stored = {r.trial_number: r for r in recorded.rows}
    for row in fresh.summary().rows:
        if row != stored.get(row.trial_number):  # confirmed now, or no longer a finalist
            call_with_retry(save_result, engine, row)
