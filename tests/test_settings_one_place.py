"""Settings are defined once: the study file's sections build the runtime records and share their defaults,
and every validator asks the same bit-width rules of qsearch.quant."""

from __future__ import annotations

import dataclasses

import pytest

from qsearch.quant import (
    PARAM_WIDTHS,
    STATE_WIDTHS,
    WEIGHT_WIDTHS,
    FixedPoint,
    QuantConfig,
    membrane_format,
)
from qsearch.snn import DEFAULT_WEIGHT_SCALE, NeuronSpec, SilentNetworkMonitor, SpikingMLP, TrainSettings
from qsearch.studyfile import (
    ModelSection,
    NeuronSection,
    QuantizationSection,
    SilentSection,
    StudyFileError,
    TrainingSection,
    parse_study,
)


def _monitor_settings(monitor: SilentNetworkMonitor) -> dict:
    return {f.name: getattr(monitor, f.name) for f in dataclasses.fields(monitor) if f.init}


def test_sections_left_out_build_the_runtime_defaults() -> None:
    assert NeuronSection().to_neuron_spec() == NeuronSpec()
    assert ModelSection().to_neuron_spec() == NeuronSpec()
    assert TrainingSection().to_train_settings() == TrainSettings()
    monitor = SilentSection().to_silent_monitor(train_samples=0)
    assert monitor is not None and _monitor_settings(monitor) == _monitor_settings(SilentNetworkMonitor())
    assert ModelSection().weight_scale == "auto"  # study files fit the scale to the data (snn._init)
    assert QuantizationSection().weight_calibration == QuantConfig().weight_calibration == "mse"


def test_network_default_scale_is_the_one_constant() -> None:
    # study files default to weight_scale auto (fitted to the data); a network built in code uses the constant
    import torch

    torch.manual_seed(0)
    default = SpikingMLP([6, 4, 2])
    torch.manual_seed(0)
    explicit = SpikingMLP([6, 4, 2], weight_scale=DEFAULT_WEIGHT_SCALE)
    torch.manual_seed(0)
    unscaled = SpikingMLP([6, 4, 2], weight_scale=1.0)
    assert all(torch.equal(a, b) for a, b in zip(default.weights, explicit.weights, strict=True))
    assert not torch.equal(default.weights[0], unscaled.weights[0])


def test_sections_pass_every_value_through() -> None:
    neuron = {"tau_mem_inv": 150.0, "tau_syn_inv": 300.0, "v_th": 0.8, "v_reset": -0.2, "v_leak": 0.1,
              "dt": 2e-3, "alpha": 50.0}
    assert NeuronSection(**neuron).to_neuron_spec() == NeuronSpec(**neuron)
    training = TrainingSection(epochs=7, batch_size=16, learning_rate=0.01, cosine_schedule=False, seed=3,
                               qat_epochs=4, qat_lr_scale=0.5)
    settings = training.to_train_settings(patience=2)
    assert settings == TrainSettings(epochs=7, batch_size=16, learning_rate=0.01, cosine_schedule=False,
                                     patience=2, seed=3)
    qat = training.qat_settings(settings)
    assert (qat.epochs, qat.learning_rate, qat.patience, qat.batch_size) == (4, 0.005, 2, 16)
    monitor = SilentSection(min_spikes=2.0, max_silent_fraction=0.5, check_every=32,
                            grace_epochs=1.5).to_silent_monitor(train_samples=100)
    assert monitor is not None
    assert _monitor_settings(monitor) == {"min_spikes": 2.0, "max_silent_fraction": 0.5, "check_every": 32,
                                          "grace_samples": 150}
    assert SilentSection(enabled=False).to_silent_monitor(100) is None


@pytest.mark.parametrize(("rule", "bits", "allowed"), [
    (WEIGHT_WIDTHS, 1, True), (WEIGHT_WIDTHS, 16, True), (WEIGHT_WIDTHS, 32, True), (WEIGHT_WIDTHS, 0, False),
    (WEIGHT_WIDTHS, 17, False), (WEIGHT_WIDTHS, 31, False), (STATE_WIDTHS, 1, False), (STATE_WIDTHS, 2, True),
    (PARAM_WIDTHS, 1, False), (PARAM_WIDTHS, 12, True), (PARAM_WIDTHS, 64, False),
])
def test_width_rules(rule, bits: int, allowed: bool) -> None:
    assert rule.allows(bits) is allowed


@pytest.mark.parametrize(("field", "bits"), [("weight_bits", 0), ("weight_bits", 17), ("membrane_bits", 1),
                                             ("current_bits", 1), ("param_bits", 1), ("param_bits", 24)])
def test_study_file_and_quant_config_reject_a_width_with_the_same_rule(field: str, bits: int) -> None:
    rule = {"weight_bits": WEIGHT_WIDTHS, "param_bits": PARAM_WIDTHS}.get(field, STATE_WIDTHS)
    with pytest.raises(StudyFileError) as error:
        parse_study({"search_space": {field: [bits]}})
    assert str(error.value) == f"study file: search_space.{field}: {rule.problem(bits)}"
    assert rule.problem(bits) == f"{bits} is not a supported width for {rule.what}; allowed: {rule.allowed()}"
    kwargs = {"weight_bits": (bits,)} if field == "weight_bits" else {"weight_bits": (8,), field: bits}
    with pytest.raises(ValueError, match=rf"{field}.*: {bits} .*allowed: {rule.allowed()}$"):
        QuantConfig(scheme="ptq", **kwargs)


def test_formats_use_the_same_rules() -> None:
    with pytest.raises(ValueError, match=rf"allowed: {WEIGHT_WIDTHS.allowed()}"):
        FixedPoint(17)
    assert FixedPoint(1).is_binary
    with pytest.raises(ValueError, match=rf"membrane_bits: 1 .*allowed: {STATE_WIDTHS.allowed()}"):
        membrane_format(1, 1.0, 0.0)
