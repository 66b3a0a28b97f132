"""Spiking networks: Norse LIF dynamics run time-batched, quantization plans, training and evaluation."""

from qsearch.snn._dynamics import StateQuant, li_sequence, lif_sequence
from qsearch.snn._neuron import NeuronConstants, NeuronSpec
from qsearch.snn._plan import QuantPlan, freeze, magnitude_mask, make_plan
from qsearch.snn.integer import IntegerNetwork, run_integer, to_integer
from qsearch.snn.network import NetworkOutput, SpikingMLP
from qsearch.snn.silent import SilentNetworkMonitor, silent_count
from qsearch.snn.training import (
    DivergedError,
    Evaluation,
    SilentNetworkError,
    TrainResult,
    TrainSettings,
    build_plan,
    calibrate_currents,
    evaluate,
    train,
)

__all__ = [
    "DivergedError", "Evaluation", "IntegerNetwork", "NetworkOutput", "NeuronConstants", "NeuronSpec", "QuantPlan",
    "SilentNetworkError", "SilentNetworkMonitor", "SpikingMLP", "StateQuant", "TrainResult", "TrainSettings",
    "build_plan", "calibrate_currents", "evaluate", "freeze", "li_sequence", "lif_sequence", "magnitude_mask",
    "make_plan", "run_integer", "silent_count", "to_integer", "train",
]
