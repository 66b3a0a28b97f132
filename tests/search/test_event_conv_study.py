"""End to end on event data: a tiny N-MNIST in tonic's real on-disk format, a conv SNN, two trials on SQLite,
then the chosen conv trial exported as an integer network that reproduces the stored accuracy."""

from __future__ import annotations

import json

import nir
import numpy as np
import pytest
from dataset_files import write_nmnist

from qsearch.execution import run_study
from qsearch.export import evaluate_exported, export_trial
from qsearch.quant import QuantConfig
from qsearch.results import engine_for, load_results
from qsearch.studyfile import parse_study
from qsearch.trial import build_model
from qsearch.trial._pipeline import network_memory

T = 6


@pytest.fixture(scope="module")
def event_study(tmp_path_factory):
    root = tmp_path_factory.mktemp("events")
    write_nmnist(root, {"Train": 4, "Test": 2})
    study_file = parse_study({
        "name": "events",
        "dataset": {"name": "nmnist", "path": str(root), "validation_fraction": 0.25,
                    "cache_dir": str(root / "cache")},
        "model": {"kind": "conv", "channels": [4], "kernel_size": 3, "pool": 2, "hidden": [],
                  "weight_scale": 3.0, "neuron": {"v_th": 0.3}},
        "training": {"epochs": 2, "batch_size": 8, "learning_rate": 0.01, "qat_epochs": 1},
        "search_space": {"scheme": ["ptq"], "weight_bits": [4], "membrane_bits": [10], "current_bits": [10],
                         "param_bits": [8], "rounding": ["nearest"], "timesteps": [T], "sparsity": [0.5]},
        "early_stopping": {"silent": {"enabled": False}},
        "sampler": {"kind": "random", "seed": 0},
    })
    url = f"sqlite:///{root / 'study.db'}"
    run_study(study_file, url, "events", n_trials=2)
    return url, study_file, root


def test_two_trial_conv_study_on_event_frames_is_recorded(event_study) -> None:
    url, study_file, _ = event_study
    rows = {r["trial_number"]: r for r in load_results(engine_for(url), "events")}
    assert set(rows) == {0, 1} and all(r["state"] == "COMPLETE" for r in rows.values())
    baseline, trial = rows[0], rows[1]
    assert baseline["is_baseline"] and trial["scheme"] == "ptq" and trial["timesteps"] == T
    assert trial["weight_bits"] == "4/4"  # one conv block + the linear readout: two weight layers
    # the recorded memory is the conv network's: conv 4x2x3x3 and readout 10x(4*17*17), half of each pruned
    model = build_model(study_file, (2, 34, 34), 10)
    assert [tuple(w.shape) for w in model.weights] == [(4, 2, 3, 3), (10, 4 * 17 * 17)]
    config = QuantConfig.from_dict(trial["config"])
    assert trial["memory_bits"] == network_memory(model, config).total
    assert trial["memory_breakdown"]["neuron_state"] == (4 * 34 * 34 + 10) * (10 + 10)
    assert trial["compression_ratio"] > 4 and trial["sops"] > 0 and trial["energy_nj"] > 0


def test_conv_trial_exports_as_integer_network_reproducing_its_accuracy(event_study, tmp_path) -> None:
    url, _, _ = event_study
    out = export_trial(url, "events", 1, tmp_path / "export")
    card = json.loads((out / "model_card.json").read_text())
    assert card["reproduced"]["matches"] is True
    assert card["reproduced"]["integer"] == card["accuracy"]["value"]
    assert evaluate_exported(out) == card["accuracy"]["value"]
    network = json.loads((out / "network.json").read_text())
    conv = network["layers"][0]
    assert (conv["kind"], conv["in_shape"], conv["out_shape"], conv["pool"]) == ("conv", [2, 34, 34],
                                                                                   [4, 34, 34], 2)
    assert np.load(out / "weights_layer0.npy").shape == (4, 2, 3, 3)
    graph = nir.read(out / "network.nir")
    kinds = {name: type(node).__name__ for name, node in graph.nodes.items()}
    assert kinds["conv0"] == "Conv2d" and kinds["pool0"] == "SumPool2d" and kinds["flatten1"] == "Flatten"
    assert ("neuron0", "pool0") in graph.edges and ("pool0", "flatten1") in graph.edges
    assert graph.nodes["neuron0"].v_threshold.shape == (4, 34, 34)
