"""Results rows for any storage: the SQL results table where there is one, else rebuilt from Optuna's trials.

SQL storages (SQLite, PostgreSQL, MySQL/MariaDB) hold the typed ``qsearch_results`` table next to Optuna's
tables. Journal files, Redis journals and the gRPC proxy have no SQL database to put it in, but every trial also
carries its configuration and measurements as user attributes (what optuna-dashboard shows): the same rows are
rebuilt from those, so ``qsearch best/trials/plot`` and the end-of-run report work on every storage.
"""

from __future__ import annotations

import optuna

from qsearch.quant import QuantConfig
from qsearch.results import ResultFilter, engine_for, filter_rows, load_results
from qsearch.search._objective import BASELINE_ATTR, DUPLICATE_ATTR, DUPLICATE_REASON, result_row, reused_outcome
from qsearch.search._storage import check_readable, make_storage, storage_kind

#: failed trials that the objective records (a diverged loss); other failures (quota, crashes) have no row
_RECORDED_FAILURES = ("nan_loss",)


def study_rows(study: optuna.Study, study_name: str) -> list[dict]:
    """One results row per finished trial, from the trials' user attributes (as the objective wrote them)."""
    rows = []
    for trial in study.get_trials(deepcopy=False):
        attrs = trial.user_attrs
        state = trial.state.name
        recorded = (state in ("COMPLETE", "PRUNED")
                    or (state == "FAIL" and attrs.get("reason") in _RECORDED_FAILURES))
        if "config" not in attrs or not recorded:
            continue
        config = QuantConfig.from_dict(attrs["config"])
        outcome = reused_outcome(trial, config, attrs.get("duration_s", 0.0)) if state == "COMPLETE" else None
        if outcome is not None:
            reason = DUPLICATE_REASON if attrs.get(DUPLICATE_ATTR) is not None else outcome.stop_reason
        else:
            reason = attrs.get("reason", "error")
        row = result_row(study_name, trial.number, config, state, reason, outcome, attrs.get("accuracy_drop"),
                         silent=reason == "silent", epochs_run=attrs.get("epochs_run"),
                         feasible=bool(attrs.get("feasible")), is_baseline=bool(attrs.get(BASELINE_ATTR)))
        row.worker_host = attrs.get("worker_host", "")
        if trial.datetime_complete is not None:
            row.finished_at = trial.datetime_complete
        rows.append(row.as_dict())
    return rows


def read_results(url: str, study_name: str, flt: ResultFilter = ResultFilter(), sort: str = "trial_number",
                 descending: bool = False) -> list[dict]:
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
