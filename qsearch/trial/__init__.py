"""One trial, without Optuna: data -> quantized SNN -> train/evaluate -> costs, ending as a :class:`TrialOutcome`.

Also here: the encoded-input cache the trials of one process share, the user's imported network as a float
baseline, the non-spiking reference classifier, why a baseline is unusable, and the synthetic test double.
"""

from qsearch.trial._baseline_check import BaselineCheck, check_baseline
from qsearch.trial._baseline_diagnosis import BaselineError, not_learning_message, silent_baseline_message
from qsearch.trial._held_network import held_fingerprint, hold_network, network_fingerprint
from qsearch.trial._imported_network import is_imported, weight_layer_count
from qsearch.trial._input_cache import TrialData, encoded_trial_data, stochastic_encoding, trial_data, trial_splits
from qsearch.trial._pipeline import (
    TrainedTrial,
    TrialOutcome,
    build_model,
    check_study_inputs,
    evaluation_draws,
    rebuild_trial_model,
    run_trial,
    score,
    study_device,
    train_trial_model,
)
from qsearch.trial._reference_classifier import ReferenceResult, chance_accuracy, reference_accuracy, study_reference
from qsearch.trial._stops import EpochCallback, StopTraining, unjudged
from qsearch.trial._synthetic import runner_for, synthetic_trial

__all__ = [
    "BaselineCheck", "BaselineError", "EpochCallback", "ReferenceResult", "StopTraining", "TrainedTrial", "TrialData",
    "TrialOutcome", "build_model", "chance_accuracy", "check_baseline", "check_study_inputs", "encoded_trial_data",
    "evaluation_draws", "held_fingerprint", "hold_network", "is_imported", "network_fingerprint",
    "not_learning_message", "rebuild_trial_model", "reference_accuracy", "run_trial", "runner_for", "score",
    "silent_baseline_message", "stochastic_encoding", "study_device", "study_reference", "synthetic_trial",
    "train_trial_model", "trial_data", "trial_splits", "unjudged", "weight_layer_count",
]
