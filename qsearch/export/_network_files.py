"""The files an export is made of: ``network.json`` (everything an integer datapath needs besides the weights)
and ``network.nir`` (the same network as a NIR graph)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from qsearch.quant import FixedPoint
from qsearch.snn.integer import (
    IntegerNetwork,
)
from qsearch.snn.network import is_leaky_readout
from qsearch.studyfile import StudyFile
from qsearch.trial import TrainedTrial

FORMAT_NAME = "qsearch-integer-snn"
FORMAT_VERSION = 3  # 2: conv layers (kind, shapes, pooling); 3: analog input (input.kind); 1 and 2 still load
NETWORK_FILE = "network.json"
CARD_FILE = "model_card.json"
NIR_FILE = "network.nir"

#: Norse's step, which the codes implement (NIR's CubaLIF is the continuous-time model it discretises)
UPDATE_ORDER = ("i = Q_i(i + W s); v = Q_v(v + a_mem*((v_leak - v) + i)); i = Q_i(i - a_syn*i); "
                "z = v > v_th; v = v_reset where z")



# ------------------------------------------------------------------------------------------- writing


def _fmt(fmt: FixedPoint) -> dict[str, Any]:
    return {"bits": fmt.bits, "frac_bits": fmt.frac_bits, "q": fmt.describe(), "min_code": fmt.min_code,
            "max_code": fmt.max_code, "step": fmt.step}


def _code_dtype(fmt: FixedPoint) -> np.dtype:
    for dtype in (np.int8, np.int16, np.int32):
        info = np.iinfo(dtype)
        if info.min <= fmt.min_code and fmt.max_code <= info.max:
            return np.dtype(dtype)
    return np.dtype(np.int64)


def input_description(net: IntegerNetwork) -> dict[str, Any]:
    """What the network's input is: spikes, or (a direct encoding) analog codes of an unsigned fixed point."""
    if net.input_bits is None:
        return {"kind": "spikes", "layout": "(T, B, *network_shape) time-major: 0/1 spikes, or event counts per "
                                            "frame"}
    b = net.input_bits
    return {"kind": "analog", "input_bits": b,
            "format": {"bits": b, "frac_bits": b, "signed": False, "min_code": 0, "max_code": 2 ** b - 1,
                       "step": 2.0 ** -b, "quantize": f"code = min(floor(x * 2^{b} + 1/2), {2 ** b - 1}) for x in "
                                                     "[0, 1]"},
            "layout": f"(T, B, *network_shape) time-major: unsigned {b}-bit codes (value = code * 2^-{b}), the "
                      "same at every step; the first layer multiplies them (W x), it does not add spikes"}


def _tau(dt: float, factor: float) -> float:
    return dt / factor if factor > 0 else math.inf


def network_description(net: IntegerNetwork, trained: TrainedTrial, study_file: StudyFile,
                        study_name: str, trial_number: int) -> dict[str, Any]:
    """The contents of ``network.json`` (weights and masks are referenced by file name)."""
    model, plan = trained.model, trained.plan
    assert plan is not None
    nominal = model.neuron.constants().items()
    constants = {}
    for name, const in net.constants.items().items():
        fmt = net.membrane if name == "v_reset" else plan.param_formats[name]
        constants[name] = {"code": const.code, "frac_bits": const.frac_bits, "bits": const.bits,
                           "q": fmt.describe(), "value": const.value, "nominal": nominal[name],
                           "grid": "membrane" if name == "v_reset" else "param"}
    layers = []
    last = len(net.weights) - 1
    for index, (shape, weight, fmt) in enumerate(zip(net.topology, net.weights, net.weight_formats, strict=True)):
        mask = plan.masks[index]
        kept = int(mask.sum()) if mask is not None else weight.numel()
        layers.append({
            "index": index, "kind": shape.kind, "in": math.prod(shape.in_shape), "out": shape.neurons,
            "in_shape": list(shape.in_shape), "out_shape": list(shape.out_shape),
            **({"kernel_size": shape.kernel_size, "stride": 1, "padding": shape.padding, "pool": shape.pool,
                "pooling": shape.pooling, "spikes_shape": list(shape.spikes_shape)} if shape.kind == "conv" else {}),
            "neuron": "li" if index == last and is_leaky_readout(net.readout) else "lif",
            "weights": {**_fmt(fmt), "file": f"weights_layer{index}.npy", "dtype": str(_code_dtype(fmt)),
                        "shape": [int(s) for s in weight.shape]},
            "mask": {"pruned": mask is not None, "kept": kept, "total": weight.numel(),
                     "file": f"mask_layer{index}.npy" if mask is not None else None,
                     "packing": "numpy.packbits of the row-major mask of the weight shape, big bit order"},
            "current": _fmt(net.current_formats[index]),
        })
    dataset = study_file.dataset
    encoding = dataset.encoding.model_dump() if hasattr(dataset, "encoding") else {"kind": "event frames"}
    spec = model.neuron
    return {
        "format": FORMAT_NAME, "version": FORMAT_VERSION, "study": study_name, "trial": trial_number,
        **({"sizes": _mlp_sizes(net)} if _mlp_sizes(net) else {}), "layers": layers,
        "membrane": _fmt(net.membrane),
        "neuron": {
            "model": "current-based LIF (Norse lif_feed_forward_step)", "update": UPDATE_ORDER,
            "reset": {"mode": "to value", "value": net.constants.v_reset.value},
            "threshold": "spike when v > v_th (strict), compared at common fraction bits",
            "dt": spec.dt, "tau_mem_inv": spec.tau_mem_inv, "tau_syn_inv": spec.tau_syn_inv,
            "constants": constants, "constant_rounding": "nearest",
        },
        "timesteps": plan.config.timesteps,
        "readout": {"kind": net.readout,
                    "logits": "spike counts of the output layer" if net.readout == "spiking"
                    else "maximum over time of the LI membrane (membrane codes)" if net.readout == "li"
                    else "sum over time of the LI membrane (membrane codes)"},
        "rounding": net.rounding,
        "saturation": "clamp to the format's code range after every rounding",
        "input": {"dataset": dataset.name, "shape": list(trained.data.input_shape),
                  "features": math.prod(net.input_shape), "network_shape": list(net.input_shape),
                  "encoding": encoding, **input_description(net)},
        "nir": {"file": NIR_FILE if nir_representable(net) else None, "quantization_metadata_in_nodes": True,
                **({} if nir_representable(net) else {"why_not": "NIR 1.0 has no max-pooling node"})},
    }


def _mlp_sizes(net: IntegerNetwork) -> list[int] | None:
    """Layer sizes (input, hidden..., classes) when every layer is linear, as format version 1 recorded them."""
    if any(layer.kind != "linear" for layer in net.topology):
        return None
    return [math.prod(net.input_shape), *(layer.neurons for layer in net.topology)]


def nir_representable(net: IntegerNetwork) -> bool:
    return all(layer.kind == "linear" or layer.pool <= 1 or layer.pooling == "sum" for layer in net.topology)


def _nir_input_metadata(net: IntegerNetwork) -> dict[str, Any]:
    """NIR has no analog-input node: the Input node and the graph say in metadata what the input is."""
    if net.input_bits is None:
        return {"input_kind": "spikes"}
    return {"input_kind": "analog", "input_bits": net.input_bits, "input_frac_bits": net.input_bits,
            "input_signed": False, "input_note": "direct encoding: the input is an analog current (unsigned "
                                                 "fixed-point codes), not spikes, presented at every step"}


def _nir_graph(net: IntegerNetwork, description: dict[str, Any]) -> Any:
    import nir

    neuron = description["neuron"]
    dt = float(neuron["dt"])
    c = net.constants
    analog = _nir_input_metadata(net)
    nodes: dict[str, Any] = {"input": nir.Input(input_type={"input": np.array(net.input_shape)}, metadata=analog)}
    edges: list[tuple[str, str]] = []
    previous = "input"
    shared = {"rounding": net.rounding, "membrane_bits": net.membrane.bits,
              "membrane_frac_bits": net.membrane.frac_bits, "membrane_format": net.membrane.describe(),
              "reset": "to value", "update": UPDATE_ORDER, "dt": dt}
    for name, const in c.items().items():
        nominal = float(neuron["constants"][name]["nominal"])
        shared.update({f"{name}_code": const.code, f"{name}_frac_bits": const.frac_bits,
                       f"{name}_bits": const.bits, f"{name}_nominal": nominal})
    for layer, shape in zip(description["layers"], net.topology, strict=True):
        index = layer["index"]
        weight = (net.weights[index].to(torch.float64) * net.weight_formats[index].step).cpu().numpy()  # exact
        w = layer["weights"]
        synapse_meta = {"weight_bits": w["bits"], "weight_frac_bits": w["frac_bits"],
                        "weight_format": w["q"], "codes_file": w["file"],
                        "kept": layer["mask"]["kept"], "total": layer["mask"]["total"]}
        if shape.kind == "conv":
            nodes[f"conv{index}"] = nir.Conv2d(
                input_shape=tuple(shape.in_shape[1:]), weight=weight.astype(np.float32), stride=1,
                padding=shape.padding, dilation=1, groups=1, bias=np.zeros(shape.out_shape[0], dtype=np.float32),
                metadata=synapse_meta)
            synapse = f"conv{index}"
        else:
            source_shape = net.topology[index - 1].spikes_shape if index else net.input_shape
            if len(source_shape) > 1:
                nodes[f"flatten{index}"] = nir.Flatten(input_type={"input": np.array(source_shape)},
                                                       start_dim=0, end_dim=-1)
                edges.append((previous, f"flatten{index}"))
                previous = f"flatten{index}"
            nodes[f"linear{index}"] = nir.Linear(weight=weight.astype(np.float32), metadata=synapse_meta)
            synapse = f"linear{index}"
        cur = net.current_formats[index]
        meta = {**shared, "current_bits": cur.bits, "current_frac_bits": cur.frac_bits,
                "current_format": cur.describe()}
        n = tuple(shape.out_shape)
        common = {"tau_syn": np.full(n, _tau(dt, c.a_syn.value)),
                  "tau_mem": np.full(n, _tau(dt, c.a_mem.value)), "r": np.ones(n),
                  "v_leak": np.full(n, c.v_leak.value), "w_in": np.ones(n)}
        if layer["neuron"] == "li":
            nodes[f"neuron{index}"] = nir.CubaLI(**common, metadata=meta)
        else:
            nodes[f"neuron{index}"] = nir.CubaLIF(**common, v_threshold=np.full(n, c.v_th.value),
                                                  v_reset=np.full(n, c.v_reset.value), metadata=meta)
        edges += [(previous, synapse), (synapse, f"neuron{index}")]
        previous = f"neuron{index}"
        if shape.kind == "conv" and shape.pool > 1:
            p = shape.pool
            nodes[f"pool{index}"] = nir.SumPool2d(kernel_size=np.array([p, p]), stride=np.array([p, p]),
                                                  padding=np.array([0, 0]))
            edges.append((previous, f"pool{index}"))
            previous = f"pool{index}"
    nodes["output"] = nir.Output(output_type={"output": np.array([net.n_classes])})
    edges.append((previous, "output"))
    graph_meta = {"qsearch_format": FORMAT_NAME, "study": description["study"], "trial": description["trial"],
                  "timesteps": description["timesteps"], "readout": net.readout, "rounding": net.rounding,
                  "dt": dt, **analog}
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=graph_meta)

