"""Which implementation runs the LIF recurrence: a dispatcher by device over interchangeable implementations.

Every implementation computes :func:`~qsearch.snn._lif_reference.lif_sequence_reference`'s values (spikes,
and gradients under BPTT) and returns None where it does not apply (a device, dtype or format it does not
handle), so the next one is tried; the Python reference closes every chain and handles everything.

- ``cpu``: the fused C++ kernel (:mod:`qsearch.snn._fused`, bit-identical to the loop), then the loop.
- ``cuda``: the fused CUDA kernel (:mod:`qsearch.snn._fused_cuda`, bit-identical to the loop on the same
  device), then the loop. Chosen over ``torch.compile`` of the loop by measurement on an H200 (docs/gpu.md):
  the compiled loop is 1.6-5.5x slower per call and recompiles (11-26 s) for every timestep count and format.
  Other implementations plug in with ``register_lif_implementation(device_type, impl)``.

The kernel modules never import this one: the dispatcher depends on the implementations, not the reverse.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from qsearch.snn import _fused, _fused_cuda
from qsearch.snn._lif_reference import StateQuant, li_sequence, lif_sequence_reference
from qsearch.snn._neuron import NeuronConstants

#: spikes of lif_sequence_reference(currents, p, state_quant), or None where the implementation does not apply
LifImplementation = Callable[[torch.Tensor, NeuronConstants, StateQuant | None], torch.Tensor | None]


def _fused_cpu(currents: torch.Tensor, p: NeuronConstants, state_quant: StateQuant | None) -> torch.Tensor | None:
    return _fused.fused_lif_sequence(currents, p, state_quant)  # looked up per call: tests may replace it


def _fused_gpu(currents: torch.Tensor, p: NeuronConstants, state_quant: StateQuant | None) -> torch.Tensor | None:
    return _fused_cuda.fused_lif_sequence_cuda(currents, p, state_quant)  # looked up per call: tests may replace it


_IMPLEMENTATIONS: dict[str, list[LifImplementation]] = {"cpu": [_fused_cpu], "cuda": [_fused_gpu]}


def register_lif_implementation(device_type: str, implementation: LifImplementation) -> None:
    """Try ``implementation`` first on tensors of ``device_type`` (``"cuda"``, ``"cpu"``, ...)."""
    _IMPLEMENTATIONS.setdefault(device_type, []).insert(0, implementation)


def lif_implementations(device_type: str) -> tuple[LifImplementation, ...]:
    """What :func:`lif_sequence` tries on ``device_type``, in order, before the Python reference."""
    return tuple(_IMPLEMENTATIONS.get(device_type, ()))


def lif_sequence(currents: torch.Tensor, p: NeuronConstants,
                 state_quant: StateQuant | None = None) -> torch.Tensor:
    """Spikes (T, B, N) of a feed-forward LIF layer driven by ``currents`` (T, B, N); Norse's step semantics."""
    for implementation in _IMPLEMENTATIONS.get(currents.device.type, ()):
        spikes = implementation(currents, p, state_quant)
        if spikes is not None:
            return spikes
    return lif_sequence_reference(currents, p, state_quant)


__all__ = ["LifImplementation", "StateQuant", "li_sequence", "lif_implementations", "lif_sequence",
           "lif_sequence_reference", "register_lif_implementation"]
