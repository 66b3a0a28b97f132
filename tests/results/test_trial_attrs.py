"""The versioned user-attribute namespace: studies written before it (unversioned keys) still read."""

from __future__ import annotations

import optuna
import pytest

from qsearch.quant import QuantConfig
from qsearch.record import make_storage, read_results
from qsearch.record.keys import ATTRS_VERSION, VERSION_KEY

_DIST = {"weight_bits": optuna.distributions.CategoricalDistribution([4, 32])}


def _old_measurements(accuracy: float, memory_bits: int) -> dict:
    """The keys a trial stored before the namespace existed (TrialOutcome's fields, no version key)."""
    return {"accuracy": accuracy, "test_accuracy": accuracy, "validation_accuracy": accuracy - 0.5,
            "memory_bits": memory_bits, "memory_breakdown": {"weights_layer0": memory_bits},
            "float_memory_bits": 32 * 8192, "sops": 1200.0, "energy_pj": 3000.0, "epochs_run": 5,
            "stop_reason": "completed", "silent": False, "duration_s": 2.5, "weight_formats": ["int4"],
            "membrane_format": "int8"}


def _old_study(url: str, name: str, extra: dict | None = None) -> None:
    study = optuna.create_study(study_name=name, storage=make_storage(url, heartbeat_interval=None),
                                directions=["maximize", "minimize"])
    float_config, quantized = QuantConfig(weight_bits=(32, 32)), QuantConfig(scheme="ptq", weight_bits=(4, 4))
    study.add_trial(optuna.trial.create_trial(
        params={"weight_bits": 32}, distributions=_DIST, values=[96.0, 32.0],
        user_attrs={"qsearch_baseline": True, "config": float_config.to_dict(), "worker_host": "old-host",
                    **_old_measurements(96.0, 32 * 8192), "accuracy_drop": 0.0, "feasible": False}))
    study.add_trial(optuna.trial.create_trial(
        params={"weight_bits": 4}, distributions=_DIST, values=[95.5, 4.0],
        user_attrs={"config": quantized.to_dict(), "worker_host": "old-host", **_old_measurements(95.5, 4 * 8192),
                    "accuracy_drop": 0.5, "feasible": True, **(extra or {})}))
    study.add_trial(optuna.trial.create_trial(
        params={"weight_bits": 4}, distributions=_DIST, state=optuna.trial.TrialState.PRUNED,
        user_attrs={"config": quantized.to_dict(), "reason": "silent", "epochs_run": 1}))


def test_study_written_with_unversioned_keys_reads(tmp_path):
    url = f"journal:{tmp_path / 'old.journal'}"
    _old_study(url, "old")
    baseline, quantized, pruned = read_results(url, "old")
    assert (baseline.is_baseline, baseline.scheme, baseline.accuracy) == (True, "float", 96.0)
    assert (quantized.accuracy, quantized.validation_accuracy, quantized.accuracy_drop) == (95.5, 95.0, 0.5)
    assert (quantized.memory_kib, quantized.energy_nj, quantized.compression_ratio) == (4.0, 3.0, 8.0)
    assert (quantized.feasible, quantized.reason, quantized.worker_host) == (True, "completed", "old-host")
    assert (pruned.state, pruned.reason, pruned.silent, pruned.accuracy) == ("PRUNED", "silent", True, None)


def test_study_of_a_newer_namespace_is_refused_in_one_line(tmp_path):
    url = f"journal:{tmp_path / 'new.journal'}"
    _old_study(url, "new", {VERSION_KEY: ATTRS_VERSION + 1})
    with pytest.raises(ValueError, match="newer qsearch"):
        read_results(url, "new")


def test_trials_write_the_current_version(tmp_path, tiny_study):
    from qsearch.execution import run_study
    from qsearch.trial import synthetic_trial

    url = f"journal:{tmp_path / 'now.journal'}"
    study = run_study(tiny_study, url, "now", 2, runner=synthetic_trial, heartbeat_interval=None,
                      grace_period=None)
    complete = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert complete and all(t.user_attrs[VERSION_KEY] == ATTRS_VERSION for t in complete)
