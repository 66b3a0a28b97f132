"""A fast test double of :func:`qsearch.trial._pipeline.run_trial`: no data, no training, no torch work.

``synthetic_trial`` has the signature and return type of ``run_trial`` and is used where the *search
machinery* is under test rather than the network: many worker processes on one database, heartbeats, killed
workers and retried trials, storage load. Every trial still goes through the real reporting path —
:class:`~qsearch.search._objective.Objective` samples the configuration, sets the user attributes and
constraints, writes the row of the results table and returns the objective values — only the training is
replaced by a closed-form model:

- memory, its per-part breakdown and the float32 reference come from the real cost model
  (:func:`qsearch.cost.memory_breakdown`) for the study's layer sizes ``64 -> hidden... -> 10`` (the digits
  data: 64 input features, 10 classes), with the kept weights that the configured sparsity implies;
- accuracy is ``96 %`` minus penalties that halve with every extra bit of weights, membrane, current and
  neuron parameters (truncation costs more, stochastic rounding a little more, QAT recovers half), minus
  penalties for pruning, fewer timesteps, and fewer epochs — deterministic, so the same configuration always
  gets the same numbers and Pareto fronts are reproducible;
- SOPs and energy use an assumed input spike rate of 0.1 per neuron and timestep and the real energy model.

The figures are *not* measurements of any network: they only have the right shape (fewer bits -> less
memory and lower accuracy) so that samplers, constraints and selection behave as in a real study.

A worker picks it through the study file (``trial_runner: synthetic`` and ``synthetic_sleep_s``, read with
``getattr`` so this module also works with study files that do not have those fields): see
:func:`runner_for`. ``synthetic_sleep_s`` makes each trial take that long (split over its epochs, with the
``on_epoch`` hook called after each), which is what heartbeat and kill tests need.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable

from qsearch.cost import energy_per_inference_pj, float_memory_bits, memory_breakdown
from qsearch.errors import InputError
from qsearch.quant import FLOAT_BITS, QuantConfig
from qsearch.stops import StopReason
from qsearch.studyfile import StudyFile
from qsearch.trial._pipeline import TrialOutcome, run_trial

#: what a synthetic network sees: the digits data set (8x8 pixels, 10 classes)
INPUT_FEATURES = 64
N_CLASSES = 10
FLOAT_ACCURACY = 96.0
#: samples of the digits test and validation splits a synthetic trial pretends to have measured
TEST_SAMPLES = 360
VALIDATION_SAMPLES = 360
#: input spikes per neuron and timestep assumed for SOPs and energy
SPIKE_RATE = 0.1
#: default seconds per trial when neither the call nor the study file says otherwise
DEFAULT_SLEEP_S = 0.0

EpochCallback = Callable[[int, float, float], None]
TrialRunner = Callable[..., TrialOutcome]

_ROUNDING_FACTOR = {"nearest": 1.0, "stochastic": 1.1, "truncate": 1.5}
_ROUNDING_OFFSET = {"nearest": 0.0, "stochastic": 0.0, "truncate": 0.5}


def layer_sizes(study_file: StudyFile) -> list[int]:
    """``[64, *hidden, 10]``: the digits network of the study file."""
    return [INPUT_FEATURES, *study_file.model.hidden, N_CLASSES]


def _halving(bits: int, scale: float, free_at: int) -> float:
    """A penalty of ``scale`` at ``free_at`` bits that halves with every further bit (none for float)."""
    return 0.0 if bits >= FLOAT_BITS else scale * 2.0 ** (free_at - bits)


def synthetic_accuracy(config: QuantConfig, n_layers: int, epochs: int, learning_rate: float | None = None) -> float:
    """Accuracy (percent) of the closed-form model described in the module docstring."""
    if config.is_float:
        quantization = 0.0
    else:
        weights = sum(_halving(config.layer_bits(i), 6.0, 3) for i in range(n_layers)) / n_layers
        state = _halving(config.membrane_bits, 4.0, 5) + _halving(config.current_bits, 2.0, 5)
        params = _halving(config.param_bits, 1.0, 5)
        quantization = (weights + state + params) * _ROUNDING_FACTOR[config.rounding]
        quantization += _ROUNDING_OFFSET[config.rounding]
        if config.scheme == "qat":
            quantization *= 0.5
    pruning = sum(10.0 * config.layer_sparsity(i) ** 3 for i in range(n_layers)) / n_layers
    timesteps = max(0.0, 16.0 / config.timesteps - 1.0)
    training = 4.0 / max(epochs, 1)
    if learning_rate is not None:
        training += 0.5 * abs(math.log10(learning_rate / 5e-3))
    return max(100.0 / N_CLASSES, min(100.0, FLOAT_ACCURACY - quantization - pruning - timesteps - training))


def synthetic_trial(study_file: StudyFile, config: QuantConfig, learning_rate: float | None = None,
                    epochs: int | None = None, on_epoch: EpochCallback | None = None, *,
                    sleep_s: float | None = None) -> TrialOutcome:
    """What :func:`run_trial` returns for ``config``, from a closed-form model, in microseconds (plus
    ``sleep_s``; default: the study file's ``synthetic_sleep_s``, else :data:`DEFAULT_SLEEP_S`)."""
    started = time.perf_counter()
    if sleep_s is None:
        sleep_s = float(getattr(study_file, "synthetic_sleep_s", DEFAULT_SLEEP_S) or 0.0)
    sizes = layer_sizes(study_file)
    n_layers = len(sizes) - 1
    training = study_file.training
    if config.scheme == "qat" and training.qat_from_float:
        epochs_run = training.qat_epochs
    else:
        epochs_run = epochs or training.epochs
    accuracy = synthetic_accuracy(config, n_layers, epochs or training.epochs, learning_rate)
    for epoch in range(epochs_run):
        if sleep_s > 0:
            time.sleep(sleep_s / epochs_run)
        if on_epoch is not None:
            progress = (epoch + 1) / epochs_run
            on_epoch(epoch, 2.3 * (1.0 - 0.8 * progress), accuracy / 100 * progress)

    memory = memory_breakdown(sizes, config)
    kept = [sizes[i] * sizes[i + 1] - round(config.layer_sparsity(i) * sizes[i] * sizes[i + 1])
            for i in range(n_layers)]
    sops = [SPIKE_RATE * config.timesteps * k for k in kept]
    neurons = sum(sizes[1:])
    validation = max(accuracy - 0.3, 0.0)
    split = getattr(study_file, "accuracy_split", "validation")
    return TrialOutcome(
        config=config, accuracy=accuracy if split == "test" else validation, test_accuracy=accuracy,
        validation_accuracy=validation, test_n=TEST_SAMPLES, validation_n=VALIDATION_SAMPLES,
        memory_bits=memory.total, memory_breakdown=memory.as_dict(), float_memory_bits=float_memory_bits(sizes),
        sops=sum(sops), energy_pj=energy_per_inference_pj(sops, neurons, config.timesteps, config),
        epochs_run=epochs_run, stop_reason=StopReason.COMPLETED, silent=False, duration_s=time.perf_counter() - started,
        weight_formats=["float32" if config.layer_bits(i) >= FLOAT_BITS else f"int{config.layer_bits(i)}"
                        for i in range(n_layers)],
        membrane_format="float32" if config.membrane_bits >= FLOAT_BITS else f"int{config.membrane_bits}",
    )


def make_synthetic_runner(sleep_s: float = DEFAULT_SLEEP_S) -> TrialRunner:
    """A runner (``runner=`` of ``run_study``/``Objective``) whose every trial takes ``sleep_s`` seconds."""
    if sleep_s < 0:
        raise InputError(f"sleep_s: {sleep_s} must be >= 0")
    runner = functools.partial(synthetic_trial, sleep_s=sleep_s)
    functools.update_wrapper(runner, synthetic_trial)
    return runner


def runner_for(study_file: StudyFile) -> TrialRunner:
    """The trial runner a study file asks for: ``trial_runner: snn`` (default, real training) or
    ``synthetic`` (this module, each trial sleeping ``synthetic_sleep_s``)."""
    kind = getattr(study_file, "trial_runner", "snn")
    if kind == "snn":
        return run_trial
    if kind == "synthetic":
        return make_synthetic_runner(float(getattr(study_file, "synthetic_sleep_s", DEFAULT_SLEEP_S) or 0.0))
    raise InputError(f"trial_runner: {kind!r} is unknown; allowed: snn, synthetic")


__all__ = ["DEFAULT_SLEEP_S", "INPUT_FEATURES", "N_CLASSES", "layer_sizes", "make_synthetic_runner", "runner_for",
           "synthetic_accuracy", "synthetic_trial"]
