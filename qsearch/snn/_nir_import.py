"""Import a trained SNN: a NIR graph (a feed-forward chain) mapped onto qsearch's topology, weights and neuron.

:func:`map_graph` is the pure core: graph -> :class:`ImportedNetwork` (layer shapes, float weights, one
:class:`~qsearch.snn._neuron.NeuronSpec`, readout). It either reproduces the graph exactly or refuses with one
line naming the node and its type (:class:`~qsearch.errors.InputError`), never a silently different network.

What maps, and how (NIR's continuous-time nodes discretised as Norse and qsearch's own export do: the input
jumps into the state, the decays are ``dt / tau``):

- ``Affine`` (zero bias only) / ``Linear`` -> a linear layer; ``Conv2d`` (zero bias, square odd kernel,
  stride 1, 'same' padding, no dilation or groups) -> a conv layer; ``Flatten`` -> nothing (shapes only);
- ``SumPool2d`` after a conv layer's neurons -> its sum pooling; ``AvgPool2d`` the same, with the ``1/p**2``
  folded into the next layer's weights;
- ``CubaLIF`` -> LIF (``a_mem = dt/tau_mem``, ``a_syn = dt/tau_syn``); ``LIF`` -> LIF without a synaptic
  current (``a_syn = 1``: the current is spent in the step it arrives, Norse's ``LIFBoxCell``);
  ``CubaLI`` / ``LI`` the same as a leaky-integrator readout (last layer only). The input gain ``r`` is
  folded into the weights (per neuron for linear layers, per channel for conv layers). ``w_in`` must be 1:
  Norse (and qsearch's export) let the input jump into the synaptic current, snnTorch's ``Synaptic`` writes
  ``w_in = tau_syn/dt`` for an Euler reading; the two cannot be told apart, so other values are refused.

qsearch runs one set of neuron constants for the whole network (fixed-point hardware stores them once), so
per-neuron arrays must hold one value, and every layer the same values; otherwise the graph is refused.
Time constants are in seconds, as NIR specifies; graphs written by ``norse.torch.to_nir`` (Norse 1.1) hold
``dt / tau_inv`` instead (norse#411) and are read with ``tau_convention="norse"``.
Refused as well: recurrent edges and branches, ``IF`` (no leak: qsearch's step scales leak and input by the
same ``dt/tau_mem``), biases, and any other node type.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch

from qsearch.errors import InputError
from qsearch.snn._neuron import NeuronSpec
from qsearch.snn._topology import LayerShape, conv_layer, linear_layer

#: Norse's default time step; the graph's metadata ``dt`` (qsearch's export writes it) or ``model.dt`` win
DEFAULT_DT = 1e-3

SYNAPSES = ("Affine", "Linear", "Conv2d")
NEURONS = ("CubaLIF", "LIF", "CubaLI", "LI")
READOUTS = ("CubaLI", "LI")

TauConvention = Literal["nir", "norse"]


@dataclass(frozen=True)
class ImportedNetwork:
    """A graph as qsearch runs it: one weight tensor per layer (float32), one neuron spec, a readout kind."""

    topology: tuple[LayerShape, ...]
    weights: tuple[torch.Tensor, ...]
    neuron: NeuronSpec
    readout: str  # "spiking" or "li"
    node_names: tuple[str, ...] = field(default=())  # the synapse node of each layer, for messages


def _array(value: Any) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float64)


def _type(node: Any) -> str:
    return type(node).__name__


class _Refuse:
    """Builds the one-line refusals: ``<field>: node '<name>' (<Type>) <why>``."""

    def __init__(self, field_name: str) -> None:
        self.field = field_name

    def __call__(self, name: str, node: Any, why: str) -> InputError:
        return InputError(f"{self.field}: node '{name}' ({_type(node)}) {why}")


def chain(graph: Any, refuse: _Refuse) -> list[str]:
    """The node names from the input to the output; refuses recurrent edges, branches and stray nodes."""
    nodes: Mapping[str, Any] = graph.nodes
    successors: dict[str, list[str]] = {name: [] for name in nodes}
    predecessors: dict[str, list[str]] = {name: [] for name in nodes}
    for source, target in graph.edges:
        source, target = source.split(".")[0], target.split(".")[0]  # 'node.port' edges of nested graphs
        if source not in nodes or target not in nodes:
            raise InputError(f"{refuse.field}: edge {source!r} -> {target!r} names a node the graph lacks")
        successors[source].append(target)
        predecessors[target].append(source)
    inputs = [name for name, node in nodes.items() if _type(node) == "Input"]
    if len(inputs) != 1:
        raise InputError(f"{refuse.field}: the graph has {len(inputs)} Input nodes; qsearch imports one input chain")
    order = [inputs[0]]
    seen = {inputs[0]}
    while _type(nodes[order[-1]]) != "Output":
        name = order[-1]
        following = successors[name]
        if len(following) != 1:
            why = "ends the chain without reaching an Output" if not following else \
                f"branches to {sorted(following)}; only a feed-forward chain can be imported"
            raise refuse(name, nodes[name], why)
        target = following[0]
        if target in seen:
            raise refuse(target, nodes[target], f"has a recurrent edge from '{name}'; qsearch's layers are "
                                                "feed-forward only")
        if len(predecessors[target]) != 1:
            loops = [p for p in predecessors[target] if _reaches(successors, target, p)]
            why = (f"has a recurrent edge from '{loops[0]}'; qsearch's layers are feed-forward only" if loops
                   else f"has inputs from {sorted(predecessors[target])}; only a feed-forward chain can be imported")
            raise refuse(target, nodes[target], why)
        order.append(target)
        seen.add(target)
    stray = [name for name in nodes if name not in seen]
    if stray:
        raise refuse(stray[0], nodes[stray[0]], "is not on the chain from the input to the output")
    return order


def _reaches(successors: Mapping[str, list[str]], start: str, goal: str) -> bool:
    """Whether ``goal`` can be reached from ``start`` along edges (an edge into ``start`` from it is a loop)."""
    stack, seen = [start], set()
    while stack:
        name = stack.pop()
        if name == goal:
            return True
        if name not in seen:
            seen.add(name)
            stack.extend(successors[name])
    return False


def _uniform(values: np.ndarray, what: str, name: str, node: Any, refuse: _Refuse) -> float:
    flat = values.reshape(-1)
    if flat.size == 0 or not np.all(flat == flat[0]):
        raise refuse(name, node, f"has {what} differing between neurons; qsearch stores one value per network "
                                 "(refusing rather than averaging)")
    return float(flat[0])


def _pair(value: Any) -> tuple[int, ...]:
    array = np.atleast_1d(np.asarray(value))
    return tuple(int(v) for v in array) if array.size > 1 else (int(array[0]),) * 2


@dataclass
class _Layer:
    kind: str
    in_shape: tuple[int, ...]
    weight: np.ndarray
    name: str
    pool: int = 1


def _neuron_constants(name: str, node: Any, dt: float, tau_scale: float,
                      refuse: _Refuse) -> tuple[dict[str, float], np.ndarray]:
    """(the neuron's constants in NeuronSpec's terms, its per-neuron input gain ``r``)."""
    kind = _type(node)
    one = lambda attribute, what: _uniform(_array(getattr(node, attribute)), what, name, node, refuse)  # noqa: E731
    if kind in ("CubaLIF", "CubaLI"):
        tau_mem, tau_syn = one("tau_mem", "tau_mem") * tau_scale, one("tau_syn", "tau_syn") * tau_scale
        if np.any(_array(node.w_in) != 1):  # snnTorch's Synaptic writes tau_syn/dt: the Euler reading
            raise refuse(name, node, "has w_in != 1; qsearch reads CubaLIF as Norse and its own export write it "
                                     "(input jumps into the synaptic current, w_in = 1), so it cannot tell "
                                     "this graph's discretisation")
        gain = _array(node.r)
    else:
        tau_mem, tau_syn = one("tau", "tau") * tau_scale, dt  # no synaptic current: a_syn = dt/tau_syn = 1
        gain = _array(node.r)
    if tau_mem <= 0 or tau_syn <= 0 or not math.isfinite(tau_mem) or not math.isfinite(tau_syn):
        raise refuse(name, node, f"has time constants tau_mem={tau_mem}, tau_syn={tau_syn}; qsearch needs "
                                 "finite positive ones")
    if min(tau_mem, tau_syn) < dt * (1 - 1e-6):
        raise refuse(name, node, f"has dt/tau = {dt / min(tau_mem, tau_syn):g} > 1 (tau_mem={tau_mem:g} s, "
                                 f"tau_syn={tau_syn:g} s, dt={dt:g} s): check model.dt; a graph from Norse's "
                                 "to_nir needs model.tau_convention: norse (norse#411)")
    values = {"tau_mem_inv": 1.0 / tau_mem, "tau_syn_inv": 1.0 / tau_syn, "v_leak": one("v_leak", "v_leak")}
    if kind in ("CubaLIF", "LIF"):
        values["v_th"] = one("v_threshold", "v_threshold")
        reset = getattr(node, "v_reset", None)
        values["v_reset"] = 0.0 if reset is None else one("v_reset", "v_reset")
    return values, gain


def _fold_gain(layer: _Layer, gain: np.ndarray, out_shape: tuple[int, ...], name: str, node: Any,
               refuse: _Refuse) -> None:
    """Multiply the input gain into the weights: per neuron (linear rows) or per output channel (conv)."""
    try:
        gain = np.broadcast_to(gain, out_shape)
    except ValueError:
        raise refuse(name, node, f"has parameters of shape {gain.shape}; its layer has {out_shape} neurons") from None
    if layer.kind == "linear":
        layer.weight = layer.weight * gain.reshape(-1, 1)
        return
    channel = gain.reshape(out_shape[0], -1)
    if not np.all(channel == channel[:, :1]):
        raise refuse(name, node, "has r or w_in differing within a channel; a conv layer shares one gain per channel")
    layer.weight = layer.weight * channel[:, 0].reshape(-1, 1, 1, 1)


def _synapse(name: str, node: Any, shape: tuple[int, ...], refuse: _Refuse) -> _Layer:
    kind = _type(node)
    weight = _array(node.weight)
    bias = getattr(node, "bias", None)
    if bias is not None and np.any(_array(bias) != 0):
        raise refuse(name, node, "has a nonzero bias; qsearch's layers have none (train without bias)")
    if kind in ("Affine", "Linear"):
        if weight.ndim != 2 or weight.shape[1] != math.prod(shape):
            raise refuse(name, node, f"has weight shape {weight.shape}; its input has {math.prod(shape)} values")
        return _Layer("linear", shape, weight, name)  # qsearch flattens a linear layer's input itself
    if len(shape) != 3 or weight.ndim != 4 or weight.shape[1] != shape[0]:
        raise refuse(name, node, f"has weight shape {weight.shape} for an input of shape {shape}; set "
                                 "model.input_shape to (channels, height, width)")
    k = weight.shape[2]
    padding = node.padding
    if isinstance(padding, str):
        padding_ok = padding == "same"
    else:
        padding_ok = _pair(padding) == (k // 2, k // 2)
    if (weight.shape[3] != k or k % 2 == 0 or _pair(node.stride) != (1, 1) or _pair(node.dilation) != (1, 1)
            or int(node.groups) != 1 or not padding_ok):
        raise refuse(name, node, f"is a {weight.shape[2]}x{weight.shape[3]} convolution with stride "
                                 f"{node.stride}, padding {node.padding}, dilation {node.dilation}, groups "
                                 f"{node.groups}; qsearch supports square odd kernels, stride 1, padding k//2, "
                                 "no dilation or groups")
    return _Layer("conv", shape, weight, name)


def _pool_window(name: str, node: Any, refuse: _Refuse) -> int:
    kernel, stride, padding = _pair(node.kernel_size), _pair(node.stride), _pair(node.padding)
    if kernel[0] != kernel[1] or stride != kernel or padding != (0, 0):
        raise refuse(name, node, f"pools {kernel} with stride {stride}, padding {padding}; qsearch pools square "
                                 "windows with stride = window and no padding")
    return kernel[0]


def map_graph(graph: Any, input_shape: tuple[int, ...], dt: float | None = None, field_name: str = "model.path",
              tau_convention: TauConvention = "nir") -> ImportedNetwork:
    """The qsearch network a NIR graph describes, for samples of ``input_shape`` (flat samples are reshaped
    to the graph's Input shape when the first layer is a convolution).

    ``tau_convention``: ``nir`` reads time constants in seconds (the NIR specification); ``norse`` reads them
    as ``norse.torch.to_nir`` (Norse 1.1) writes them, ``dt / tau_inv`` = ``dt * tau`` (norse#411).
    """
    refuse = _Refuse(field_name)
    dt = float(dt or (graph.metadata or {}).get("dt", DEFAULT_DT))
    tau_scale = 1.0 / dt if tau_convention == "norse" else 1.0
    order = chain(graph, refuse)
    nodes = graph.nodes
    shape = _network_input_shape(nodes[order[0]], tuple(input_shape), nodes, order)
    layers: list[_Layer] = []
    neuron: dict[str, float] | None = None
    neuron_node = ""
    readout = "spiking"
    pending: _Layer | None = None
    scale = 1.0  # an AvgPool2d's 1/p**2, owed to the next layer's weights
    flattened = False
    for name in order[1:-1]:
        node = nodes[name]
        kind = _type(node)
        if layers and readout == "li":
            raise refuse(name, node, f"follows the leaky-integrator readout '{neuron_node}'; a LI layer must be "
                                     "the last")
        if kind in SYNAPSES:
            if pending is not None:
                raise refuse(name, node, f"follows '{pending.name}' with no neuron between; qsearch layers are "
                                         "weights -> neurons")
            if kind != "Conv2d" and len(shape) > 1 and not flattened:
                raise refuse(name, node, f"receives a {shape} map without a Flatten before it")
            flattened = False
            pending = _synapse(name, node, shape, refuse)
            pending.weight = pending.weight * scale
            scale = 1.0
        elif kind in NEURONS:
            if pending is None:
                raise refuse(name, node, "has no weight layer before it; qsearch layers are weights -> neurons")
            out_shape = ((pending.weight.shape[0],) if pending.kind == "linear"
                         else (pending.weight.shape[0], *shape[1:]))
            values, gain = _neuron_constants(name, node, dt, tau_scale, refuse)
            if neuron is not None:
                differing = [key for key in values if key in neuron and values[key] != neuron[key]]
                if differing:
                    raise refuse(name, node, f"has {differing[0]} = {values[differing[0]]:g}, node "
                                             f"'{neuron_node}' {neuron[differing[0]]:g}; qsearch runs one set of "
                                             "neuron constants for the whole network")
                neuron.update(values)
            else:
                neuron = dict(values)
            neuron_node = name
            _fold_gain(pending, gain, out_shape, name, node, refuse)
            layers.append(pending)
            pending = None
            readout = "li" if kind in READOUTS else "spiking"
            shape = out_shape
        elif kind in ("SumPool2d", "AvgPool2d"):
            last = layers[-1] if layers else None
            if pending is not None or last is None or last.kind != "conv" or last.pool != 1:
                raise refuse(name, node, "does not directly follow a conv layer's neurons; qsearch pools only "
                                         "there, once")
            p = _pool_window(name, node, refuse)
            last.pool = p
            shape = (shape[0], shape[1] // p, shape[2] // p)
            scale = 1.0 / (p * p) if kind == "AvgPool2d" else 1.0
        elif kind == "Flatten":
            if pending is not None:
                raise refuse(name, node, f"follows '{pending.name}' with no neuron between")
            flattened = True  # the shape stays (C, H, W): qsearch's linear layers flatten their input
        elif kind == "IF":
            raise refuse(name, node, "is an integrate-and-fire neuron without leak; qsearch's LIF step scales "
                                     "leak and input by the same dt/tau_mem, so it cannot express IF")
        else:
            raise refuse(name, node, f"is not supported; qsearch imports {', '.join(SYNAPSES)}, "
                                     f"{', '.join(NEURONS)}, SumPool2d, AvgPool2d and Flatten")
    if pending is not None:
        raise refuse(pending.name, nodes[pending.name], "is not followed by neurons before the output")
    if not layers or neuron is None:
        raise InputError(f"{refuse.field}: the graph has no weight layer with neurons")
    if layers[-1].kind != "linear":
        raise refuse(layers[-1].name, nodes[layers[-1].name], "is the readout; qsearch needs a linear readout")
    if scale != 1.0:
        raise refuse(order[-2], nodes[order[-2]], "is an average pool at the output; qsearch's readout is a layer")
    neuron.setdefault("v_th", 1.0)
    neuron.setdefault("v_reset", 0.0)
    spec = NeuronSpec(dt=dt, **neuron)
    return ImportedNetwork(topology=_topology(layers), neuron=spec, readout=readout,
                           weights=tuple(torch.as_tensor(layer.weight, dtype=torch.float32) for layer in layers),
                           node_names=tuple(layer.name for layer in layers))


def _topology(layers: list[_Layer]) -> tuple[LayerShape, ...]:
    shapes = []
    for layer in layers:
        if layer.kind == "linear":
            shapes.append(linear_layer(layer.in_shape, layer.weight.shape[0]))
        else:
            shapes.append(conv_layer(layer.in_shape, layer.weight.shape[0], layer.weight.shape[2], layer.pool))
    return tuple(shapes)


def _network_input_shape(input_node: Any, data_shape: tuple[int, ...], nodes: Mapping[str, Any],
                         order: list[str]) -> tuple[int, ...]:
    """The data's sample shape, or the graph's Input shape when a conv first layer needs (C, H, W)."""
    first = next((nodes[n] for n in order if _type(nodes[n]) in SYNAPSES), None)
    if first is None or _type(first) != "Conv2d" or len(data_shape) == 3:
        return data_shape
    declared = tuple(int(s) for s in np.asarray(next(iter(input_node.input_type.values()))).reshape(-1))
    while len(declared) > 3 and declared[0] == 1:  # a batch axis some writers keep
        declared = declared[1:]
    if len(declared) == 3 and math.prod(declared) == math.prod(data_shape):
        return declared
    return data_shape


def count_weight_layers(graph: Any) -> int:
    """Weight layers of a graph (its synapse nodes): the search space's per-layer parameters."""
    return sum(_type(node) in SYNAPSES for node in graph.nodes.values())


__all__ = ["DEFAULT_DT", "ImportedNetwork", "TauConvention", "count_weight_layers", "map_graph"]
