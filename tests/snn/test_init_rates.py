"""Data-driven initialisation: each LIF layer reaches its target spike rate on the samples it was fitted on."""

from __future__ import annotations

import pytest
import torch

from qsearch.snn import NeuronSpec, SpikingConvNet, SpikingMLP
from qsearch.snn._firing_rates import LI_LOGIT_STD, fit_firing_rates, layer_spike_rates


def _spikes(steps: int, batch: int, features: int, rate: float, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return (torch.rand(steps, batch, features, generator=generator) < rate).float()


@pytest.mark.parametrize(("v_th", "input_rate"), [(1.0, 0.3), (50.0, 0.05), (0.01, 0.5)])
def test_tiny_mlp_reaches_its_target_rates_whatever_the_threshold_and_input(v_th, input_rate):
    torch.manual_seed(0)
    model = SpikingMLP([20, 32, 5], NeuronSpec(v_th=v_th, tau_mem_inv=200.0, tau_syn_inv=500.0))
    x = _spikes(16, 128, 20, input_rate)
    before = layer_spike_rates(model, x)
    fit_firing_rates(model, x, hidden_rate=0.1, output_rate=0.2)
    after = layer_spike_rates(model, x)
    assert after[0] == pytest.approx(0.1, abs=0.02) and after[1] == pytest.approx(0.2, abs=0.03)
    assert before != pytest.approx(after, abs=0.02)  # the starting point was elsewhere: the fit did the work


@pytest.mark.parametrize("readout", ["li", "li_sum"])
def test_conv_layers_and_li_readout(readout):
    torch.manual_seed(1)
    model = SpikingConvNet((1, 8, 8), [4], 3, readout=readout, neuron=NeuronSpec(v_th=5.0))
    x = _spikes(8, 64, 64, 0.2)
    readout = model.weights[-1].clone()
    with torch.no_grad():
        before = float(model(x).logits.std())
    factors = fit_firing_rates(model, x, hidden_rate=0.15, output_rate=0.1)
    assert layer_spike_rates(model, x)[0] == pytest.approx(0.15, abs=0.03)
    # the membrane readout is scaled (not fitted to a rate): its logits spread as LI_LOGIT_STD, exactly
    torch.testing.assert_close(model.weights[-1], readout * factors[-1])
    with torch.no_grad():
        assert float(model(x).logits.std()) == pytest.approx(LI_LOGIT_STD, rel=1e-4)
    assert before != pytest.approx(LI_LOGIT_STD, rel=0.1)  # Kaiming's default alone was elsewhere


def test_a_layer_without_input_keeps_its_weights():
    model = SpikingMLP([10, 8, 2])
    weights = [w.clone() for w in model.weights]
    assert fit_firing_rates(model, torch.zeros(4, 16, 10), 0.1, 0.1) == [1.0, 1.0]
    assert all(torch.equal(a, b) for a, b in zip(weights, model.weights, strict=True))


def test_li_logits_are_the_membrane_peak_or_sum_over_time():
    from qsearch.snn._dynamics import li_sequence
    from qsearch.snn._topology import synaptic_input

    torch.manual_seed(2)
    x = _spikes(8, 16, 10, 0.3)
    peak, total = (SpikingMLP([10, 4], readout=readout) for readout in ("li", "li_sum"))
    total.load_state_dict(peak.state_dict())
    with torch.no_grad():
        trace = li_sequence(synaptic_input(peak.topology[0], x, peak.weights[0]), peak.neuron.constants())
        torch.testing.assert_close(peak(x).logits, trace.amax(0))
        torch.testing.assert_close(total(x).logits, trace.sum(0))
