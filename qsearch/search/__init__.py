"""The Optuna layer: create or join a study, the search space, the samplers, and the objective that records.

A thin layer over Optuna: one trial's work is :mod:`qsearch.trial`, what is stored is :mod:`qsearch.record`,
and running the trials is :mod:`qsearch.execution`.
"""

from qsearch.search._baseline_tuning import (
    FILE_SETTINGS_ATTR,
    TUNING_SUFFIX,
    TuningObjective,
    tunable,
    tuning_pruner,
    tuning_sampler,
    tuning_study_name,
)
from qsearch.search._hopeless import (
    HOPELESS_REASON,
    Curve,
    Evidence,
    HopelessRule,
    HopelessTrialError,
    ReplayReport,
    replay,
    study_curves,
)
from qsearch.search._objective import (
    BASELINE_ATTR,
    DUPLICATE_ATTR,
    MIN_JUDGED_VALIDATION,
    REFERENCE_ATTR,
    BaselinePending,
    Objective,
    directions,
    raise_if_baseline_failed,
)
from qsearch.search._samplers import make_sampler
from qsearch.search._snapshot import StudySnapshot, trial_snapshot
from qsearch.search._space import baseline_config, baseline_params, grid_search_space, sample_trial
from qsearch.search._study import (
    RUN_ONLY_FIELDS,
    STUDY_FILE_ATTR,
    STUDY_FILE_HASH_ATTR,
    finished_trials,
    open_study,
    python_inputs_changed,
    study_file_hash,
)

__all__ = [
    "BASELINE_ATTR", "DUPLICATE_ATTR", "FILE_SETTINGS_ATTR", "HOPELESS_REASON", "MIN_JUDGED_VALIDATION",
    "REFERENCE_ATTR", "RUN_ONLY_FIELDS", "STUDY_FILE_ATTR", "STUDY_FILE_HASH_ATTR", "TUNING_SUFFIX",
    "BaselinePending", "Curve", "Evidence", "HopelessRule", "HopelessTrialError", "Objective", "ReplayReport",
    "StudySnapshot", "TuningObjective", "baseline_config", "baseline_params", "directions", "finished_trials",
    "grid_search_space", "make_sampler", "open_study", "python_inputs_changed", "raise_if_baseline_failed", "replay",
    "sample_trial", "study_curves", "study_file_hash", "trial_snapshot", "tunable", "tuning_pruner", "tuning_sampler",
    "tuning_study_name",
]
