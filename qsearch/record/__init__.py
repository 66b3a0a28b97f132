"""What is stored and how: storages from URLs, the trial-attribute keys, results rows, retries, the table lock.

Every Optuna storage qsearch opens is built here (:func:`make_storage`), with credentials masked in every
message and in the recorded study file. :mod:`qsearch.record.keys` names every stored attribute;
:mod:`qsearch.record.optuna_compat` holds every use of an Optuna internal.
"""

from qsearch.record import keys, optuna_compat
from qsearch.record._artifacts import (
    WEIGHTS_FILE,
    artifact_dir_for,
    artifact_store_for,
    store_weights,
    stored_weights,
)
from qsearch.record._confirmations import confirmed_drops
from qsearch.record._confirmations import fold_results as confirmation_fold_results
from qsearch.record._confirmations import protocol_id as confirmation_protocol
from qsearch.record._confirmations import write_fold_result as write_confirmation_fold
from qsearch.record._recorded_study import RecordedStudy, read_results, read_study, with_confirmation
from qsearch.record._results_rows import result_row, reused_outcome, study_rows, trial_row
from qsearch.record._results_table import delete_study, results_engine_for
from qsearch.record._retry import DEFAULT_POLICY, RetryPolicy, call_with_retry, is_transient, retrying
from qsearch.record._storage import (
    DEFAULT_GRACE_S,
    DEFAULT_HEARTBEAT_S,
    StorageError,
    check_persistent,
    check_readable,
    describe_target,
    fail_stale_trials,
    heartbeat_enabled,
    make_storage,
    mask_study_file,
    mask_url,
    readers_only,
    set_user_attrs,
    storage_kind,
)
from qsearch.record._table_lock import set_up_schema

__all__ = [
    "DEFAULT_GRACE_S", "DEFAULT_HEARTBEAT_S", "DEFAULT_POLICY", "WEIGHTS_FILE", "RecordedStudy", "RetryPolicy",
    "StorageError", "artifact_dir_for", "artifact_store_for", "call_with_retry", "check_persistent", "check_readable",
    "confirmation_fold_results", "confirmation_protocol", "confirmed_drops", "delete_study", "describe_target",
    "fail_stale_trials", "heartbeat_enabled", "is_transient", "keys", "make_storage", "mask_study_file", "mask_url",
    "optuna_compat", "read_results", "read_study", "readers_only", "result_row", "results_engine_for", "retrying",
    "reused_outcome", "set_up_schema", "set_user_attrs", "storage_kind", "store_weights", "stored_weights",
    "study_rows", "trial_row", "with_confirmation", "write_confirmation_fold",
]
