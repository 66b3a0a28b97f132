"""Results rows for any storage: the SQL results table where there is one, else rebuilt from Optuna's trials.

SQL storages (SQLite, PostgreSQL, MySQL/MariaDB) hold the typed ``qsearch_results`` table next to Optuna's
tables. Journal files, Redis journals and the gRPC proxy have no SQL database to put it in, but every trial also
carries its configuration and measurements as user attributes (what optuna-dashboard shows): the same rows are
rebuilt from those, so ``qsearch best/trials/plot`` and the end-of-run report work on every storage.
"""

from __future__ import annotations

import datetime as dt
import socket

import optuna

from qsearch.metrics import bits_to_kib, pj_to_nj
from qsearch.quant import QuantConfig
from qsearch.record import keys
from qsearch.results import ResultRow
from qsearch.stops import StopReason
from qsearch.trial import TrialOutcome

#: failed trials that the objective records (a diverged loss); other failures (quota, crashes) have no row
_RECORDED_FAILURES = (StopReason.NAN_LOSS,)


def reused_outcome(original: optuna.trial.FrozenTrial, config: QuantConfig,
                   duration_s: float) -> TrialOutcome | None:
    """The outcome recorded in ``original``'s user attributes (None if any measurement is missing).

    ``duration_s`` is this trial's own cost (the look-up), so summed durations stay the real compute time.
    """
    values = keys.measured_from_attrs(original.user_attrs)
    if values is None:
        return None
    return TrialOutcome(config=config, **{**values, "duration_s": duration_s})


def result_row(study_name: str, number: int, config: QuantConfig, state: str, reason: str,
               outcome: TrialOutcome | None, drop: float | None, *, silent: bool, epochs_run: int | None,
               feasible: bool, is_baseline: bool, worker_host: str | None = None,
               finished_at: dt.datetime | None = None) -> ResultRow:
    """The typed results row of one trial (outcome is None for stopped or failed trials)."""
    bits = [config.layer_bits(i) for i in range(max(len(config.weight_bits), 1))]
    return ResultRow(
        study_name=study_name, trial_number=number, state=state, reason=reason, is_baseline=is_baseline,
        scheme=config.scheme, weight_bits="/".join(str(b) for b in bits), max_weight_bits=max(bits),
        membrane_bits=config.membrane_bits, current_bits=config.current_bits, param_bits=config.param_bits,
        rounding=config.rounding, timesteps=config.timesteps,
        sparsity=sum(config.sparsity) / len(config.sparsity) if config.sparsity else 0.0,
        accuracy=outcome.accuracy if outcome else None,
        test_accuracy=outcome.test_accuracy if outcome else None,
        validation_accuracy=outcome.validation_accuracy if outcome else None,
        test_n=outcome.test_n if outcome else None, validation_n=outcome.validation_n if outcome else None,
        accuracy_drop=drop,
        memory_bits=outcome.memory_bits if outcome else None,
        memory_kib=bits_to_kib(outcome.memory_bits) if outcome else None,
        compression_ratio=outcome.float_memory_bits / outcome.memory_bits if outcome else None,
        sops=outcome.sops if outcome else None,
        energy_nj=pj_to_nj(outcome.energy_pj) if outcome else None,
        epochs_run=epochs_run, silent=silent, feasible=feasible,
        duration_s=outcome.duration_s if outcome else None,
        worker_host=socket.gethostname() if worker_host is None else worker_host,
        device=outcome.device if outcome else None,
        config=config.to_dict(), memory_breakdown=outcome.memory_breakdown if outcome else None,
        finished_at=finished_at,
        paired=({"validation": outcome.validation_correct, "test": outcome.test_correct,
                 "draws": outcome.evaluation_draws} if outcome is not None and outcome.validation_correct else None),
    )


def trial_row(trial: optuna.trial.FrozenTrial, study_name: str) -> ResultRow | None:
    """The results row of one trial from its user attributes (any namespace version), None if it has none."""
    attrs = trial.user_attrs
    state = trial.state.name
    recorded = (state in ("COMPLETE", "PRUNED")
                or (state == "FAIL" and attrs.get(keys.REASON) in _RECORDED_FAILURES))
    if keys.CONFIG not in attrs or not recorded:
        return None
    config = QuantConfig.from_dict(attrs[keys.CONFIG])
    outcome = reused_outcome(trial, config, attrs.get("duration_s", 0.0)) if state == "COMPLETE" else None
    if outcome is not None:
        reason = keys.DUPLICATE_REASON if attrs.get(keys.DUPLICATE_OF) is not None else outcome.stop_reason
    else:
        reason = attrs.get(keys.REASON, StopReason.ERROR)
    return result_row(study_name, trial.number, config, state, reason, outcome, attrs.get(keys.ACCURACY_DROP),
                      silent=reason == StopReason.SILENT, epochs_run=attrs.get(keys.EPOCHS_RUN),
                      feasible=bool(attrs.get(keys.FEASIBLE)), is_baseline=bool(attrs.get(keys.BASELINE)),
                      worker_host=attrs.get(keys.WORKER_HOST, ""), finished_at=trial.datetime_complete)


def study_rows(study: optuna.Study, study_name: str) -> list[ResultRow]:
    """One results row per finished trial, from the trials' user attributes (as the objective wrote them)."""
    rows = (trial_row(trial, study_name) for trial in study.get_trials(deepcopy=False))
    return [row for row in rows if row is not None]
