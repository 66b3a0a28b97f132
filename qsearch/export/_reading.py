"""Reading an export back: the integer network from its folder, and its accuracy on the study's data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from qsearch.errors import DataError, InputError
from qsearch.export._network_files import CARD_FILE, FORMAT_NAME, NETWORK_FILE
from qsearch.export._trial_export import integer_accuracy
from qsearch.quant import FixedPoint
from qsearch.snn import LayerShape
from qsearch.snn.integer import (
    CONSTANT_NAMES,
    IntegerConstant,
    IntegerConstants,
    IntegerNetwork,
)
from qsearch.studyfile import StudyFile, load_study_file, parse_study


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
                          readout=desc["readout"]["kind"], input_bits=_input_bits(desc["input"]))


def _input_bits(described: dict[str, Any]) -> int | None:
    """The analog input's width, None for spike input (every file before format 3)."""
    return int(described["input_bits"]) if described.get("kind") == "analog" else None


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
    (the split of the stored ``accuracy``). Pooled over the evaluation draws the trial was measured with (the
    card's ``accuracy.draws``: a rate-coded input is encoded again per draw), so for truncate/nearest rounding
    this equals the stored accuracy.
    """
    out_dir = Path(out_dir)
    card = json.loads((out_dir / CARD_FILE).read_text()) if (out_dir / CARD_FILE).exists() else {}
    if study_file is None:
        study_file = parse_study(card["study_file"], str(out_dir))
    elif not isinstance(study_file, StudyFile):
        study_file = load_study_file(study_file)
    net = load_exported(out_dir)
    timesteps = int(json.loads((out_dir / NETWORK_FILE).read_text())["timesteps"])
    name = split or study_file.accuracy_split
    if name not in ("train", "validation", "test"):
        raise InputError(f"split: {name!r} is unknown; allowed: train, validation, test")
    draws = int(card.get("accuracy", {}).get("draws") or 1)
    return integer_accuracy(net, study_file, timesteps, name, draws, generator)


