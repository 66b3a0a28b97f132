"""The silent rule of QAT fine-tuning is relative to the float network's own activity (issue #12).

A quantized network that keeps a few output spikes per sample passes an absolute one-spike threshold, yet it
has lost most of what the float network it was fine-tuned from emitted: ``min_spikes: null`` judges it against
``relative_min_spikes`` times the float network's mean, so the same rule carries across data sets. A study
file's own ``min_spikes`` still replaces that rule. Each study here runs through :func:`run_study` (baseline,
then one trial of a one-point space), and the verdict is read back from the Optuna record.
"""

from __future__ import annotations

import optuna
import pytest
import torch
from study_fixtures import tiny_study_dict

from qsearch.execution import run_study
from qsearch.quant import QuantConfig
from qsearch.results import engine_for, load_results
from qsearch.snn import build_plan, calibrate_currents, device_generator
from qsearch.studyfile import parse_study
from qsearch.trial import train_trial_model
from qsearch.trial._pipeline import relative_min_spikes

#: the float network fires ~3 output spikes per class and step: its relative threshold is well above 1 spike
FLOAT_MODEL = {"hidden": [32], "init_output_rate": 0.4, "device": "cpu"}
#: checked early and often (the fine-tune has had a few steps only), and half the samples decide
SILENT = {"grace_epochs": 0, "check_every": 64, "max_silent_fraction": 0.5}
#: 4-bit weights, 4-bit currents, 75 % sparsity: a few spikes per sample, a small share of the float network's
QUIET = {"weight_bits": [4], "membrane_bits": [8], "current_bits": [4], "sparsity": [0.75]}
#: 8-bit everything: close to the float network's activity
NEAR = {"weight_bits": [8], "membrane_bits": [8], "current_bits": [8], "sparsity": [0.0]}
#: 4-bit currents alone: about a fifth of the float network's spikes, above a tenth of them
MIDDLE = {"weight_bits": [4], "membrane_bits": [8], "current_bits": [4], "sparsity": [0.0]}


def _study(point: dict, **silent):
    space = {"scheme": ["qat"], "per_layer_weight_bits": False, "param_bits": [8], "rounding": ["nearest"],
             "timesteps": [8], **point}
    # the float network as given (57 % on digits: not tuned, not judged): the silent rule is relative to it
    return parse_study(tiny_study_dict(model=FLOAT_MODEL, search_space=space, sampler={"kind": "random", "seed": 0},
                                       early_stopping={"silent": {**SILENT, **silent}},
                                       baseline={"min_reference_share": 0, "tune": {"when": "never"}}))


def _verdict(point: dict, sqlite_url: str, name: str, **silent) -> tuple[str, bool]:
    """(state, silent) of the one quantized trial after the float baseline, as Optuna and the results table
    record it."""
    study = run_study(_study(point, **silent), sqlite_url, name, n_trials=2)
    baseline, trial = study.trials
    assert baseline.state == optuna.trial.TrialState.COMPLETE  # the float network itself is never silent here
    row = {r["trial_number"]: r for r in load_results(engine_for(sqlite_url), name)}[trial.number]
    assert row["state"] == trial.state.name
    if trial.state == optuna.trial.TrialState.PRUNED:
        assert trial.user_attrs["reason"] == row["reason"] == "silent"
    return trial.state.name, row["silent"]


def _spikes_per_sample(point: dict) -> tuple[float, torch.Tensor]:
    """The relative threshold and the quantized network's output spikes per sample at the start of fine-tuning."""
    study = _study(point)
    float_net = train_trial_model(study, QuantConfig(scheme="float", weight_bits=(32, 32), timesteps=8))
    model, data = float_net.model, float_net.data
    config = QuantConfig(scheme="qat", weight_bits=(point["weight_bits"][0],) * 2,
                         membrane_bits=point["membrane_bits"][0], current_bits=point["current_bits"][0],
                         param_bits=8, rounding="nearest", timesteps=8, sparsity=(point["sparsity"][0],) * 2)
    plan = build_plan(model, config, calibrate_currents(model, data.train, 4, 32), device_generator("cpu", 1))
    with torch.no_grad():
        spikes = model(next(data.train.batches(256))[0], plan).watched_spikes
    return relative_min_spikes(study, model, data), spikes


def test_the_quiet_network_is_quiet_only_relative_to_the_float_network():
    threshold, spikes = _spikes_per_sample(QUIET)
    assert threshold > 2  # a tenth of the float network's output spikes: more than the absolute one spike
    assert float((spikes < 1).float().mean()) < SILENT["max_silent_fraction"]  # not silent in absolute terms
    assert float((spikes < threshold).float().mean()) > SILENT["max_silent_fraction"]  # silent relative to it


def test_quantized_trial_far_below_the_float_network_is_pruned_silent(sqlite_url):
    assert _verdict(QUIET, sqlite_url, "quiet") == ("PRUNED", True)


def test_the_same_trial_passes_an_absolute_one_spike_threshold(sqlite_url):
    assert _verdict(QUIET, sqlite_url, "quiet-absolute", min_spikes=1.0) == ("COMPLETE", False)


@pytest.mark.parametrize("point", [NEAR, MIDDLE], ids=["8-bit", "4-bit-currents"])
def test_quantized_trial_near_the_float_network_is_not_pruned(point, sqlite_url):
    assert _verdict(point, sqlite_url, "near") == ("COMPLETE", False)


def test_a_study_files_absolute_threshold_applies_to_quantized_trials(sqlite_url):
    """``min_spikes: 8`` prunes the 4-bit-current trial that the relative rule (a tenth of ~25 spikes) keeps."""
    assert _verdict(MIDDLE, sqlite_url, "absolute", min_spikes=8.0) == ("PRUNED", True)
