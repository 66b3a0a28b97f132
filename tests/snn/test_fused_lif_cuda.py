"""The fused CUDA LIF kernel against the Python reference loop on the same GPU.

Spikes are compared exactly (same float operations in the same order, built with -fmad=false; stochastic draws in
the reference's call order), gradients against autograd through the reference with a tight tolerance. The GPU
tests skip on machines without CUDA (CI); ``QSEARCH_REQUIRE_FUSED=1`` makes a CUDA machine fail where the kernel
does not build. The CPU-side tests (dispatch order, no build without CUDA) run everywhere.
"""

from __future__ import annotations

import os

import pytest
import torch

from qsearch.quant import FixedPoint
from qsearch.snn import NeuronSpec, StateQuant, _dynamics, _fused, _fused_cuda
from qsearch.snn._dynamics import lif_sequence, lif_sequence_reference

T, B, N = 24, 6, 20
SPECS = [
    NeuronSpec(),
    NeuronSpec(tau_mem_inv=150.0, tau_syn_inv=300.0, v_th=0.8, v_reset=-0.2, v_leak=0.1, alpha=50.0),
]
FORMATS = [
    None,
    ("truncate", FixedPoint(8, 5), FixedPoint(10, 5)),
    ("nearest", FixedPoint(8, 5), FixedPoint(10, 5)),
    ("nearest", FixedPoint(6, 3), FixedPoint(8, 4)),  # coarse grids, saturating currents
    ("truncate", FixedPoint(8, 5), FixedPoint(32)),  # membrane only
    ("nearest", FixedPoint(32), FixedPoint(10, 5)),  # current only
    ("stochastic", FixedPoint(8, 5), FixedPoint(10, 5)),
    ("stochastic", FixedPoint(8, 5), FixedPoint(32)),
]
DTYPES = [torch.float32, torch.float64]


@pytest.fixture(scope="module")
def cuda_kernel():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    if not _fused_cuda.is_available():
        if os.environ.get("QSEARCH_REQUIRE_FUSED") == "1":
            pytest.fail("the fused CUDA LIF kernel did not build (QSEARCH_REQUIRE_FUSED=1)")
        pytest.skip("fused CUDA LIF kernel unavailable (no nvcc or ninja); the Python loop is used")
    return _fused_cuda.load_extension()


def _state_quant(fmt, seed: int = 0) -> StateQuant | None:
    if fmt is None:
        return None
    rounding, membrane, current = fmt
    generator = torch.Generator(device="cuda").manual_seed(seed) if rounding == "stochastic" else None
    return StateQuant(membrane=membrane, current=current, rounding=rounding, generator=generator)


def _currents(seed: int, dtype: torch.dtype, scale: float = 2.0, offset: float = 0.4) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(T, B, N, generator=g, dtype=torch.float64) * scale + offset).to(dtype).to("cuda")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("spec", SPECS)
def test_cuda_spikes_equal_reference_exactly(cuda_kernel, spec: NeuronSpec, fmt, dtype: torch.dtype) -> None:
    p = spec.constants()
    for seed, requires_grad in ((0, False), (1, True)):
        currents = _currents(seed, dtype)
        expected = lif_sequence_reference(currents.clone().requires_grad_(requires_grad), p, _state_quant(fmt, seed))
        got = _fused_cuda.fused_lif_sequence_cuda(currents.clone().requires_grad_(requires_grad), p,
                                                  _state_quant(fmt, seed))
        assert got is not None and got.is_cuda
        assert 0.05 < float(expected.detach().mean()) < 0.95  # neurons both fire and stay quiet
        assert got.dtype == dtype and got.shape == expected.shape
        assert torch.equal(got, expected.detach())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fmt", FORMATS[:4])
def test_cuda_gradient_matches_autograd_through_reference(cuda_kernel, fmt, dtype: torch.dtype) -> None:
    p = SPECS[1].constants()
    readout = torch.randn(T, B, N, generator=torch.Generator().manual_seed(9), dtype=dtype).to("cuda")
    ours = _currents(2, dtype).requires_grad_()
    theirs = ours.detach().clone().requires_grad_()
    (_fused_cuda.fused_lif_sequence_cuda(ours, p, _state_quant(fmt)) * readout).sum().backward()
    (lif_sequence_reference(theirs, p, _state_quant(fmt)) * readout).sum().backward()
    assert ours.grad is not None and theirs.grad is not None
    assert float(theirs.grad.abs().sum()) > 0
    tol = {"rtol": 1e-5, "atol": 1e-6} if dtype == torch.float32 else {"rtol": 1e-12, "atol": 1e-13}
    torch.testing.assert_close(ours.grad, theirs.grad, **tol)


def test_cuda_stochastic_rounding_is_reproducible_and_seed_dependent(cuda_kernel) -> None:
    p = SPECS[1].constants()
    currents = _currents(5, torch.float32)
    fmt = FORMATS[6]
    first = _fused_cuda.fused_lif_sequence_cuda(currents, p, _state_quant(fmt, 0))
    again = _fused_cuda.fused_lif_sequence_cuda(currents, p, _state_quant(fmt, 0))
    other = _fused_cuda.fused_lif_sequence_cuda(currents, p, _state_quant(fmt, 1))
    assert first is not None and again is not None and other is not None
    assert torch.equal(first, again) and not torch.equal(first, other)


def test_lif_sequence_uses_the_cuda_kernel(cuda_kernel, monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args, **kwargs):
        raise AssertionError("lif_sequence fell back to the Python loop")

    monkeypatch.setattr(_dynamics, "lif_sequence_reference", forbidden)
    currents = _currents(6, torch.float32).requires_grad_()
    spikes = lif_sequence(currents, SPECS[0].constants(), _state_quant(FORMATS[2]))
    assert spikes.is_cuda and "FusedLIF" in type(spikes.grad_fn).__name__
    spikes.sum().backward()
    assert currents.grad is not None and currents.grad.is_cuda


def test_cuda_dispatch_tries_the_kernel_before_the_loop() -> None:
    assert _dynamics.lif_implementations("cuda") == (_dynamics._fused_gpu,)
    cpu_currents = torch.ones(3, 2, 4)
    assert _fused_cuda.fused_lif_sequence_cuda(cpu_currents, SPECS[0].constants()) is None  # not its device


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the machine without CUDA")
def test_without_cuda_nothing_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_build(self):
        raise AssertionError("tried to build the CUDA kernel without CUDA")

    monkeypatch.setattr(_fused.KernelLibrary, "_build_or_load", no_build)
    assert _fused_cuda.load_extension() is None


def test_cuda_and_cpu_kernels_are_separate_libraries_under_one_setting(tmp_path) -> None:
    assert _fused_cuda.CUDA_LIBRARY.source.key() != _fused.CPU_LIBRARY.source.key()
    assert "-fmad=false" in _fused_cuda.CUDA_LIBRARY.source.cuda_cflags
    before = _fused._settings
    _fused_cuda.CUDA_LIBRARY._tried = True
    try:
        _fused.configure(_fused.KernelSettings(enabled=False, cache_root=tmp_path))
        assert not _fused_cuda.CUDA_LIBRARY._tried  # a change of settings resets every library
        assert _fused_cuda.CUDA_LIBRARY.load() is None  # disabled: not built
    finally:
        _fused.configure(before)
