"""The Optuna objective: sample a config, run the trial, record metrics, constraints and the results row.

A trial whose parameters and configuration equal those of an earlier COMPLETE trial is not trained again:
data splits, encodings, initialisation, training and stochastic rounding are all seeded, so it would measure the
same numbers. It reuses that trial's measurements (user attribute ``duplicate_of``, results-row reason
``duplicate``) and goes through the same constraint and reporting path as a trained one.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal

import optuna
from optuna.artifacts import FileSystemArtifactStore
from sqlalchemy import Engine

from qsearch.metrics import bits_to_kib, metric
from qsearch.quant import QuantConfig
from qsearch.record import (
    call_with_retry,
    fail_stale_trials,
    keys,
    optuna_compat,
    result_row,
    reused_outcome,
    set_user_attrs,
    store_weights,
)
from qsearch.results import save_result
from qsearch.search._hopeless import (
    EVIDENCE_ATTR,
    HOPELESS_REASON,
    EpochCallback,
    HopelessRule,
    HopelessTrialError,
    judging_hook,
    study_curves,
)
from qsearch.search._snapshot import StudySnapshot, trial_snapshot
from qsearch.search._space import SampledTrial, baseline_config, sample_trial
from qsearch.search._wrapping import proposal_notes
from qsearch.snn import DivergedError, SilentNetworkError
from qsearch.stops import StopReason
from qsearch.studyfile import StudyFile
from qsearch.trial import (
    BaselineError,
    ReferenceResult,
    TrialOutcome,
    check_baseline,
    is_imported,
    not_learning_message,
    run_trial,
    silent_baseline_message,
    study_reference,
    trial_splits,
)

BASELINE_ATTR = keys.BASELINE
DUPLICATE_ATTR = keys.DUPLICATE_OF
#: user attribute of the baseline trial (and the study) holding the non-spiking reference (ReferenceResult)
REFERENCE_ATTR = keys.REFERENCE
BASELINE_FAILURE_ATTR = keys.BASELINE_FAILURE
BASELINE_CHECK_ATTR = keys.BASELINE_CHECK
#: the not-learning check needs at least this many validation samples
MIN_JUDGED_VALIDATION = 30
DUPLICATE_REASON = keys.DUPLICATE_REASON
#: constraint value given to trials that are not candidates (the baseline) — positive means infeasible
NOT_A_CANDIDATE = 1e9

TrialRunner = Callable[..., TrialOutcome]
EpochHook = Callable[[int, int, float, float], None]


def directions(objectives: list[str]) -> list[Literal["maximize", "minimize"]]:
    """Optuna's study directions for the study file's objectives (from :mod:`qsearch.metrics`)."""
    return [metric(o).direction for o in objectives]


def metric_names(objectives: list[str]) -> list[str]:
    """Optuna's metric names (quantity and unit) for the study file's objectives."""
    return [metric(o).optuna_name for o in objectives]


def objective_values(outcome: TrialOutcome, objectives: list[str]) -> list[float]:
    return [metric(o).from_outcome(outcome) for o in objectives]


def tuning_phrase(tuning: Mapping[str, Any] | None, study_file: StudyFile) -> str:
    """What tuning did for the baseline, in the words of its one-line diagnosis."""
    if tuning is None:
        when = study_file.baseline.tune.when
        return "not tuned (baseline.tune.when: never)" if when == "never" else "not tuned"
    if tuning.get("outcome") == "tuned":
        return f"after tuning ({tuning.get('trials')} settings tried in study {tuning.get('tuning_study')!r})"
    return "not tuned (the file's settings passed the check)"


class BaselinePending(Exception):  # noqa: N818 - a signal to the trial loop, not an error
    """The float baseline is queued but no live worker runs it: this trial yields to it (it is re-queued with
    the same parameters and the worker runs the baseline next — the lowest waiting trial)."""


def baseline_accuracy(study: optuna.Study, wait_s: float = 3600.0, poll_s: float = 1.0) -> float | None:
    """Accuracy of the finished float baseline; waits while another *live* worker is training it.

    A baseline whose worker died (no heartbeat for the grace period) is failed and re-queued here, so no
    worker waits longer than the grace period for a dead one; a queued baseline nobody runs raises
    :class:`BaselinePending`. None when the study has no baseline left to wait for.
    """
    deadline = time.monotonic() + wait_s
    while True:
        baseline = StudySnapshot.read(study).baseline()
        if baseline.accuracy is not None:
            return baseline.accuracy
        if not baseline.running and baseline.waiting:
            raise BaselinePending("the float baseline is queued and no worker runs it")
        if not baseline.running or time.monotonic() > deadline:
            return None
        fail_stale_trials(study)
        time.sleep(poll_s)


def baseline_failure(study: optuna.Study) -> str | None:
    """The one-line diagnosis of a baseline that stopped the study, if there is one."""
    return StudySnapshot.read(study).baseline_failure()


def raise_if_baseline_failed(study: optuna.Study) -> None:
    """Raise :class:`BaselineError` (one line, ``qsearch run`` exits 2) when the study's baseline failed."""
    message = baseline_failure(study)
    if message is not None:
        raise BaselineError(message)


class Objective:
    """Callable objective bound to one study file and results database."""

    def __init__(self, study_file: StudyFile, study_name: str, results_engine: Engine | None,
                 runner: TrialRunner = run_trial, on_epoch: EpochHook | None = None,
                 artifact_store: FileSystemArtifactStore | None = None,
                 baseline_outcome: TrialOutcome | None = None, tuning: Mapping[str, Any] | None = None) -> None:
        self.study_file = study_file
        #: the float baseline's training when this process already ran it in full (the tuning's chosen trial)
        self.baseline_outcome = baseline_outcome
        self.tuning = tuning  # how the baseline's settings were settled (execution._baseline), if they were
        self.artifact_store = artifact_store  # where trials on the front keep their weights (None: nowhere)
        self.study_name = study_name
        self.results_engine = results_engine
        self.runner = runner
        self.on_epoch = on_epoch
        self._baseline: float | None = None  # the study's baseline accuracy once settled: it cannot change

    def __call__(self, trial: optuna.Trial) -> list[float]:
        sf = self.study_file
        is_baseline = bool(trial.user_attrs.get(BASELINE_ATTR))
        snapshot = trial_snapshot(trial)  # the study's one read for this trial (the quota guard's, if it ran)
        if not is_baseline and snapshot.baseline_failure() is not None:  # another worker's baseline failed
            trial.study.stop()
            raise optuna.TrialPruned("the float baseline stopped the study")
        sampled = sample_trial(trial, sf)
        config = baseline_config(sf) if is_baseline else sampled.config
        recorded = config.to_dict()
        started_attrs = {**proposal_notes(trial.study, optuna_compat.trial_id(trial)), keys.CONFIG: recorded,
                         keys.SUMMARY: config.summary(), keys.WORKER_HOST: socket.gethostname()}
        started = time.perf_counter()
        original = None if is_baseline else snapshot.earlier_duplicate(trial.params, recorded)
        outcome = None if original is None else reused_outcome(original, config, time.perf_counter() - started)
        if original is not None and outcome is not None:  # nothing to train: all its attributes in one write
            return self._finish(trial, config, outcome, is_baseline, reason=DUPLICATE_REASON,
                                attrs={**started_attrs, DUPLICATE_ATTR: original.number})
        set_user_attrs(trial, started_attrs)  # shown while it trains (optuna-dashboard: what runs where)
        on_epoch = self.on_epoch
        hook = (lambda e, loss, acc: on_epoch(trial.number, e, loss, acc)) if on_epoch else None
        hook = hook if is_baseline else self._judged(snapshot, sampled, hook)
        trained = self.baseline_outcome if is_baseline else None
        try:
            outcome = trained if trained is not None and trained.config == config else self.runner(
                sf, config, learning_rate=None if is_baseline else sampled.learning_rate,
                epochs=None if is_baseline else sampled.epochs, on_epoch=hook)
        except SilentNetworkError as stop:
            if is_baseline:
                history = stop.partial.validation_history
                self._stop_study(trial, config, StopReason.SILENT_BASELINE, silent_baseline_message(
                    stop.layer_rates, 100 * history[-1] if history else None, *self._reference(trial, config)),
                    epochs_run=stop.partial.epochs_run, silent=True)
            set_user_attrs(trial, {keys.REASON: StopReason.SILENT, keys.EPOCHS_RUN: stop.partial.epochs_run,
                                   keys.SILENT_FRACTION: stop.fraction})
            self._save(trial, config, "PRUNED", StopReason.SILENT, None, None, silent=True,
                       epochs_run=stop.partial.epochs_run)
            raise optuna.TrialPruned(str(stop)) from None
        except HopelessTrialError as stop:
            evidence = stop.evidence
            set_user_attrs(trial, {keys.REASON: HOPELESS_REASON, keys.EPOCHS_RUN: evidence.epoch + 1,
                                   EVIDENCE_ATTR: evidence.as_dict()})
            self._save(trial, config, "PRUNED", HOPELESS_REASON, None, None, silent=False,
                       epochs_run=evidence.epoch + 1)
            raise optuna.TrialPruned(str(stop)) from None
        except DivergedError as error:
            trial.set_user_attr(keys.REASON, StopReason.NAN_LOSS)
            self._save(trial, config, "FAIL", StopReason.NAN_LOSS, None, None, silent=False, epochs_run=None)
            raise error
        if is_baseline:
            chance, reference = self._reference(trial, config)
            check = None if reference is None else check_baseline(
                outcome.validation_correct, reference, chance, sf.baseline.min_reference_share)
            if check is not None:
                set_user_attrs(trial, {BASELINE_CHECK_ATTR: check.as_dict()})
                trial.study.set_user_attr(BASELINE_CHECK_ATTR, check.as_dict())
            # the user's imported network is theirs to compress: its check is reported, never a stop
            message = None
            if check is not None and reference is not None and not is_imported(sf.model):
                message = not_learning_message(check, reference, outcome.layer_rates, tuning_phrase(self.tuning, sf))
            if message is not None:
                self._stop_study(trial, config, StopReason.BASELINE_NOT_LEARNING, message,
                                 epochs_run=outcome.epochs_run, silent=False)
        return self._finish(trial, config, outcome, is_baseline, reason=outcome.stop_reason)

    def _judged(self, snapshot: StudySnapshot, sampled: SampledTrial,
                hook: EpochCallback | None) -> EpochCallback | None:
        """``hook`` that also stops a QAT trial which can no longer reach the accuracy budget (see _hopeless)."""
        sf = self.study_file
        rule_settings, drop = sf.early_stopping.hopeless, sf.constraints.max_accuracy_drop
        if sampled.config.scheme != "qat" or not rule_settings.enabled or drop is None:
            return hook
        reference = snapshot.baseline().accuracy
        if reference is None:
            return hook
        epochs = (sf.training.qat_epochs if sf.training.qat_from_float
                  else sampled.epochs or sf.training.epochs)
        finished = snapshot.in_states((optuna.trial.TrialState.COMPLETE,))
        rule = HopelessRule.from_curves(study_curves(finished), epochs, rule_settings.margin,
                                        rule_settings.min_curves)
        return judging_hook(rule, reference - drop, hook) if rule.bounds else hook

    def _baseline_accuracy(self, trial: optuna.Trial) -> float | None:
        """The float baseline's accuracy: kept once settled (complete, no other baseline left to finish), else
        read afresh, waiting for a baseline another worker trains (:func:`baseline_accuracy`)."""
        if self._baseline is None:
            baseline = trial_snapshot(trial).baseline()
            if not baseline.settled:
                return baseline_accuracy(trial.study)
            self._baseline = baseline.accuracy
        return self._baseline

    def _reference(self, trial: optuna.Trial, config: QuantConfig) -> tuple[float, ReferenceResult | None]:
        """Chance (majority class, validation) and the non-spiking reference of the study's data, recorded on
        the baseline trial and the study; no reference for the synthetic runner (it has no data)."""
        if self.study_file.trial_runner != "snn":
            return 0.0, None
        splits = trial_splits(self.study_file.dataset, config.timesteps)
        chance, reference = study_reference(self.study_file.dataset, config.timesteps, self.study_file.training.seed)
        attrs = {**reference.as_dict(), "chance": chance, "preprocessing": splits.preprocessing}
        trial.set_user_attr(REFERENCE_ATTR, attrs)
        trial.study.set_user_attr(REFERENCE_ATTR, attrs)
        if len(splits.validation) < MIN_JUDGED_VALIDATION:  # a few samples cannot tell learning from chance
            return chance, None
        return chance, reference

    def _stop_study(self, trial: optuna.Trial, config: QuantConfig, reason: str, message: str, *,
                    epochs_run: int | None, silent: bool) -> None:
        """Record the unusable baseline (pruned, with its diagnosis) and stop the study: no trial follows."""
        set_user_attrs(trial, {keys.REASON: reason, BASELINE_FAILURE_ATTR: message})
        self._save(trial, config, "PRUNED", reason, None, None, silent=silent, epochs_run=epochs_run)
        trial.study.stop()
        raise optuna.TrialPruned(message)

    def _finish(self, trial: optuna.Trial, config: QuantConfig, outcome: TrialOutcome, is_baseline: bool,
                reason: str, attrs: Mapping[str, Any] | None = None) -> list[float]:
        """Constraints, user attributes (``attrs`` too, in the same write) and the results row of a finished
        trial; returns the objective values."""
        sf = self.study_file
        reference = outcome.accuracy if is_baseline else self._baseline_accuracy(trial)
        drop = None if reference is None else reference - outcome.accuracy
        constraints = sf.constraints
        feasible = not is_baseline
        if constraints.max_accuracy_drop is not None:
            value = NOT_A_CANDIDATE if drop is None else drop - constraints.max_accuracy_drop
            trial.set_constraint("accuracy_drop", NOT_A_CANDIDATE if is_baseline else value)
            feasible = feasible and value <= 0
        if constraints.max_memory_kib is not None:
            value = bits_to_kib(outcome.memory_bits) - constraints.max_memory_kib
            trial.set_constraint("memory_kib", NOT_A_CANDIDATE if is_baseline else value)
            feasible = feasible and value <= 0
        if is_baseline and constraints.max_accuracy_drop is None and constraints.max_memory_kib is None:
            trial.set_constraint("candidate", NOT_A_CANDIDATE)
        set_user_attrs(trial, {**(attrs or {}), **keys.measured_attrs(outcome, drop, feasible)})  # one write
        self._save(trial, config, "COMPLETE", reason, outcome, drop, silent=False,
                   epochs_run=outcome.epochs_run, feasible=feasible)
        values = objective_values(outcome, sf.objectives)
        if feasible and outcome.trained_state is not None and self.artifact_store is not None \
                and not trial_snapshot(trial).dominated(values, directions(sf.objectives)):
            call_with_retry(store_weights, trial, self.artifact_store, outcome.trained_state)
        return values

    def _save(self, trial: optuna.Trial, config: QuantConfig, state: str, reason: str,
              outcome: TrialOutcome | None, drop: float | None, *, silent: bool, epochs_run: int | None,
              feasible: bool = False) -> None:
        if self.results_engine is None:
            return
        row = result_row(self.study_name, trial.number, config, state, reason, outcome, drop, silent=silent,
                         epochs_run=epochs_run, feasible=feasible,
                         is_baseline=bool(trial.user_attrs.get(BASELINE_ATTR)))
        call_with_retry(save_result, self.results_engine, row)  # idempotent: replaces the (study, trial) row
