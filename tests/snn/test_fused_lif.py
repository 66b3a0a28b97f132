"""The fused C++ LIF kernel against the Python reference loop, and the time-batched network against Norse.

Spikes are compared exactly (the kernel evaluates the reference's float operations in the same order); gradients
against autograd through the reference with a tight tolerance (only the order of gradient sums differs).
Kernel tests skip where the kernel cannot be built (no compiler or ninja); ``QSEARCH_REQUIRE_FUSED=1`` turns that
into a failure. The first use on a machine compiles the kernel (15-25 s), later ones load it from the cache.
"""

from __future__ import annotations

import os

import pytest
import torch

from qsearch._norse import LIFFeedForwardState, lif_feed_forward_step
from qsearch.quant import FixedPoint
from qsearch.snn import NeuronSpec, SpikingMLP, StateQuant, _dynamics, _fused
from qsearch.snn import network as network_module
from qsearch.snn._dynamics import lif_sequence, lif_sequence_reference

T, B, N = 24, 6, 20

SPECS = [
    NeuronSpec(),
    NeuronSpec(tau_mem_inv=150.0, tau_syn_inv=300.0, v_th=0.8, v_reset=-0.2, v_leak=0.1, alpha=50.0),
    NeuronSpec(tau_mem_inv=200.0, tau_syn_inv=500.0),
]
FORMATS = [
    None,
    ("truncate", FixedPoint(8, 5), FixedPoint(10, 5)),
    ("nearest", FixedPoint(8, 5), FixedPoint(10, 5)),
    ("nearest", FixedPoint(6, 3), FixedPoint(8, 4)),  # coarse grids, saturating currents
    ("truncate", FixedPoint(8, 5), FixedPoint(32)),  # membrane only
    ("nearest", FixedPoint(32), FixedPoint(10, 5)),  # current only
]
DTYPES = [torch.float32, torch.float64]


@pytest.fixture(scope="module")
def kernel():
    if not _fused.is_available():
        if os.environ.get("QSEARCH_REQUIRE_FUSED") == "1":
            pytest.fail("the fused LIF kernel did not build (QSEARCH_REQUIRE_FUSED=1)")
        pytest.skip("fused LIF kernel unavailable (no C++ compiler or ninja); the Python loop is used")
    return _fused.load_extension()


def _state_quant(fmt, generator: torch.Generator | None = None) -> StateQuant | None:
    if fmt is None:
        return None
    rounding, membrane, current = fmt
    return StateQuant(membrane=membrane, current=current, rounding=rounding, generator=generator)


def _currents(seed: int, dtype: torch.dtype, scale: float = 2.0, offset: float = 0.4) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(T, B, N, generator=g, dtype=torch.float64) * scale + offset).to(dtype)


def _fused_only(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args, **kwargs):
        raise AssertionError("lif_sequence fell back to the Python loop")

    monkeypatch.setattr(_dynamics, "lif_sequence_reference", forbidden)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("spec", SPECS)
def test_fused_spikes_equal_reference_exactly(kernel, spec: NeuronSpec, fmt, dtype: torch.dtype) -> None:
    p = spec.constants()
    for seed, requires_grad in ((0, False), (1, True)):
        currents = _currents(seed, dtype)
        expected = lif_sequence_reference(currents.clone().requires_grad_(requires_grad), p, _state_quant(fmt))
        got = _fused.fused_lif_sequence(currents.clone().requires_grad_(requires_grad), p, _state_quant(fmt))
        assert got is not None
        assert 0.05 < float(expected.detach().mean()) < 0.95  # neurons both fire and stay quiet
        assert got.dtype == dtype and got.shape == expected.shape
        assert torch.equal(got, expected.detach())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fmt", FORMATS[:4])
@pytest.mark.parametrize("spec", SPECS[1:])
def test_fused_gradient_matches_autograd_through_reference(kernel, spec: NeuronSpec, fmt,
                                                           dtype: torch.dtype) -> None:
    p = spec.constants()
    readout = torch.randn(T, B, N, generator=torch.Generator().manual_seed(9), dtype=dtype)
    ours = _currents(2, dtype).requires_grad_()
    theirs = ours.detach().clone().requires_grad_()
    (_fused.fused_lif_sequence(ours, p, _state_quant(fmt)) * readout).sum().backward()
    (lif_sequence_reference(theirs, p, _state_quant(fmt)) * readout).sum().backward()
    assert ours.grad is not None and theirs.grad is not None
    assert float(theirs.grad.abs().sum()) > 0
    tol = {"rtol": 1e-5, "atol": 1e-6} if dtype == torch.float32 else {"rtol": 1e-12, "atol": 1e-13}
    torch.testing.assert_close(ours.grad, theirs.grad, **tol)


def test_fused_gradient_through_a_readout_of_spike_counts(kernel) -> None:
    """The gradient of a sum over time arrives expanded (stride 0): the kernel must read it correctly."""
    p = SPECS[2].constants()
    weights = torch.randn(B, N, generator=torch.Generator().manual_seed(4))
    ours = _currents(3, torch.float32).requires_grad_()
    theirs = ours.detach().clone().requires_grad_()
    (_fused.fused_lif_sequence(ours, p).sum(0) * weights).sum().backward()
    (lif_sequence_reference(theirs, p).sum(0) * weights).sum().backward()
    torch.testing.assert_close(ours.grad, theirs.grad, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
def test_stochastic_rounding_is_on_grid_reproducible_and_the_reference_stream(kernel, dtype: torch.dtype) -> None:
    p = SPECS[1].constants()
    membrane, current = FixedPoint(8, 5), FixedPoint(10, 5)
    currents = _currents(5, dtype)

    def run(seed: int) -> torch.Tensor:
        sq = StateQuant(membrane=membrane, current=current, rounding="stochastic",
                        generator=torch.Generator().manual_seed(seed))
        return _fused.fused_lif_sequence(currents, p, sq)

    first, again, other = run(0), run(0), run(1)
    assert torch.equal(first, again)
    assert not torch.equal(first, other)
    # the same generator stream as the reference loop's per-step draws, in the same order: identical spikes
    reference = lif_sequence_reference(currents, p, StateQuant(membrane=membrane, current=current,
                                                               rounding="stochastic",
                                                               generator=torch.Generator().manual_seed(0)))
    assert torch.equal(first, reference)
    # the membrane the kernel thresholds lies on the membrane grid
    draws = torch.rand((T, 3, B, N), generator=torch.Generator().manual_seed(0), dtype=dtype)
    constants = [p.a_mem, p.a_syn, p.v_leak, p.v_th, p.v_reset]
    spikes, v_decayed = kernel.lif_forward(currents, constants, True, [current.step, current.min_code,
                                                                      current.max_code],
                                           True, [membrane.step, membrane.min_code, membrane.max_code], 2, False,
                                           draws, True)
    units = v_decayed.double() / membrane.step
    assert torch.equal(units, torch.round(units))
    assert float(v_decayed.min()) >= membrane.min_value and float(v_decayed.max()) <= membrane.max_value
    assert v_decayed.unique().numel() > 10
    assert torch.equal(spikes, first)


def test_lif_sequence_uses_the_fused_kernel(kernel, monkeypatch: pytest.MonkeyPatch) -> None:
    _fused_only(monkeypatch)
    p = SPECS[0].constants()
    currents = _currents(6, torch.float32).requires_grad_()
    spikes = lif_sequence(currents, p, _state_quant(FORMATS[2]))
    assert spikes.grad_fn is not None and "FusedLIF" in type(spikes.grad_fn).__name__
    spikes.sum().backward()
    with torch.no_grad():
        lif_sequence(currents, p)


def test_lif_sequence_falls_back_to_the_python_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    p = SPECS[1].constants()
    currents = _currents(7, torch.float32)
    expected = lif_sequence_reference(currents, p)
    monkeypatch.setattr(_fused, "load_extension", lambda: None)
    assert torch.equal(lif_sequence(currents, p), expected)
    binary = StateQuant(membrane=FixedPoint(1, 0), current=FixedPoint(8, 4), rounding="nearest")
    assert _fused.fused_lif_sequence(currents, p, binary) is None  # a format the kernel leaves to the loop


class _NorseMLP(torch.nn.Module):
    def __init__(self, weights: list[torch.Tensor], spec: NeuronSpec) -> None:
        super().__init__()
        self.weights = weights
        self.spec = spec

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        p = self.spec.norse_parameters()
        batch = x.shape[1]
        states = [LIFFeedForwardState(v=torch.zeros(batch, w.shape[0]), i=torch.zeros(batch, w.shape[0]))
                  for w in self.weights]
        spikes: list[list[torch.Tensor]] = [[] for _ in self.weights]
        for t in range(x.shape[0]):
            h = x[t]
            for k, w in enumerate(self.weights):
                h, states[k] = lif_feed_forward_step(torch.nn.functional.linear(h, w), states[k], p, dt=self.spec.dt)
                spikes[k].append(h)
        return [torch.stack(s) for s in spikes]


def test_spiking_mlp_float_forward_spikes_exactly_like_a_norse_step_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = NeuronSpec(tau_mem_inv=200.0, tau_syn_inv=500.0)
    torch.manual_seed(0)
    model = SpikingMLP((64, 96, 10), spec, readout="spiking", weight_scale=6.0)
    x = (torch.rand(32, 16, 64, generator=torch.Generator().manual_seed(1)) < 0.4).float()
    recorded: list[torch.Tensor] = []

    def recording_lif_sequence(currents, p, state_quant=None):
        out = lif_sequence(currents, p, state_quant)
        recorded.append(out.detach())
        return out

    monkeypatch.setattr(network_module, "lif_sequence", recording_lif_sequence)
    out = model(x)
    theirs = _NorseMLP([w.detach() for w in model.weights], spec)(x)
    assert len(recorded) == len(theirs) == 2
    for ours_layer, theirs_layer in zip(recorded, theirs, strict=True):
        assert 0.01 < float(theirs_layer.mean()) < 0.9
        assert torch.equal(ours_layer, theirs_layer)
    assert torch.equal(out.logits.detach(), theirs[-1].sum(0))
