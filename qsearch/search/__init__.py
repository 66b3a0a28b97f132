"""The search layer: study files to Optuna studies, trials to configs, storage URLs, the objective."""

from qsearch.search._objective import (
    BASELINE_ATTR,
    DUPLICATE_ATTR,
    Objective,
    result_row,
)
from qsearch.search._reference import ReferenceResult, chance_accuracy, reference_accuracy
from qsearch.search._samplers import make_sampler
from qsearch.search._space import baseline_config, baseline_params, grid_search_space, sample_trial
from qsearch.search._storage import StorageError, describe_target, make_storage, mask_url, storage_kind
from qsearch.search._study import delete_study, finished_trials, open_study, results_engine_for, run_study
from qsearch.search._trial import TrialOutcome, build_model, run_trial

__all__ = [
    "BASELINE_ATTR", "DUPLICATE_ATTR", "Objective", "ReferenceResult", "StorageError", "TrialOutcome",
    "baseline_config", "baseline_params", "build_model", "chance_accuracy", "delete_study", "describe_target",
    "finished_trials", "grid_search_space", "make_sampler", "make_storage", "mask_url", "open_study",
    "reference_accuracy", "result_row", "results_engine_for", "run_study", "run_trial", "sample_trial",
    "storage_kind",
]
