"""Memory footprint of a quantized SNN, in bits, with a per-part breakdown.

What is counted (everything a deployed network must store):
- weights: every *kept* weight at its layer's bit width (no biases: qsearch's layers have none);
- sparsity index (pruned layers only): the cheaper of two standard encodings, per layer —
  a bitmask (one bit per dense position) or CSR (a column index of ceil(log2 fan_in) bits per kept weight plus
  one row pointer of ceil(log2(kept + 1)) bits per output neuron);
- neuron state: per neuron, the membrane potential at ``membrane_bits`` plus the synaptic current at
  ``current_bits`` (Norse's LIF and LI neurons both carry a current);
- neuron parameters: per layer, the five constants of the step (two decay factors, leak, threshold, reset)
  at ``param_bits`` — one neuron population per layer, as on a neuromorphic core;
- formats: one 8-bit scale (shift amount) per fixed-point tensor (a layer's weights, membrane, current).

float32 counts 32 bits everywhere and needs no scales. The compression ratio is float32 memory of the same
architecture (dense) divided by this memory.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from qsearch.quant import FLOAT_BITS, QuantConfig

PARAMS_PER_LAYER = 5
SCALE_BITS = 8


@dataclass(frozen=True)
class MemoryBreakdown:
    weights: tuple[int, ...]
    sparsity_index: tuple[int, ...]
    neuron_state: int
    neuron_params: int
    formats: int

    @property
    def total(self) -> int:
        return sum(self.weights) + sum(self.sparsity_index) + self.neuron_state + self.neuron_params + self.formats

    def as_dict(self) -> dict[str, int]:
        parts = {f"weights_layer{i}": b for i, b in enumerate(self.weights)}
        parts.update({f"sparsity_index_layer{i}": b for i, b in enumerate(self.sparsity_index)})
        parts.update(neuron_state=self.neuron_state, neuron_params=self.neuron_params, formats=self.formats,
                     total=self.total)
        return parts


def sparse_index_bits(fan_in: int, fan_out: int, kept: int) -> int:
    """Bits to say which weights of a pruned (fan_out x fan_in) layer are kept: min(bitmask, CSR)."""
    dense = fan_in * fan_out
    if kept >= dense:
        return 0
    bitmask = dense
    csr = kept * max(1, math.ceil(math.log2(fan_in))) + fan_out * max(1, math.ceil(math.log2(kept + 1)))
    return min(bitmask, csr)


def memory_breakdown(sizes: Sequence[int], config: QuantConfig,
                     kept_weights: Sequence[int] | None = None) -> MemoryBreakdown:
    """Memory of a feed-forward network with layer ``sizes`` under ``config``.

    ``kept_weights`` gives the actual number of unpruned weights per layer (from the masks); by default it is
    derived from the configured sparsity as ``dense - round(sparsity * dense)`` (what magnitude pruning keeps).
    """
    dense = [a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    return memory_breakdown_for_layers(
        dense_weights=dense, fan_in=list(sizes[:-1]), neurons=list(sizes[1:]), config=config,
        kept_weights=kept_weights)


def memory_breakdown_for_layers(*, dense_weights: Sequence[int], fan_in: Sequence[int], neurons: Sequence[int],
                                config: QuantConfig, kept_weights: Sequence[int] | None = None) -> MemoryBreakdown:
    """General form: per weight layer its dense weight count, fan-in and neuron count (conv layers too)."""
    if kept_weights is None:
        kept_weights = [n - round(config.layer_sparsity(i) * n) for i, n in enumerate(dense_weights)]
    weights = tuple(k * config.layer_bits(i) for i, k in enumerate(kept_weights))
    index = tuple(sparse_index_bits(fan_in[i], dense_weights[i] // max(fan_in[i], 1), kept_weights[i])
                  for i in range(len(dense_weights)))
    n_neurons = sum(neurons)
    state = n_neurons * (config.membrane_bits + config.current_bits)
    params = PARAMS_PER_LAYER * len(neurons) * config.param_bits
    fixed_tensors = sum(1 for i in range(len(dense_weights)) if config.layer_bits(i) < FLOAT_BITS)
    fixed_tensors += len(neurons) * ((config.membrane_bits < FLOAT_BITS) + (config.current_bits < FLOAT_BITS))
    return MemoryBreakdown(weights=weights, sparsity_index=index, neuron_state=state, neuron_params=params,
                           formats=fixed_tensors * SCALE_BITS)


def float_memory_bits(sizes: Sequence[int]) -> int:
    """Memory of the dense float32 network with these layer sizes."""
    layers = len(sizes) - 1
    return memory_breakdown(sizes, QuantConfig(weight_bits=(FLOAT_BITS,) * layers)).total
