"""The user attributes a trial stores in Optuna: the one place that names their keys and versions them.

Every trial carries its configuration and measurements as Optuna user attributes (what optuna-dashboard shows
and what rebuilds the results rows on storages without the SQL table, see ``_rows``). The keys are listed
here, explicitly, instead of following the fields of whatever dataclass the trial runner returns: a field
added there is not stored (or expected) until it is added here, with a new :data:`ATTRS_VERSION`.

Versions: 0 (no :data:`VERSION_KEY`) is every study written before the namespace existed; version 1 writes the same
keys plus the version; version 2 adds the split sizes ``test_n`` and ``validation_n`` and the ``device`` a trial
ran on and its ``validation_curve``; version 3 adds the paired evidence ``validation_correct`` and
``test_correct`` (per evaluation draw, packed bits of which samples were right) and ``evaluation_draws``.
Readers accept every version up to :data:`ATTRS_VERSION` (a missing optional key reads as its default).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from qsearch.stops import StopReason

ATTRS_VERSION = 3
VERSION_KEY = "qsearch_attrs_version"

BASELINE = "qsearch_baseline"  # the float baseline trial (set when enqueued)
CONFIG = "config"  # QuantConfig.to_dict()
SUMMARY = "summary"  # one-line configuration
WORKER_HOST = "worker_host"
REASON = "reason"  # why a trial stopped early or failed (silent, nan_loss, a worker's quota, ...)
BASELINE_FAILURE = "baseline_failure"  # a baseline that stopped the study: the one-line diagnosis
INITIAL_DESIGN = "initial_design"  # the initial design that proposed a trial ("ladder"; set when sampled)
DUPLICATE_OF = "duplicate_of"  # trial number whose measurements a repeated configuration reuses
ACCURACY_DROP = "accuracy_drop"  # points below the float baseline
FEASIBLE = "feasible"
EPOCHS_RUN = "epochs_run"
SILENT_FRACTION = "silent_fraction"
ACCURACY = "accuracy"  # percent on the study's accuracy split (a measurement, below)
VALIDATION_CURVE = "validation_curve"  # validation accuracy (percent) after each epoch of the last phase
REFERENCE = "reference"  # the non-spiking reference (ReferenceResult), on the baseline trial and the study
BASELINE_CHECK = "baseline_check"  # the float SNN against the reference, paired (trial.BaselineCheck.as_dict)
#: the study: how its float baseline's settings were settled (tuned or not, the tuning study, the chosen
#: study-file values as dotted keys: they apply over the recorded study file wherever it is read)
BASELINE_TUNING = "qsearch_baseline_tuning"
TUNED_SETTINGS = "tuned_settings"  # a trial of a tuning study: the study-file values it tried (dotted keys)
STUDY_FILE = "qsearch_study_file"  # the study: its study file as JSON, storage password masked
STUDY_FILE_HASH = "qsearch_study_file_sha256"  # the study: what the study file says about the search, hashed
DUPLICATE_REASON = StopReason.DUPLICATE  # the results-row reason of a trial that reused a repeated configuration
HOPELESS_EVIDENCE = "hopeless"  # why a QAT trial was stopped as unable to reach the budget (search._hopeless)

#: the measurements of a finished trial (fields of qsearch.search.TrialOutcome), required ones first
MEASURED_REQUIRED: tuple[str, ...] = (
    "accuracy", "test_accuracy", "validation_accuracy", "memory_bits", "memory_breakdown", "float_memory_bits",
    "sops", "energy_pj", "epochs_run", "stop_reason", "silent", "duration_s")
#: measurements with a default (older studies may lack them)
MEASURED_OPTIONAL: tuple[str, ...] = ("weight_formats", "membrane_format", "test_n", "validation_n", "device",
                                       "validation_curve", "validation_correct", "test_correct",
                                       "evaluation_draws", "macs")
#: the study: the confirmation of one finalist on one fold (protocol, trial number ("baseline" for the float
#: baseline) and fold index appended): written once per fold as it finishes, so an interrupted confirmation
#: resumes where it stopped and nothing is half-written
CONFIRMATION_PREFIX = "qsearch_confirm"
CONFIRMATION_BASELINE = "baseline"  # the subject name of the float baseline in a confirmation


def attrs_version(attrs: Mapping[str, Any]) -> int:
    """The namespace version of a trial's attributes; ValueError for a study written by a newer qsearch."""
    version = int(attrs.get(VERSION_KEY, 0))
    if version > ATTRS_VERSION:
        raise ValueError(f"--study-name: trial attributes of version {version} were written by a newer qsearch "
                         f"(this one reads up to {ATTRS_VERSION}); upgrade qsearch")
    return version


def measured_attrs(outcome: Any, accuracy_drop: float | None, feasible: bool) -> dict[str, Any]:
    """The attributes of a finished trial: its measurements, drop, feasibility and the namespace version."""
    values = {key: getattr(outcome, key) for key in (*MEASURED_REQUIRED, *MEASURED_OPTIONAL)}
    return {**values, ACCURACY_DROP: accuracy_drop, FEASIBLE: feasible, VERSION_KEY: ATTRS_VERSION}


def measured_from_attrs(attrs: Mapping[str, Any]) -> dict[str, Any] | None:
    """The measurements stored by :func:`measured_attrs` (any version), None if a required one is missing."""
    attrs_version(attrs)
    if any(key not in attrs for key in MEASURED_REQUIRED):
        return None
    return {key: attrs[key] for key in (*MEASURED_REQUIRED, *MEASURED_OPTIONAL) if key in attrs}
