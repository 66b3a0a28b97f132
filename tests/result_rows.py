"""Hand-made result rows for tests (imported as a plain module: tests/ is on sys.path)."""

from __future__ import annotations

from qsearch.results import ResultRow

BASELINE_ACCURACY = 96.0


def result_row(number: int, accuracy: float | None, memory_kib: float | None, **fields) -> ResultRow:
    """A COMPLETE, feasible quantized trial unless ``fields`` say otherwise; drop against 96 % by default."""
    values = {
        "study_name": "rows", "trial_number": number, "state": "COMPLETE", "reason": "completed",
        "is_baseline": False, "scheme": "ptq", "weight_bits": "4/4", "max_weight_bits": 4, "membrane_bits": 8,
        "current_bits": 8, "param_bits": 8, "rounding": "nearest", "timesteps": 16, "sparsity": 0.0,
        "accuracy": accuracy, "test_accuracy": accuracy, "validation_accuracy": accuracy, "test_n": 360,
        "validation_n": 360,
        "accuracy_drop": None if accuracy is None else BASELINE_ACCURACY - accuracy,
        "memory_bits": None if memory_kib is None else int(memory_kib * 8192), "memory_kib": memory_kib,
        "compression_ratio": None if memory_kib is None else 100.0 / memory_kib, "sops": None, "energy_nj": None,
        "epochs_run": 1, "silent": False, "feasible": True, "duration_s": 1.0, "worker_host": "test",
        "config": {"trial": number}, "memory_breakdown": None,
    }
    values.update(fields)
    return ResultRow(**values)
