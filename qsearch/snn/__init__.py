"""Spiking networks: Norse LIF dynamics run time-batched, quantization plans, training and evaluation."""

from qsearch.snn._dynamics import lif_sequence, register_lif_implementation
from qsearch.snn._firing_rates import fit_firing_rates, layer_spike_rates
from qsearch.snn._fused import KernelSettings
from qsearch.snn._fused import configure as configure_fused_kernel
from qsearch.snn._lif_reference import StateQuant, li_sequence
from qsearch.snn._neuron import NeuronConstants, NeuronSpec
from qsearch.snn._nir_import import DEFAULT_DT, ImportedNetwork, count_weight_layers, map_graph
from qsearch.snn._plan import QuantPlan, freeze, magnitude_mask, make_plan
from qsearch.snn._topology import LayerShape, conv_layer, kept_fanout, linear_layer, pool_spikes, synaptic_input
from qsearch.snn.integer import IntegerNetwork, run_integer, to_integer
from qsearch.snn.network import DEFAULT_WEIGHT_SCALE, NetworkOutput, SpikingConvNet, SpikingMLP, SpikingNetwork
from qsearch.snn.silent import SilentNetworkMonitor, silent_count
from qsearch.snn.training import (
    DivergedError,
    Evaluation,
    SilentNetworkError,
    TrainResult,
    TrainSettings,
    build_plan,
    calibrate_currents,
    device_generator,
    evaluate,
    train,
)

__all__ = [
    "DEFAULT_DT", "DEFAULT_WEIGHT_SCALE", "DivergedError", "Evaluation", "ImportedNetwork", "IntegerNetwork",
    "KernelSettings", "LayerShape", "NetworkOutput", "NeuronConstants", "NeuronSpec", "QuantPlan",
    "SilentNetworkError", "SilentNetworkMonitor", "SpikingConvNet", "SpikingMLP", "SpikingNetwork", "StateQuant",
    "TrainResult", "TrainSettings", "build_plan", "calibrate_currents", "configure_fused_kernel", "conv_layer",
    "count_weight_layers", "device_generator", "evaluate", "fit_firing_rates", "freeze", "kept_fanout",
    "layer_spike_rates", "li_sequence", "lif_sequence", "linear_layer", "magnitude_mask", "make_plan",
    "map_graph", "pool_spikes", "register_lif_implementation", "run_integer", "silent_count", "synaptic_input",
    "to_integer", "train",
]
