"""On the default study's trained digits network, MSE weight calibration loses less accuracy than max-based."""

from __future__ import annotations

from pathlib import Path

import pytest

from qsearch.quant import QuantConfig
from qsearch.studyfile import load_study_file
from qsearch.trial import run_trial

DEFAULT_STUDY = Path(__file__).resolve().parents[2] / "studies" / "digits.yaml"


@pytest.fixture(scope="module")
def digits_study():
    return load_study_file(DEFAULT_STUDY)


def _ptq_accuracy(study, bits: int, calibration: str) -> float:
    config = QuantConfig(scheme="ptq", weight_bits=(bits, bits), membrane_bits=10, current_bits=10, param_bits=8,
                         rounding="nearest", timesteps=16, weight_calibration=calibration)
    # validation and test pooled (720 samples): on one 360-sample split a point is ~1 standard error, and on the
    # auto-initialised network 3-bit max vs mse differs by 4 test samples but the other way on validation.
    # The float network is trained once and reused.
    outcome = run_trial(study, config)
    return (outcome.test_accuracy + outcome.validation_accuracy) / 2


#: one standard error of a pooled 720-sample accuracy near 91 % is ~1.1 points
NOISE_PT = 1.1


def test_low_bit_ptq_is_at_least_as_accurate_with_mse_calibration(digits_study):
    accuracy = {bits: {cal: _ptq_accuracy(digits_study, bits, cal) for cal in ("max", "mse")} for bits in (2, 3, 4)}
    # at 3 and 4 bits the two calibrations are within noise of each other, either way round: on the network
    # trained on CUDA (H200), 3-bit mse was 90.42 % against max 91.11 % (5 of 720 samples), on the CPU mse won
    for bits, by_calibration in accuracy.items():
        assert by_calibration["mse"] >= by_calibration["max"] - NOISE_PT, (bits, by_calibration)
    # 2 bits: max-based Q1.1 leaves most first-layer weights at 0 or +-0.5; Q0.2 resolves them (88.6 % -> 91.9 %)
    assert accuracy[2]["mse"] > accuracy[2]["max"] + 1.0
