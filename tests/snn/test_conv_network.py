"""The convolutional SNN: time-batched conv LIF blocks equal a step-by-step Norse network, pooling, SOP fan-out,
and integer-only inference equal to the fake-quantized evaluation."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from qsearch._norse import LIFFeedForwardState, lif_feed_forward_step
from qsearch.quant import QuantConfig
from qsearch.snn import (
    NeuronSpec,
    SpikingConvNet,
    conv_layer,
    freeze,
    kept_fanout,
    linear_layer,
    make_plan,
    pool_spikes,
    run_integer,
    synaptic_input,
    to_integer,
)

#: a low threshold so that a freshly initialised network fires in every layer (a meaningful comparison)
LIVELY = NeuronSpec(tau_mem_inv=200.0, tau_syn_inv=500.0, v_th=0.05)
T, B = 7, 6


def _net(pooling: str = "sum", readout: str = "spiking", seed: int = 0) -> SpikingConvNet:
    torch.manual_seed(seed)
    return SpikingConvNet((2, 12, 12), [4, 6], 5, kernel_size=3, pool=2, pooling=pooling, hidden=[16],
                          neuron=LIVELY, readout=readout, weight_scale=8.0)


def _input(seed: int = 1, rate: float = 0.3) -> torch.Tensor:
    return (torch.rand(T, B, 2, 12, 12, generator=torch.Generator().manual_seed(seed)) < rate).float()


def _norse_step_by_step(net: SpikingConvNet, x: torch.Tensor) -> torch.Tensor:
    """The same network written the plain way: per timestep, conv2d / linear then Norse's LIF step."""
    p = net.neuron.norse_parameters()
    states: list[LIFFeedForwardState | None] = [None] * len(net.layers)
    counts = torch.zeros(B, net.n_classes)
    for t in range(T):
        h = x[t]
        for index, (layer, module) in enumerate(zip(net.topology, net.layers, strict=True)):
            if layer.kind == "conv":
                current = F.conv2d(h, module.weight, padding=layer.kernel_size // 2)
            else:
                current = h.reshape(B, -1) @ module.weight.t()
            if states[index] is None:
                states[index] = LIFFeedForwardState(v=torch.zeros_like(current), i=torch.zeros_like(current))
            z, states[index] = lif_feed_forward_step(current, states[index], p, dt=net.neuron.dt)
            h = F.avg_pool2d(z, layer.pool) * layer.pool**2 if layer.kind == "conv" and layer.pool > 1 else z
        counts += h
    return counts


def test_time_batched_conv_network_spikes_like_a_step_by_step_norse_network() -> None:
    net = _net()
    x = _input()
    with torch.no_grad():
        ours = net(x)
        theirs = _norse_step_by_step(net, x)
    assert float(ours.logits.sum()) > 0 and float((ours.logits == 0).float().mean()) > 0.05  # fires, not always
    # summation order differs between one conv over T*B images and per-step convs: allow float rounding only
    torch.testing.assert_close(ours.logits, theirs, rtol=0, atol=1e-6)


def test_shapes_of_a_conv_network() -> None:
    net = _net()
    shapes = [layer.out_shape for layer in net.topology]
    assert shapes == [(4, 12, 12), (6, 6, 6), (16,), (5,)]
    assert [layer.spikes_shape for layer in net.topology][:2] == [(4, 6, 6), (6, 3, 3)]
    assert [tuple(w.shape) for w in net.weights] == [(4, 2, 3, 3), (6, 4, 3, 3), (16, 54), (5, 16)]
    assert net.neuron_count() == 4 * 144 + 6 * 36 + 16 + 5
    out = net(_input())
    assert [tuple(s.shape) for s in out.input_spikes] == [(B, 288), (B, 144), (B, 54), (B, 16)]


def test_sum_pooling_counts_spikes_and_max_pooling_ors_them() -> None:
    layer = conv_layer((1, 5, 5), 1, 3, pool=2, pooling="sum")
    spikes = torch.zeros(1, 5, 5)
    spikes[0, 0, 0] = spikes[0, 0, 1] = spikes[0, 1, 1] = 1  # three spikes in the top-left window
    spikes[0, 4, 4] = 1  # the ragged last row/column is dropped (floor), as max_pool2d does
    assert pool_spikes(layer, spikes).tolist() == [[[3.0, 0.0], [0.0, 0.0]]]
    max_layer = conv_layer((1, 5, 5), 1, 3, pool=2, pooling="max")
    assert pool_spikes(max_layer, spikes).tolist() == [[[1.0, 0.0], [0.0, 0.0]]]
    assert torch.equal(pool_spikes(max_layer, spikes), F.max_pool2d(spikes, 2))


def test_conv_kept_fanout_counts_every_kept_synapse_of_each_input_pixel() -> None:
    layer = conv_layer((2, 4, 5), 3, 3)
    mask = (torch.rand(layer.weight_shape, generator=torch.Generator().manual_seed(3)) < 0.6).float()
    expected = torch.zeros(2, 4, 5, dtype=torch.float64)
    for o in range(3):  # brute force: every output position, every kernel tap that lands inside the image
        for y in range(4):
            for x in range(5):
                for c in range(2):
                    for dy in range(3):
                        for dx in range(3):
                            iy, ix = y + dy - 1, x + dx - 1
                            if 0 <= iy < 4 and 0 <= ix < 5:
                                expected[c, iy, ix] += mask[o, c, dy, dx]
    assert torch.equal(kept_fanout(layer, mask), expected)
    # a corner pixel reaches 4 of the 9 taps per output channel and input channel when nothing is pruned
    assert float(kept_fanout(layer, None)[0, 0, 0]) == 3 * 4


def test_linear_kept_fanout_is_the_kept_column_count() -> None:
    layer = linear_layer((3,), 2)
    mask = torch.tensor([[1.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    assert kept_fanout(layer, mask).tolist() == [2.0, 0.0, 1.0]


def test_integer_synaptic_input_of_a_conv_layer_equals_float_conv2d() -> None:
    layer = conv_layer((3, 6, 7), 4, 5)
    gen = torch.Generator().manual_seed(4)
    weight = torch.randint(-8, 8, layer.weight_shape, generator=gen)
    spikes = torch.randint(0, 3, (2, 5, 3, 6, 7), generator=gen)  # event counts, not only 0/1
    ours = synaptic_input(layer, spikes, weight)
    assert ours.dtype == torch.int64
    reference = synaptic_input(layer, spikes.double(), weight.double())
    assert torch.equal(ours.double(), reference)


@pytest.mark.parametrize("pooling", ["sum", "max"])
@pytest.mark.parametrize("rounding", ["truncate", "nearest"])
@pytest.mark.parametrize("readout", ["spiking", "li", "li_sum"])
def test_integer_conv_network_equals_fake_quantized_evaluation(pooling: str, rounding: str, readout: str) -> None:
    net = _net(pooling, readout)
    x = _input(seed=2)
    config = QuantConfig(scheme="ptq", weight_bits=(4, 3, 5, 4), membrane_bits=10, current_bits=8, param_bits=8,
                         rounding=rounding, timesteps=T, sparsity=(0.5, 0.0, 0.25, 0.0))
    with torch.no_grad():
        ranges = net(x, record_currents=True).current_max
        plan = freeze(make_plan(config, net.weights, LIVELY.constants(), ranges), net.weights)
        fake = net.double()(x.double(), plan).logits
    integer = run_integer(to_integer(net, plan), x.to(torch.uint8))
    assert float(fake.abs().sum()) > 0  # the quantized network is not silent
    assert torch.equal(integer.values(), fake)
