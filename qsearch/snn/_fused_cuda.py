"""The LIF recurrence on CUDA as one fused kernel (``_fused_lif_cuda.cu``): the GPU twin of :mod:`._fused`.

On a GPU the Python reference loop is bound by kernel launches: ~15 tiny elementwise kernels and as many autograd
nodes per timestep and layer, for a few thousand neurons each. The fused kernel runs all T steps of a layer in one
launch (one thread per neuron, state in registers) and its backward in another, with the CPU kernel's ops and
schema, so the same autograd function drives both. Spikes are bit-identical to the reference loop on the same
device (the file is built with ``-fmad=false``), stochastic rounding included: the uniform draws are made here call
by call, in the reference's order, because CUDA's Philox stream depends on how draws are split into calls.

The library is built with nvcc on first use (:class:`._fused.KernelLibrary`: cached per machine under a key that
includes the CUDA version, published atomically) and shares the CPU kernel's settings (``QSEARCH_FUSED=0``
disables both). Without nvcc, or on a torch without CUDA, nothing is built and the reference loop runs.
"""

from __future__ import annotations

from pathlib import Path

import torch

from qsearch.snn._fused import KernelLibrary, KernelSource, register_library, run_kernel
from qsearch.snn._lif_reference import StateQuant
from qsearch.snn._neuron import NeuronConstants

SOURCE = Path(__file__).with_name("_fused_lif_cuda.cu")
HEADERS = (Path(__file__).with_name("_fused_lif_params.h"),)
#: no fused multiply-add (bit-identity with the reference's one rounding per op); IEEE division and no flush to zero
#: are nvcc's defaults without --use_fast_math
CUDA_CFLAGS = ("-O3", "-fmad=false")
CUDA_LIBRARY = register_library(KernelLibrary(KernelSource("qsearch_fused_lif_cuda", (SOURCE,), HEADERS, ("-O3",),
                                                           CUDA_CFLAGS)))


def load_extension() -> object | None:
    """The CUDA kernel's ops, building the library on first use; None without CUDA, nvcc or ninja."""
    if not torch.cuda.is_available():
        return None
    return CUDA_LIBRARY.load()


def is_available() -> bool:
    return load_extension() is not None


def fused_lif_sequence_cuda(currents: torch.Tensor, p: NeuronConstants,
                            state_quant: StateQuant | None = None) -> torch.Tensor | None:
    """Spikes of ``lif_sequence(currents, p, state_quant)`` from the CUDA kernel; None where it does not apply."""
    if currents.device.type != "cuda":
        return None
    return run_kernel(CUDA_LIBRARY, currents, p, state_quant, draws_per_call=True)


__all__ = ["CUDA_LIBRARY", "fused_lif_sequence_cuda", "is_available", "load_extension"]
