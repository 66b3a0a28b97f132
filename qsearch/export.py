"""Exporting one trial as a deployable integer network: weight codes, formats, a model card and a NIR graph.

``export_trial`` re-runs the trial's training (seeded, so it reproduces the network the study measured),
freezes its quantization plan and writes into one folder:

- ``weights_layer{i}.npy``: integer weight codes, (out, in) or (out, in_channels, k, k) for conv, int8 or int16 —
  value = code * 2**-frac_bits;
- ``mask_layer{i}.npy`` (pruned layers only): the pruning mask, ``numpy.packbits`` of the row-major mask;
- ``network.json``: everything an integer datapath needs besides the weights (:func:`network_description`);
- ``model_card.json``: study, trial, configuration and every measured metric, plus the selection rule and the
  devices the trial and the export ran on;
- ``network.nir``: the same network as a NIR graph (dequantized float weights, per-neuron CubaLIF parameters,
  Conv2d/SumPool2d/Flatten for conv networks; not written for max pooling, which NIR cannot express;
  the quantization metadata rides in the nodes' ``metadata``, which NIR 1.0.8 writes and reads back).

``load_exported`` rebuilds the :class:`~qsearch.snn.integer.IntegerNetwork` from the folder and
``evaluate_exported`` runs it on the study's data: for truncate/nearest rounding it reproduces the stored
accuracy exactly.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import torch

from qsearch.errors import DataError, InputError
from qsearch.metrics import accuracy_standard_error, bits_to_kib, cost_objective, pj_to_nj
from qsearch.quant import FLOAT_BITS, FixedPoint, QuantConfig
from qsearch.record import make_storage, mask_study_file, mask_url, read_results
from qsearch.results import summarize
from qsearch.search import BASELINE_ATTR, REFERENCE_ATTR, STUDY_FILE_ATTR
from qsearch.snn import LayerShape, device_generator, evaluate
from qsearch.snn.integer import (
    CONSTANT_NAMES,
    IntegerConstant,
    IntegerConstants,
    IntegerNetwork,
    run_integer,
    to_integer,
)
from qsearch.snn.network import is_leaky_readout
from qsearch.studyfile import StudyFile, load_study_file, parse_study
from qsearch.trial import TrainedTrial, train_trial_model, trial_data

FORMAT_NAME = "qsearch-integer-snn"
FORMAT_VERSION = 2  # 2: conv layers (kind, shapes, pooling); version 1 files still load
NETWORK_FILE = "network.json"
CARD_FILE = "model_card.json"
NIR_FILE = "network.nir"

#: Norse's step, which the codes implement (NIR's CubaLIF is the continuous-time model it discretises)
UPDATE_ORDER = ("i = Q_i(i + W s); v = Q_v(v + a_mem*((v_leak - v) + i)); i = Q_i(i - a_syn*i); "
                "z = v > v_th; v = v_reset where z")


# ------------------------------------------------------------------------------------------ the trial


def _load_study(storage_url: str, study_name: str) -> optuna.Study:
    storage = make_storage(storage_url, heartbeat_interval=None)
    try:
        return optuna.load_study(study_name=study_name, storage=storage)
    except KeyError:
        raise InputError(f"--study-name: no study {study_name!r} in {mask_url(storage_url)}") from None


def _exportable_trial(study: optuna.Study, study_name: str, number: int) -> optuna.trial.FrozenTrial:
    trials = {t.number: t for t in study.get_trials(deepcopy=False)}
    if number not in trials:
        known = f"trials 0..{max(trials)}" if trials else "no trials"
        raise InputError(f"--trial: study {study_name!r} has no trial {number} ({known})")
    trial = trials[number]
    config = trial.user_attrs.get("config")
    if trial.user_attrs.get(BASELINE_ATTR) or (config and config.get("scheme") == "float"):
        raise InputError(f"--trial: trial {number} is the float baseline (float32, nothing to quantize); "
                         "export a quantized trial")
    if trial.state != optuna.trial.TrialState.COMPLETE or config is None:
        raise InputError(f"--trial: trial {number} is {trial.state.name}; only COMPLETE trials can be "
                         "exported")
    float_fields = [name for name, bits in QuantConfig.from_dict(config)._widths() if bits >= FLOAT_BITS]
    if float_fields:
        raise InputError(f"--trial: trial {number} keeps {float_fields[0]} in float32; the integer export "
                         "needs fixed-point formats everywhere")
    return trial


def _study_file(study: optuna.Study, study_name: str) -> StudyFile:
    data = study.user_attrs.get(STUDY_FILE_ATTR)
    if data is None:
        raise InputError(f"--study-name: study {study_name!r} holds no study file (not created by qsearch)")
    return parse_study(mask_study_file(data), f"study {study_name!r}")


def retrain_trial(study_file: StudyFile, trial: optuna.trial.FrozenTrial) -> TrainedTrial:
    """Train the network of ``trial`` again, as the objective did (same config, learning rate and epochs)."""
    config = QuantConfig.from_dict(trial.user_attrs["config"])
    return train_trial_model(study_file, config, learning_rate=trial.params.get("learning_rate"),
                             epochs=trial.params.get("epochs"))


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
                  "encoding": encoding,
                  "layout": "(T, B, *network_shape) time-major: 0/1 spikes, or event counts per frame"},
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


def _nir_graph(net: IntegerNetwork, description: dict[str, Any]) -> Any:
    import nir

    neuron = description["neuron"]
    dt = float(neuron["dt"])
    c = net.constants
    nodes: dict[str, Any] = {"input": nir.Input(input_type={"input": np.array(net.input_shape)})}
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
                  "dt": dt}
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=graph_meta)


def _selection(storage_url: str, study_name: str, study_file: StudyFile, number: int) -> dict[str, Any]:
    """Where the exported trial stands in the study's front summary (the one ``qsearch best`` shows)."""
    budget = study_file.constraints.max_accuracy_drop
    summary = summarize(read_results(storage_url, study_name), study_file.objectives, budget)
    rule = (f"smallest {cost_objective(summary.objectives)} among feasible trials on the Pareto front within "
            f"{budget} accuracy points of the float baseline "
            "(ties: higher accuracy, then lower trial number; qsearch.results.select_model)")
    selected, knee = summary.selected, summary.knee
    return {"rule": rule, "known": True, "split": study_file.accuracy_split,
            "selected_trial": selected.trial_number if selected else None,
            "knee_trial": knee.trial_number if knee else None,
            "selected_test_drop": summary.selected_test_drop,
            "selected_within_budget_on_test": summary.selected_within_budget_on_test,
            "is_selected": bool(selected and selected.trial_number == number),
            "on_pareto_front": any(r.trial_number == number for r in summary.front),
            "is_knee": bool(knee and knee.trial_number == number)}


def _model_card(trial: optuna.trial.FrozenTrial, study_file: StudyFile, study_name: str,
                selection: dict[str, Any], reproduced: dict[str, Any], nir: bool,
                export_device: str = "cpu") -> dict[str, Any]:
    attrs = trial.user_attrs
    memory_bits = attrs.get("memory_bits")
    float_bits = attrs.get("float_memory_bits")
    energy_pj = attrs.get("energy_pj")
    return {
        "study": study_name, "trial": trial.number, "summary": attrs.get("summary"),
        "config": attrs["config"], "params": dict(trial.params),
        "accuracy": {"value": attrs.get("accuracy"), "split": study_file.accuracy_split,
                     "test": attrs.get("test_accuracy"), "validation": attrs.get("validation_accuracy"),
                     "test_n": attrs.get("test_n"), "validation_n": attrs.get("validation_n"),
                     "test_se": accuracy_standard_error(attrs.get("test_accuracy"), attrs.get("test_n")),
                     "validation_se": accuracy_standard_error(attrs.get("validation_accuracy"),
                                                              attrs.get("validation_n")),
                     "unit": "percent"},
        "accuracy_drop": attrs.get("accuracy_drop"),
        "memory": {"bits": memory_bits, "kib": bits_to_kib(memory_bits) if memory_bits else None,
                   "breakdown": attrs.get("memory_breakdown"), "float32_bits": float_bits,
                   "compression_ratio": float_bits / memory_bits if memory_bits and float_bits else None},
        "sops": attrs.get("sops"),
        "energy": {"pj": energy_pj, "nj": pj_to_nj(energy_pj) if energy_pj is not None else None},
        "epochs_run": attrs.get("epochs_run"), "stop_reason": attrs.get("stop_reason"),
        "feasible": attrs.get("feasible"), "weight_formats": attrs.get("weight_formats"),
        "membrane_format": attrs.get("membrane_format"),
        "device": {"trial": attrs.get("device", "cpu"), "export": export_device},
        "selection": selection, "reproduced": reproduced,
        "study_file": mask_study_file(json.loads(study_file.model_dump_json())),
        "files": {"network": NETWORK_FILE, "nir": NIR_FILE if nir else None},
    }


def _percent(predictions: torch.Tensor, labels: torch.Tensor) -> float:
    return 100 * float((predictions == labels).double().mean())  # the expression run_trial stores


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, allow_nan=True) + "\n")


def export_trial(storage_url: str, study_name: str, trial_number: int, out_dir: Path) -> Path:
    """Export trial ``trial_number`` of a study into ``out_dir`` (created); returns ``out_dir``.

    Raises ValueError (one line, naming ``--trial``) for a missing trial, the float baseline, a trial that
    did not complete, or one with float32 formats. Warns when the retrained network does not reproduce the
    stored accuracy (then the model card says so under ``reproduced``).
    """
    study = _load_study(storage_url, study_name)
    trial = _exportable_trial(study, study_name, trial_number)
    study_file = _study_file(study, study_name)
    trained = retrain_trial(study_file, trial)
    model, plan, data = trained.model, trained.plan, trained.data
    if plan is None:
        raise InputError(f"--trial: trial {trial_number} has no quantization plan (float scheme)")
    net = to_integer(model, plan)

    # evaluate in run_trial's order (test, then validation) so stochastic draws repeat too
    min_spikes = study_file.early_stopping.silent.min_spikes
    test = evaluate(model, plan, data.test, dtype=torch.float64, min_spikes=min_spikes)
    validation = evaluate(model, plan, data.validation, dtype=torch.float64, min_spikes=min_spikes)
    split = data.test if study_file.accuracy_split == "test" else data.validation
    integer = run_integer(net, split.spikes.transpose(0, 1), generator=device_generator(net.device, 0))
    attrs = trial.user_attrs
    stored = {"test": attrs.get("test_accuracy"), "validation": attrs.get("validation_accuracy")}
    again = {"test": 100 * test.accuracy, "validation": 100 * validation.accuracy}
    matches = all(stored[k] is not None and stored[k] == again[k] for k in stored)
    reproduced = {"matches": matches, "fake_quantized": again, "stored": stored,
                  "integer": _percent(integer.predictions, split.y),
                  "integer_split": study_file.accuracy_split}
    if not matches:
        warnings.warn(f"trial {trial_number}: retraining gave test/validation accuracy {again['test']:.2f}/"
                      f"{again['validation']:.2f} %, the study stored {stored['test']}/"
                      f"{stored['validation']} %; "
                      "the exported network differs from the measured one (other torch version or threads?)",
                      RuntimeWarning, stacklevel=2)

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    description = network_description(net, trained, study_file, study_name, trial_number)
    for layer, weight, fmt in zip(description["layers"], net.weights, net.weight_formats, strict=True):
        np.save(out_dir / layer["weights"]["file"], weight.cpu().numpy().astype(_code_dtype(fmt)))
        mask = plan.masks[layer["index"]]
        if mask is not None:
            np.save(out_dir / layer["mask"]["file"], np.packbits(mask.detach().cpu().numpy().astype(bool)))
    _write_json(out_dir / NETWORK_FILE, description)
    selection = _selection(storage_url, study_name, study_file, trial_number)
    card = _model_card(trial, study_file, study_name, selection, reproduced, nir_representable(net),
                       net.device.type)
    # beside the float SNN: the non-spiking model fitted on the same split (recorded by the baseline trial)
    card["reference"] = study.user_attrs.get(REFERENCE_ATTR)
    _write_json(out_dir / CARD_FILE, card)
    if nir_representable(net):
        import nir

        nir.write(out_dir / NIR_FILE, _nir_graph(net, description))
    return out_dir


# ------------------------------------------------------------------------------------------- reading


def _fixed(data: dict[str, Any]) -> FixedPoint:
    return FixedPoint(int(data["bits"]), int(data["frac_bits"]))


def load_exported(out_dir: Path | str) -> IntegerNetwork:
    """The :class:`IntegerNetwork` stored in an export folder (weights as int64 codes)."""
    out_dir = Path(out_dir)
    path = out_dir / NETWORK_FILE
    if not path.is_file():
        raise DataError(f"export: {path} does not exist; run `qsearch export` first")
    desc = json.loads(path.read_text())
    if desc.get("format") != FORMAT_NAME:
        raise DataError(f"export: {path} is not a {FORMAT_NAME} description")
    weights, formats, currents, topology = [], [], [], []
    for layer in desc["layers"]:
        codes = torch.from_numpy(np.load(out_dir / layer["weights"]["file"]).astype(np.int64))
        mask_info = layer["mask"]
        if mask_info["pruned"]:
            bits = np.load(out_dir / mask_info["file"])
            mask = np.unpackbits(bits, count=codes.numel()).reshape(tuple(codes.shape)).astype(bool)
            if int(mask.sum()) != mask_info["kept"] or bool(codes[torch.from_numpy(~mask)].any()):
                raise DataError(f"export: layer {layer['index']} mask and weight codes disagree")
        weights.append(codes)
        formats.append(_fixed(layer["weights"]))
        currents.append(_fixed(layer["current"]))
        topology.append(_layer_shape(layer))
    constants = {name: IntegerConstant(code=int(c["code"]), frac_bits=int(c["frac_bits"]),
                                       bits=int(c["bits"]))
                 for name, c in desc["neuron"]["constants"].items() if name in CONSTANT_NAMES}
    return IntegerNetwork(topology=tuple(topology), weights=tuple(weights), weight_formats=tuple(formats),
                          current_formats=tuple(currents), membrane=_fixed(desc["membrane"]),
                          constants=IntegerConstants(**constants), rounding=desc["rounding"],
                          readout=desc["readout"]["kind"])


def _layer_shape(layer: dict[str, Any]) -> LayerShape:
    """A layer's topology from network.json (format 1 only knew linear layers of ``in`` -> ``out``)."""
    if layer.get("kind", "linear") == "linear":
        return LayerShape("linear", tuple(layer.get("in_shape", [layer["in"]])), (int(layer["out"]),))
    return LayerShape("conv", tuple(layer["in_shape"]), tuple(layer["out_shape"]), int(layer["kernel_size"]),
                      int(layer["pool"]), layer["pooling"])


def evaluate_exported(out_dir: Path | str, study_file: StudyFile | str | Path | None = None,
                      split: str | None = None, generator: torch.Generator | None = None) -> float:
    """Accuracy (percent) of the exported integer network on the study's data.

    ``study_file`` defaults to the one recorded in the model card; ``split`` to the study's accuracy split
    (the split of the stored ``accuracy``). For truncate/nearest rounding this equals the stored accuracy.
    """
    out_dir = Path(out_dir)
    if study_file is None:
        study_file = parse_study(json.loads((out_dir / CARD_FILE).read_text())["study_file"], str(out_dir))
    elif not isinstance(study_file, StudyFile):
        study_file = load_study_file(study_file)
    net = load_exported(out_dir)
    timesteps = int(json.loads((out_dir / NETWORK_FILE).read_text())["timesteps"])
    data = trial_data(study_file.dataset, timesteps)
    name = split or study_file.accuracy_split
    if name not in ("train", "validation", "test"):
        raise InputError(f"split: {name!r} is unknown; allowed: train, validation, test")
    encoded = getattr(data, name)
    out = run_integer(net, encoded.spikes.transpose(0, 1), generator=generator)
    return _percent(out.predictions, encoded.y)


__all__ = ["evaluate_exported", "export_trial", "load_exported", "network_description", "retrain_trial"]
