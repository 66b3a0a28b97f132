"""qsearch's time-batched neuron loops against Norse's own step functions, and quantized state on its grid.

Spikes are compared exactly. The LI membrane trace is compared exactly as well: both sides evaluate the same
float32 expressions in the same order (a_mem = float32(dt * tau_mem_inv) is what Norse computes), so there is
no tolerance to grant; surrogate gradients are compared with a tight float32 tolerance (rtol 1e-5).
"""

from __future__ import annotations

import pytest
import torch

from qsearch._norse import (
    LIFFeedForwardState,
    LIParameters,
    LIState,
    li_feed_forward_step,
    lif_feed_forward_step,
)
from qsearch.quant import ROUNDING_MODES, FixedPoint, quantize
from qsearch.snn import NeuronSpec, StateQuant, li_sequence, lif_sequence

T, B, N = 20, 8, 16

SPECS = [
    NeuronSpec(),
    NeuronSpec(tau_mem_inv=150.0, tau_syn_inv=300.0, v_th=0.8, v_reset=-0.2, v_leak=0.1, alpha=50.0),
    NeuronSpec(tau_mem_inv=80.0, tau_syn_inv=120.0, v_th=1.5, v_reset=0.25, v_leak=-0.05, dt=2e-3),
]


def _currents(seed: int, scale: float = 4.0, offset: float = 2.0) -> torch.Tensor:
    return torch.randn(T, B, N, generator=torch.Generator().manual_seed(seed)) * scale + offset


def _norse_lif(currents: torch.Tensor, spec: NeuronSpec) -> torch.Tensor:
    p = spec.norse_parameters()
    state = LIFFeedForwardState(v=torch.zeros(B, N), i=torch.zeros(B, N))
    spikes = []
    for t in range(currents.shape[0]):
        z, state = lif_feed_forward_step(currents[t], state, p, dt=spec.dt)
        spikes.append(z)
    return torch.stack(spikes)


def _norse_li(currents: torch.Tensor, spec: NeuronSpec) -> torch.Tensor:
    p = LIParameters(tau_syn_inv=torch.as_tensor(spec.tau_syn_inv),
                     tau_mem_inv=torch.as_tensor(spec.tau_mem_inv), v_leak=torch.as_tensor(spec.v_leak))
    state = LIState(v=torch.zeros(B, N), i=torch.zeros(B, N))
    trace = []
    for t in range(currents.shape[0]):
        v, state = li_feed_forward_step(currents[t], state, p, dt=spec.dt)
        trace.append(v)
    return torch.stack(trace)


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("seed", [0, 1])
def test_float_lif_sequence_spikes_exactly_like_norse(spec: NeuronSpec, seed: int) -> None:
    currents = _currents(seed)
    ours = lif_sequence(currents, spec.constants())
    theirs = _norse_lif(currents, spec)
    assert 0.05 < float(theirs.mean()) < 0.95  # a meaningful comparison: neurons both fire and stay quiet
    assert torch.equal(ours, theirs)


@pytest.mark.parametrize("spec", SPECS)
def test_float_lif_surrogate_gradient_matches_norse(spec: NeuronSpec) -> None:
    readout = torch.randn(T, B, N, generator=torch.Generator().manual_seed(5))
    ours_in = _currents(2).requires_grad_()
    theirs_in = ours_in.detach().clone().requires_grad_()
    (lif_sequence(ours_in, spec.constants()) * readout).sum().backward()
    (_norse_lif(theirs_in, spec) * readout).sum().backward()
    assert ours_in.grad is not None and theirs_in.grad is not None
    assert float(theirs_in.grad.abs().sum()) > 0
    torch.testing.assert_close(ours_in.grad, theirs_in.grad, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("spec", SPECS)
def test_float_li_sequence_trace_equals_norse_li_feed_forward_step(spec: NeuronSpec) -> None:
    currents = _currents(3)
    ours = li_sequence(currents, spec.constants())
    theirs = _norse_li(currents, spec)
    assert torch.equal(ours, theirs)


def test_float32_state_quant_is_the_float_dynamics() -> None:
    spec = NeuronSpec()
    currents = _currents(4)
    sq = StateQuant(membrane=FixedPoint(32), current=FixedPoint(32), rounding="nearest")
    assert torch.equal(li_sequence(currents, spec.constants(), sq), li_sequence(currents, spec.constants()))
    assert torch.equal(lif_sequence(currents, spec.constants(), sq), lif_sequence(currents, spec.constants()))


@pytest.mark.parametrize("mode", ROUNDING_MODES)
def test_quantized_li_membrane_trace_lies_on_the_membrane_grid(mode: str) -> None:
    spec = NeuronSpec(v_leak=0.1)
    membrane = FixedPoint(8, 5)  # step 1/32, range [-4, 4 - 1/32]
    sq = StateQuant(membrane=membrane, current=FixedPoint(10, 5), rounding=mode,
                    generator=torch.Generator().manual_seed(0))
    trace = li_sequence(_currents(5, scale=3.0, offset=0.5), spec.constants(), sq)
    units = trace.double() / membrane.step
    assert torch.equal(units, torch.round(units))
    assert float(trace.min()) >= membrane.min_value and float(trace.max()) <= membrane.max_value
    assert trace.unique().numel() > 10  # the trace moves: the grid check is not vacuous


@pytest.mark.parametrize("mode", ["truncate", "nearest"])
def test_quantized_lif_rounds_state_after_each_update(mode: str) -> None:
    """Reference loop written from the docstring: current rounded after the jump and after the decay,
    membrane rounded after its update, then threshold and reset."""
    spec = NeuronSpec(v_reset=-0.25)
    p = spec.constants()
    v_fmt, i_fmt = FixedPoint(6, 3), FixedPoint(8, 4)
    currents = _currents(6, scale=2.0, offset=0.5).double()
    v = torch.zeros(B, N, dtype=torch.float64)
    i = torch.zeros(B, N, dtype=torch.float64)
    expected = []
    for t in range(T):
        i = quantize(i + currents[t], i_fmt, mode)
        v_new = quantize(v + p.a_mem * ((p.v_leak - v) + i), v_fmt, mode)
        i = quantize(i - p.a_syn * i, i_fmt, mode)
        z = (v_new > p.v_th).double()
        v = torch.where(z > 0, torch.full_like(v_new, p.v_reset), v_new)
        expected.append(z)
    got = lif_sequence(currents, p, StateQuant(membrane=v_fmt, current=i_fmt, rounding=mode))
    reference = torch.stack(expected)
    assert 0.02 < float(reference.mean()) < 0.98
    assert torch.equal(got, reference)


def test_quantized_li_trace_backpropagates_straight_through() -> None:
    spec = NeuronSpec()
    sq = StateQuant(membrane=FixedPoint(8, 5), current=FixedPoint(10, 5), rounding="nearest")
    readout = torch.randn(T, B, N, generator=torch.Generator().manual_seed(8))
    quantized_in = _currents(7, scale=1.0, offset=0.0).requires_grad_()
    float_in = quantized_in.detach().clone().requires_grad_()
    (li_sequence(quantized_in, spec.constants(), sq) * readout).sum().backward()
    (li_sequence(float_in, spec.constants()) * readout).sum().backward()
    assert quantized_in.grad is not None and float_in.grad is not None
    torch.testing.assert_close(quantized_in.grad, float_in.grad, rtol=1e-6, atol=1e-7)
