"""Tuning the float SNN before it is compressed: the search space and the objective of the nested study.

The defaults that make the bundled sets learn (``weight_scale: auto``, ``li_sum``, ``min_steps``, regular
coding) do not transfer to every real data set, and the quantization search cannot fix a baseline it only
compresses. ``baseline.tune`` runs a short single-objective Optuna study of the float SNN's own settings on
validation accuracy, stored beside the main study as ``<study>:baseline-tune`` (so optuna-dashboard shows it,
a second run resumes it and workers share it). Its first trial is the study file's own settings; the others
sample the encoding, the data-driven initial firing rate, the learning rate, the two time constants, the
readout and (when several are searched) the timesteps. A median pruner stops the poor ones early. Running it is
:mod:`qsearch.execution._baseline`; the rule that asks for it is :mod:`qsearch.trial._baseline_check`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import optuna

from qsearch.record import keys, result_row, set_user_attrs
from qsearch.results import save_result
from qsearch.search._space import baseline_config
from qsearch.snn import DivergedError, SilentNetworkError
from qsearch.stops import StopReason
from qsearch.studyfile import StudyFile, study_with_settings
from qsearch.trial import TrialOutcome, is_imported, run_trial

#: appended to the main study's name to name its tuning study
TUNING_SUFFIX = ":baseline-tune"
#: user attribute of the tuning study's first trial: the study file's own settings, nothing sampled
FILE_SETTINGS_ATTR = "file_settings"
#: static-data encodings the tuning chooses among (event data has none to choose)
ENCODINGS = ("regular", "rate", "direct")
#: sampled ranges: (low, high) on a log scale
INIT_RATE_RANGE = (0.03, 0.5)
LEARNING_RATE_RANGE = (1e-3, 3e-2)
TAU_MEM_INV_RANGE = (20.0, 500.0)  # 1/s; with dt = 1 ms a membrane keeps 98 % to 50 % per step
TAU_SYN_INV_RANGE = (50.0, 1000.0)
READOUTS = ("li_sum", "li")


def tuning_study_name(study_name: str) -> str:
    return f"{study_name}{TUNING_SUFFIX}"


def tunable(study: StudyFile) -> bool:
    """Whether the study has float settings of its own to tune: an SNN built here (not the synthetic test
    double, not the user's imported network, which is taken as trained)."""
    return study.trial_runner == "snn" and not is_imported(study.model)


def _static_data(study: StudyFile) -> bool:
    """Static samples are spike-encoded (their spec has an ``encoding``); event data arrive as spikes."""
    return hasattr(study.dataset, "encoding")


def sample_settings(trial: optuna.Trial, study: StudyFile) -> dict[str, Any]:
    """The float settings one tuning trial tries, as dotted study-file keys (:func:`study_with_settings`)."""
    settings: dict[str, Any] = {}
    if _static_data(study):  # the whole section: each kind has fields of its own (direct has no max_rate)
        kind = trial.suggest_categorical("encoding", ENCODINGS)
        max_rate = getattr(getattr(study.dataset, "encoding", None), "max_rate", 1.0)
        settings["dataset.encoding"] = {"kind": kind} if kind == "direct" else {"kind": kind, "max_rate": max_rate}
    if study.model.weight_scale == "auto":
        settings["model.init_rate"] = trial.suggest_float("init_rate", *INIT_RATE_RANGE, log=True)
    settings["training.learning_rate"] = trial.suggest_float("learning_rate", *LEARNING_RATE_RANGE, log=True)
    settings["model.neuron.tau_mem_inv"] = trial.suggest_float("tau_mem_inv", *TAU_MEM_INV_RANGE, log=True)
    settings["model.neuron.tau_syn_inv"] = trial.suggest_float("tau_syn_inv", *TAU_SYN_INV_RANGE, log=True)
    settings["model.readout"] = trial.suggest_categorical("readout", READOUTS)
    timesteps = sorted(set(study.search_space.timesteps))
    if len(timesteps) > 1:
        settings["baseline.timesteps"] = trial.suggest_categorical("timesteps", timesteps)
    return settings


def tuning_sampler(seed: int) -> optuna.samplers.BaseSampler:
    """TPE, seeded: a few random trials, then model-based (a dozen trials is TPE's small-budget regime)."""
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=5, multivariate=True)


def tuning_pruner() -> optuna.pruners.BasePruner:
    """Median pruning on the per-epoch validation accuracy once three trials have finished, from a quarter of
    ``training.epochs`` on (:class:`TuningObjective`); the file's own settings (trial 0) always run to the end."""
    return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=0)


def shortened(study: StudyFile, fraction: float) -> dict[str, Any]:
    """The settings that make one tuning trial train ``fraction`` of the baseline's epochs and steps."""
    training = study.training
    return {"training.epochs": max(1, math.ceil(training.epochs * fraction)),
            "training.min_steps": math.ceil(training.min_steps * fraction)}


class TuningObjective:
    """One tuning trial: the study file with the trial's settings, trained as the float baseline would be for
    ``steps_fraction`` of its steps; the value is its validation accuracy (the test split is not kept).

    With ``file_settings_in_full`` the file's own settings (trial 0) train in full, so the check can judge
    them and the baseline trial can reuse the training; their value is then the validation accuracy at the
    same share of that training, so that every trial is compared at the same length."""

    def __init__(self, study: StudyFile, tuning_name: str, results_engine=None,
                 runner: Callable[..., TrialOutcome] = run_trial,
                 on_epoch: Callable[[int, int, float, float], None] | None = None, steps_fraction: float = 1.0,
                 file_settings_in_full: bool = True) -> None:
        self.study = study
        self.tuning_name = tuning_name
        self.results_engine = results_engine
        self.runner = runner
        self.on_epoch = on_epoch
        self.steps_fraction = steps_fraction
        self.file_settings_in_full = file_settings_in_full
        self.outcomes: dict[int, TrialOutcome] = {}  # full trainings of this process: the baseline reuses one

    def __call__(self, trial: optuna.Trial) -> float:
        file_settings = bool(trial.user_attrs.get(FILE_SETTINGS_ATTR))
        settings = {} if file_settings else sample_settings(trial, self.study)
        tuned = study_with_settings(self.study, settings)
        full = (file_settings and self.file_settings_in_full) or self.steps_fraction >= 1
        trained_as = tuned if full else study_with_settings(tuned, shortened(tuned, self.steps_fraction))
        config = baseline_config(tuned)
        set_user_attrs(trial, {keys.TUNED_SETTINGS: settings, keys.CONFIG: config.to_dict()})
        warmup = max(1, trained_as.training.epochs // 4)

        def report(epoch: int, loss: float, accuracy: float) -> None:
            if self.on_epoch is not None:
                self.on_epoch(trial.number, epoch, loss, accuracy)
            trial.report(100 * accuracy, epoch)
            if not file_settings and epoch + 1 >= warmup and trial.should_prune():
                raise optuna.TrialPruned(f"validation {100 * accuracy:.1f} % below the median at epoch {epoch + 1}")

        try:
            outcome = self.runner(trained_as, config, on_epoch=report)
        except optuna.TrialPruned:
            trial.set_user_attr(keys.REASON, StopReason.TUNING_PRUNED)
            self._save(trial, config, "PRUNED", StopReason.TUNING_PRUNED, None)
            raise
        except SilentNetworkError as stop:
            set_user_attrs(trial, {keys.REASON: StopReason.SILENT, keys.EPOCHS_RUN: stop.partial.epochs_run})
            self._save(trial, config, "PRUNED", StopReason.SILENT, None)
            raise optuna.TrialPruned(str(stop)) from None
        except DivergedError:
            trial.set_user_attr(keys.REASON, StopReason.NAN_LOSS)
            self._save(trial, config, "PRUNED", StopReason.NAN_LOSS, None)
            raise optuna.TrialPruned("the loss diverged") from None
        value = outcome.validation_accuracy
        if full and trained_as is tuned:
            self.outcomes[trial.number] = outcome
            curve = outcome.validation_curve
            if self.steps_fraction < 1 and curve:  # compared with the others at the same share of its training
                value = curve[max(math.ceil(len(curve) * self.steps_fraction) - 1, 0)]
        set_user_attrs(trial, {keys.REASON: outcome.stop_reason, keys.EPOCHS_RUN: outcome.epochs_run,
                               "validation_accuracy": outcome.validation_accuracy, "in_full": full,
                               "validation_n": outcome.validation_n, "validation_correct": outcome.validation_correct,
                               "duration_s": outcome.duration_s})
        self._save(trial, config, "COMPLETE", outcome.stop_reason, outcome)
        return value

    def _save(self, trial: optuna.Trial, config, state: str, reason: str, outcome: TrialOutcome | None) -> None:
        """The trial's row in the results table, under the tuning study's name, without its test accuracy and
        paired test evidence: tuning chooses on validation and keeps nothing of the test split."""
        if self.results_engine is None:
            return
        row = result_row(self.tuning_name, trial.number, config, state, reason, outcome, None, silent=False,
                         epochs_run=None if outcome is None else outcome.epochs_run, feasible=False,
                         is_baseline=True)
        evidence = None if row.paired is None else {k: v for k, v in row.paired.items() if k != "test"}
        save_result(self.results_engine, replace(row, test_accuracy=None, test_n=None, paired=evidence))


__all__ = ["FILE_SETTINGS_ATTR", "TUNING_SUFFIX", "TuningObjective", "sample_settings", "shortened", "tunable",
           "tuning_pruner", "tuning_sampler", "tuning_study_name"]
