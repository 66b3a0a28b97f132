"""Results rows for any storage: the SQL results table where there is one, else rebuilt from Optuna's trials.

SQL storages (SQLite, PostgreSQL, MySQL/MariaDB) hold the typed ``qsearch_results`` table next to Optuna's
tables. Journal files, Redis journals and the gRPC proxy have no SQL database to put it in, but every trial also
carries its configuration and measurements as user attributes (what optuna-dashboard shows): the same rows are
rebuilt from those, so ``qsearch best/trials/plot`` and the end-of-run report work on every storage.
"""

from __future__ import annotations

import optuna

from qsearch.quant import QuantConfig
from qsearch.results import ResultFilter, ResultRow, engine_for, filter_rows, load_results
from qsearch.search import _attrs
from qsearch.search._objective import DUPLICATE_REASON, result_row, reused_outcome
from qsearch.search._storage import check_readable, make_storage, storage_kind

#: failed trials that the objective records (a diverged loss); other failures (quota, crashes) have no row
_RECORDED_FAILURES = ("nan_loss",)


def trial_row(trial: optuna.trial.FrozenTrial, study_name: str) -> ResultRow | None:
    """The results row of one trial from its user attributes (any namespace version), None if it has none."""
    attrs = trial.user_attrs
    state = trial.state.name
    recorded = (state in ("COMPLETE", "PRUNED")
                or (state == "FAIL" and attrs.get(_attrs.REASON) in _RECORDED_FAILURES))
    if _attrs.CONFIG not in attrs or not recorded:
        return None
    config = QuantConfig.from_dict(attrs[_attrs.CONFIG])
    outcome = reused_outcome(trial, config, attrs.get("duration_s", 0.0)) if state == "COMPLETE" else None
    if outcome is not None:
        reason = DUPLICATE_REASON if attrs.get(_attrs.DUPLICATE_OF) is not None else outcome.stop_reason
    else:
        reason = attrs.get(_attrs.REASON, "error")
    return result_row(study_name, trial.number, config, state, reason, outcome, attrs.get(_attrs.ACCURACY_DROP),
                      silent=reason == "silent", epochs_run=attrs.get(_attrs.EPOCHS_RUN),
                      feasible=bool(attrs.get(_attrs.FEASIBLE)), is_baseline=bool(attrs.get(_attrs.BASELINE)),
                      worker_host=attrs.get(_attrs.WORKER_HOST, ""), finished_at=trial.datetime_complete)


def study_rows(study: optuna.Study, study_name: str) -> list[ResultRow]:
    """One results row per finished trial, from the trials' user attributes (as the objective wrote them)."""
    rows = (trial_row(trial, study_name) for trial in study.get_trials(deepcopy=False))
    return [row for row in rows if row is not None]


def read_results(url: str, study_name: str, flt: ResultFilter = ResultFilter(), sort: str = "trial_number",
                 descending: bool = False) -> list[ResultRow]:
    """The study's results rows, filtered and sorted, from whatever storage ``url`` names."""
    if storage_kind(url) in ("sqlite", "rdb"):
        check_readable(url)  # a mistyped SQLite path must not become a new, empty database
        return load_results(engine_for(url), study_name, flt, sort, descending)
    storage = make_storage(url, heartbeat_interval=None)
    try:
        study = optuna.load_study(study_name=study_name, storage=storage)
    except KeyError:
        return []
    return filter_rows(study_rows(study, study_name), flt, sort, descending)
