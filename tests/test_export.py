"""Exporting a trial of a real tiny study: files, formats, NIR round trip and the reproduced accuracy."""

from __future__ import annotations

import json

import nir
import numpy as np
import optuna
import pytest
from study_fixtures import tiny_study_dict

import qsearch.trial._pipeline as trial_module
from qsearch.execution import run_study
from qsearch.export import evaluate_exported, export_trial, load_exported
from qsearch.quant import FixedPoint, QuantConfig
from qsearch.record import make_storage
from qsearch.results import engine_for, load_results
from qsearch.snn.integer import IntegerNetwork
from qsearch.studyfile import parse_study


def _run(tmp_path_factory, name: str, **overrides):
    url = f"sqlite:///{tmp_path_factory.mktemp(name) / 'study.db'}"
    study_file = parse_study(tiny_study_dict(n_trials=2, **overrides))
    run_study(study_file, url, "tiny", n_trials=2)
    rows = {r["trial_number"]: r for r in load_results(engine_for(url), "tiny")}
    assert rows[1]["state"] == "COMPLETE"
    trial_module._FLOAT_CACHE.clear()  # the export retrains from scratch, as a fresh `qsearch export` process
    out = export_trial(url, "tiny", 1, tmp_path_factory.mktemp(f"{name}_export"))
    return url, study_file, rows, out


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    space = {"scheme": ["ptq"], "rounding": ["nearest"], "weight_bits": [4], "sparsity": [0.5]}
    return _run(tmp_path_factory, "spiking", search_space=space)


@pytest.fixture(scope="module")
def exported_li(tmp_path_factory):
    space = {"scheme": ["ptq"], "rounding": ["truncate"], "weight_bits": [2], "membrane_bits": [12]}
    # the readout as given (66 % in two epochs: tuning would be free to choose li_sum, the check to stop it)
    return _run(tmp_path_factory, "li", search_space=space, model={"hidden": [32], "readout": "li"},
                baseline={"min_reference_share": 0, "tune": {"when": "never"}})


def _trial(url: str, number: int) -> optuna.trial.FrozenTrial:
    study = optuna.load_study(study_name="tiny", storage=make_storage(url, heartbeat_interval=None))
    return study.trials[number]


def test_export_writes_every_file(exported) -> None:
    _, _, _, out = exported
    names = {p.name for p in out.iterdir()}
    assert names == {"weights_layer0.npy", "weights_layer1.npy", "mask_layer0.npy", "mask_layer1.npy",
                     "network.json", "model_card.json", "network.nir"}


def test_network_json_describes_the_formats(exported) -> None:
    url, _, _, out = exported
    config = QuantConfig.from_dict(_trial(url, 1).user_attrs["config"])
    desc = json.loads((out / "network.json").read_text())
    assert desc["sizes"] == [64, 32, 10] and desc["timesteps"] == 8 == config.timesteps
    assert desc["rounding"] == "nearest" and desc["readout"]["kind"] == "spiking"
    assert desc["input"]["encoding"] == {"kind": "rate", "max_rate": 1.0} and desc["input"]["features"] == 64
    assert desc["neuron"]["reset"]["mode"] == "to value" and desc["neuron"]["dt"] == 1e-3
    membrane = FixedPoint(desc["membrane"]["bits"], desc["membrane"]["frac_bits"])
    assert membrane.bits == config.membrane_bits and desc["membrane"]["q"] == membrane.describe()
    for layer in desc["layers"]:
        w = layer["weights"]
        fmt = FixedPoint(w["bits"], w["frac_bits"])
        assert w["bits"] == config.layer_bits(layer["index"]) == 4 and w["q"] == fmt.describe()
        assert layer["current"]["bits"] == config.current_bits
        codes = np.load(out / w["file"])
        assert codes.dtype == np.int8 and list(codes.shape) == [layer["out"], layer["in"]] == w["shape"]
        assert fmt.min_code <= codes.min() and codes.max() <= fmt.max_code
        mask = layer["mask"]
        assert mask["pruned"] and mask["kept"] == mask["total"] - round(0.5 * mask["total"])
        bits = np.unpackbits(np.load(out / mask["file"]), count=mask["total"]).reshape(codes.shape)
        assert int(bits.sum()) == mask["kept"] and not codes[bits == 0].any()  # pruned weights are code 0
    for name, const in desc["neuron"]["constants"].items():
        assert const["value"] == const["code"] * 2.0 ** -const["frac_bits"], name
        assert abs(const["value"] - const["nominal"]) <= 2.0 ** -const["frac_bits"], name
    assert desc["neuron"]["constants"]["v_reset"]["frac_bits"] == membrane.frac_bits  # on the membrane grid


def test_model_card_holds_the_measured_metrics(exported) -> None:
    url, study_file, rows, out = exported
    card = json.loads((out / "model_card.json").read_text())
    row, trial = rows[1], _trial(url, 1)
    assert card["study"] == "tiny" and card["trial"] == 1 and card["config"] == trial.user_attrs["config"]
    assert card["accuracy"]["value"] == row["accuracy"] and card["accuracy"]["split"] == "validation"
    assert card["accuracy"]["value"] == row["validation_accuracy"]  # selection never sees the test split
    assert card["accuracy"]["test"] == row["test_accuracy"]
    assert (card["accuracy"]["test_n"], card["accuracy"]["validation_n"]) == (row["test_n"], row["validation_n"])
    assert card["accuracy"]["test_n"] > 0 and card["accuracy"]["test_se"] == pytest.approx(row.test_accuracy_se)
    assert card["accuracy"]["validation"] == row["validation_accuracy"]
    assert card["accuracy_drop"] == pytest.approx(row["accuracy_drop"])
    assert card["memory"]["bits"] == row["memory_bits"]
    assert card["memory"]["breakdown"] == row["memory_breakdown"]
    assert card["memory"]["compression_ratio"] == pytest.approx(row["compression_ratio"])
    assert card["sops"] == pytest.approx(row["sops"])
    assert card["energy"]["nj"] == pytest.approx(row["energy_nj"])
    assert "select_model" in card["selection"]["rule"] and card["selection"]["known"] is True
    assert card["reproduced"]["matches"] is True  # retraining gave the network the study measured
    assert card["device"] == {"trial": trial.user_attrs["device"], "export": trial.user_attrs["device"]}
    assert trial.user_attrs["device"] in ("cpu", "cuda")
    assert card["reproduced"]["integer"] == row["accuracy"]
    assert parse_study(card["study_file"]) == study_file


def test_nir_graph_round_trips(exported) -> None:
    _, _, _, out = exported
    graph = nir.read(out / "network.nir")
    types = {name: type(node).__name__ for name, node in graph.nodes.items()}
    assert types == {"input": "Input", "linear0": "Linear", "neuron0": "CubaLIF", "linear1": "Linear",
                     "neuron1": "CubaLIF", "output": "Output"}
    assert graph.edges == [("input", "linear0"), ("linear0", "neuron0"), ("neuron0", "linear1"),
                           ("linear1", "neuron1"), ("neuron1", "output")]
    desc = json.loads((out / "network.json").read_text())
    constants = desc["neuron"]["constants"]
    for layer in desc["layers"]:
        linear, lif = graph.nodes[f"linear{layer['index']}"], graph.nodes[f"neuron{layer['index']}"]
        codes = np.load(out / layer["weights"]["file"])
        step = 2.0 ** -layer["weights"]["frac_bits"]
        assert np.array_equal(linear.weight, codes * step)  # dequantized, exact
        assert int(linear.metadata["weight_bits"]) == 4
        assert lif.tau_mem.shape == lif.v_threshold.shape == (layer["out"],)  # per-neuron arrays
        assert np.allclose(lif.tau_mem, 1e-3 / constants["a_mem"]["value"])
        assert np.allclose(lif.tau_syn, 1e-3 / constants["a_syn"]["value"])
        assert np.all(lif.v_threshold == constants["v_th"]["value"]) and np.all(lif.r == 1)
        assert int(lif.metadata["membrane_bits"]) == desc["membrane"]["bits"]
        assert int(lif.metadata["v_th_code"]) == constants["v_th"]["code"]


def test_evaluate_exported_reproduces_the_stored_accuracy(exported) -> None:
    _, study_file, rows, out = exported
    net = load_exported(out)
    assert isinstance(net, IntegerNetwork) and net.rounding == "nearest"
    assert evaluate_exported(out, study_file) == rows[1]["accuracy"]  # exactly: deterministic rounding
    assert evaluate_exported(out) == rows[1]["accuracy"]  # the study file recorded in the model card


def test_leaky_integrator_readout_exports_and_reproduces(exported_li) -> None:
    _, study_file, rows, out = exported_li
    graph = nir.read(out / "network.nir")
    assert type(graph.nodes["neuron1"]).__name__ == "CubaLI"  # Norse's LI readout keeps a synaptic current
    assert not (out / "mask_layer0.npy").exists()
    assert load_exported(out).readout == "li"
    assert evaluate_exported(out, study_file) == rows[1]["accuracy"]


@pytest.mark.parametrize(("number", "message"), [(0, "float baseline"), (7, "has no trial 7")])
def test_baseline_and_missing_trials_are_refused(exported, tmp_path, number: int, message: str) -> None:
    url, _, _, _ = exported
    with pytest.raises(ValueError, match=f"--trial: .*{message}") as error:
        export_trial(url, "tiny", number, tmp_path / "out")
    assert "\n" not in str(error.value)
    assert not (tmp_path / "out").exists()


def test_unknown_study_is_refused(exported, tmp_path) -> None:
    url, _, _, _ = exported
    with pytest.raises(ValueError, match="--study-name: no study 'nope'"):
        export_trial(url, "nope", 1, tmp_path / "out")


@pytest.fixture(scope="module")
def exported_direct(tmp_path_factory):
    """A short study of direct (analog) input: the float baseline, then PTQ and QAT trials, each exported."""
    url = f"sqlite:///{tmp_path_factory.mktemp('direct') / 'study.db'}"
    study_file = parse_study(tiny_study_dict(
        n_trials=4, dataset={"name": "digits", "encoding": {"kind": "direct", "input_bits": 6}},
        search_space={"scheme": ["ptq", "qat"], "rounding": ["nearest", "truncate"], "weight_bits": [4]},
        selection={"confirm": False}))  # the initial design's ladder: PTQ w4, then QAT w4, then a random trial
    run_study(study_file, url, "tiny", n_trials=4)
    rows = {r["trial_number"]: r for r in load_results(engine_for(url), "tiny")}
    trial_module._FLOAT_CACHE.clear()
    schemes = {n: _trial(url, n).user_attrs["config"]["scheme"] for n in rows if n > 0}
    assert set(schemes.values()) == {"ptq", "qat"}, schemes
    outs = {scheme: export_trial(url, "tiny", min(n for n, s in schemes.items() if s == scheme),
                                 tmp_path_factory.mktemp(f"direct_{scheme}"))
            for scheme in ("ptq", "qat")}
    return url, study_file, rows, outs


def test_a_direct_encoding_study_exports_networks_that_reproduce_their_accuracy(exported_direct) -> None:
    url, study_file, rows, outs = exported_direct
    assert all(row["state"] == "COMPLETE" for row in rows.values()) and len(rows) == 4
    assert rows[0]["accuracy"] > 70  # the float baseline learns from analog input
    for scheme, out in outs.items():
        card = json.loads((out / "model_card.json").read_text())
        assert card["config"]["scheme"] == scheme
        assert card["accuracy"]["draws"] == 1  # a direct encoding is deterministic: nothing to pool
        stored = rows[card["trial"]]["accuracy"]
        assert card["reproduced"]["matches"] is True and card["reproduced"]["integer"] == stored
        net = load_exported(out)
        assert net.input_bits == 6
        assert evaluate_exported(out) == stored  # the integer network from the files, on the analog codes


def test_a_direct_export_says_the_input_is_analog(exported_direct) -> None:
    _, _, _, outs = exported_direct
    out = outs["ptq"]
    desc = json.loads((out / "network.json").read_text())
    assert desc["input"]["kind"] == "analog" and desc["input"]["input_bits"] == 6
    assert desc["input"]["encoding"] == {"kind": "direct", "input_bits": 6}
    assert desc["input"]["format"]["max_code"] == 63 and desc["input"]["format"]["signed"] is False
    graph = nir.read(out / "network.nir")
    assert graph.metadata["input_kind"] == "analog" and int(graph.metadata["input_bits"]) == 6
    assert graph.nodes["input"].metadata["input_kind"] == "analog"


def test_a_direct_first_layer_is_counted_as_multiply_accumulates(exported_direct) -> None:
    url, _, rows, _ = exported_direct
    for number in rows:
        attrs = _trial(url, number).user_attrs
        assert 0 < attrs["macs"] < attrs["sops"]  # the first layer multiplies, the readout accumulates spikes


def test_spike_input_exports_say_spikes(exported) -> None:
    url, _, _, out = exported
    assert json.loads((out / "network.json").read_text())["input"]["kind"] == "spikes"
    assert load_exported(out).input_bits is None
    assert nir.read(out / "network.nir").metadata["input_kind"] == "spikes"
    assert _trial(url, 1).user_attrs["macs"] == 0.0
