"""Cost models (pure functions): memory footprint, synaptic operations, energy and latency of an SNN."""

from qsearch.cost._memory import (
    MemoryBreakdown,
    float_memory_bits,
    memory_breakdown,
    memory_breakdown_for_layers,
    sparse_index_bits,
)
from qsearch.cost._operations import (
    add_energy_pj,
    analog_input_events,
    energy_per_inference_pj,
    mac_energy_pj,
    mult_energy_pj,
    operation_counts,
    synaptic_operations,
)

__all__ = [
    "MemoryBreakdown", "add_energy_pj", "analog_input_events", "energy_per_inference_pj", "float_memory_bits",
    "mac_energy_pj", "memory_breakdown", "memory_breakdown_for_layers", "mult_energy_pj", "operation_counts",
    "sparse_index_bits", "synaptic_operations",
]
