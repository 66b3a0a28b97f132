"""Studies over the user's own trained network: imported from NIR (written by Norse or snnTorch) or a Norse model.

A tiny float network is trained once with qsearch itself and handed to Norse and snnTorch (their steps equal
qsearch's, tests/snn/test_nir_import.py), which write the graphs: the imported baseline must then reach the
trained network's accuracy without any training, and the quantized trial must run from it.
"""

from __future__ import annotations

import dataclasses
import sys
import warnings
from pathlib import Path

import nir
import numpy as np
import optuna
import pytest
import torch
import yaml
from norse.torch import LIFCell, LIFParameters, SequentialState, to_nir
from study_fixtures import tiny_study_dict
from typer.testing import CliRunner

import qsearch.trial._pipeline as trial_module
from qsearch.cli import app
from qsearch.execution import run_study
from qsearch.export import evaluate_exported, export_trial, load_exported
from qsearch.quant import QuantConfig
from qsearch.results import engine_for, load_results
from qsearch.snn import evaluate, run_integer
from qsearch.snn.integer import IntegerConstant, IntegerConstants
from qsearch.studyfile import parse_study
from qsearch.trial import trial_data
from qsearch.trial._imported_network import imported_network

runner = CliRunner()
TAU_MEM_INV, TAU_SYN_INV = 200.0, 500.0  # the study file's neuron defaults
QUANTIZED = {"scheme": ["ptq"], "rounding": ["nearest"], "weight_bits": [6], "membrane_bits": [12],
             "current_bits": [12], "param_bits": [8], "timesteps": [8]}


def _trained(neuron: dict | None = None):
    """A tiny qsearch float network (64-32-10, T=8) and its float accuracy in percent on the validation split
    (the split a study measures ``accuracy`` and ``model.expected_accuracy`` on by default)."""
    study = parse_study(tiny_study_dict(**({"model": {"hidden": [32], "neuron": neuron}} if neuron else {})))
    config = QuantConfig(scheme="float", weight_bits=(32, 32), membrane_bits=32, current_bits=32, param_bits=32,
                         timesteps=8)
    trained = trial_module.train_trial_model(study, config)
    accuracy = 100 * evaluate(trained.model, None, trained.data.validation).accuracy
    return trained.model, accuracy


@pytest.fixture(scope="module")
def cuba_network():
    return _trained()


def _norse_model(model) -> SequentialState:
    p = LIFParameters(tau_mem_inv=torch.tensor(TAU_MEM_INV), tau_syn_inv=torch.tensor(TAU_SYN_INV))
    norse_model = SequentialState(torch.nn.Linear(64, 32, bias=False), LIFCell(p),
                                  torch.nn.Linear(32, 10, bias=False), LIFCell(p))
    with torch.no_grad():
        norse_model[0].weight.copy_(model.weights[0])
        norse_model[2].weight.copy_(model.weights[1])
    return norse_model


def _write_norse_nir(model, path: Path) -> Path:
    """The graph Norse's to_nir writes, with its scalar parameters broadcast per neuron (nir.write needs it)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        graph = to_nir(_norse_model(model), torch.zeros(1, 64))
    for source, target in graph.edges:  # each CubaLIF follows the Affine whose rows are its neurons
        node = graph.nodes[target]
        if isinstance(node, nir.CubaLIF):
            size = graph.nodes[source].weight.shape[0]
            for name in ("tau_mem", "tau_syn", "v_threshold", "v_leak", "v_reset", "r", "w_in"):
                setattr(node, name, np.full(size, float(np.asarray(getattr(node, name)))))
    nir.write(path, graph)
    return path


def _study(tmp_path: Path, model: dict, **overrides) -> dict:
    # one evaluation draw: the accuracies below are the fixture's single evaluation of the same encoding
    study = tiny_study_dict(n_trials=2, model=model, search_space=QUANTIZED,
                            storage=f"sqlite:///{tmp_path / 'study.db'}", name="imported",
                            selection={"evaluation_draws": 1})
    study.update(overrides)
    return study


def _rows(url: str) -> dict[int, dict]:
    return {r["trial_number"]: r for r in load_results(engine_for(url), "imported")}


def test_graph_written_by_norse_is_the_baseline_and_quantizes(cuba_network, tmp_path: Path) -> None:
    model, accuracy = cuba_network
    path = _write_norse_nir(model, tmp_path / "norse.nir")
    study = parse_study(_study(tmp_path, {"kind": "nir", "path": str(path), "tau_convention": "norse",
                                          "expected_accuracy": accuracy}))
    url = study.storage
    run_study(study, url, "imported", n_trials=2)
    rows = _rows(url)
    baseline, quantized = rows[0], rows[1]
    assert baseline["is_baseline"] and baseline["state"] == "COMPLETE"
    # the float network exported by Norse and imported again: the same accuracy, with no training
    assert baseline["accuracy"] == pytest.approx(accuracy, abs=1e-9)
    trials = {t.number: t for t in optuna.load_study(study_name="imported", storage=url).trials}
    assert trials[0].user_attrs["stop_reason"] == trial_module.IMPORTED_REASON
    assert quantized["state"] == "COMPLETE" and not quantized["is_baseline"]
    assert quantized["memory_bits"] < baseline["memory_bits"]
    assert quantized["accuracy"] > 50  # quantized from a working network, not retrained into one


def test_graph_written_by_snntorch_imports_and_runs_a_study(tmp_path: Path) -> None:
    snn = pytest.importorskip("snntorch")
    from snntorch.export_nir import export_to_nir

    # snnTorch's Leaky is a LIF without synaptic current: qsearch's step with a_syn = 1 (tau_syn_inv = 1/dt)
    model, accuracy = _trained({"tau_mem_inv": TAU_MEM_INV, "tau_syn_inv": 1000.0})
    a_mem = model.neuron.constants().a_mem
    beta = 1.0 - a_mem

    def leaky(n: int, **output) -> torch.nn.Module:
        return snn.Leaky(beta=torch.full((n,), beta), threshold=torch.ones(n), init_hidden=True,
                         reset_mechanism="zero", **output)

    net = torch.nn.Sequential(torch.nn.Linear(64, 32, bias=False), leaky(32), torch.nn.Linear(32, 10, bias=False),
                              leaky(10, output=True))
    with torch.no_grad():  # snnTorch: v = beta v + W s; qsearch: v = v + a_mem (W' s - v), so W = a_mem W'
        net[0].weight.copy_(a_mem * model.weights[0])
        net[2].weight.copy_(a_mem * model.weights[1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        graph = export_to_nir(net, torch.zeros(64))
    nir.write(tmp_path / "snntorch.nir", graph)
    study = parse_study(_study(tmp_path, {"kind": "nir", "path": str(tmp_path / "snntorch.nir"), "dt": 1e-4,
                                          "expected_accuracy": accuracy}))
    run_study(study, study.storage, "imported", n_trials=2)
    rows = _rows(study.storage)
    assert rows[0]["state"] == "COMPLETE" and rows[1]["state"] == "COMPLETE"
    assert rows[0]["accuracy"] == pytest.approx(accuracy, abs=1.0)  # float rounding of a_mem*W*r only
    assert rows[1]["memory_bits"] < rows[0]["memory_bits"]


def test_norse_model_from_a_factory_with_a_state_dict(cuba_network, tmp_path: Path, monkeypatch) -> None:
    model, accuracy = cuba_network
    torch.save(_norse_model(model).state_dict(), tmp_path / "weights.pt")
    (tmp_path / "my_norse_net.py").write_text(
        "import torch\nfrom norse.torch import LIFCell, LIFParameters, SequentialState\n\n\n"
        "def build():\n"
        f"    p = LIFParameters(tau_mem_inv=torch.tensor({TAU_MEM_INV}), tau_syn_inv=torch.tensor({TAU_SYN_INV}))\n"
        "    return SequentialState(torch.nn.Linear(64, 32, bias=False), LIFCell(p),\n"
        "                           torch.nn.Linear(32, 10, bias=False), LIFCell(p))\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "my_norse_net", raising=False)
    study = parse_study(_study(tmp_path, {"kind": "python", "factory": "my_norse_net:build",
                                          "state_dict": "weights.pt"}))
    run_study(study, study.storage, "imported", n_trials=2)
    rows = _rows(study.storage)
    assert rows[0]["accuracy"] == pytest.approx(accuracy, abs=1e-9)
    assert rows[1]["state"] == "COMPLETE"


def _cli_run(tmp_path: Path, study: dict) -> tuple[int, str, Path]:
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(study))
    result = runner.invoke(app, ["run", str(path), "--quiet", "--plot", str(tmp_path / "p.html")])
    return result.exit_code, result.output, tmp_path / "study.db"


def test_recurrent_graph_is_refused_by_the_cli_with_one_line_and_no_trial(tmp_path: Path) -> None:
    n = 10
    lif = nir.CubaLIF(tau_syn=np.full(n, 5e-3), tau_mem=np.full(n, 1e-2), r=np.ones(n), v_leak=np.zeros(n),
                      v_threshold=np.ones(n))
    graph = nir.NIRGraph(nodes={"input": nir.Input(input_type={"input": np.array([64])}),
                                "fc": nir.Linear(weight=np.ones((n, 64))), "lif": lif,
                                "rec": nir.Linear(weight=np.eye(n)),
                                "output": nir.Output(output_type={"output": np.array([n])})},
                         edges=[("input", "fc"), ("fc", "lif"), ("lif", "rec"), ("rec", "lif"), ("lif", "output")])
    nir.write(tmp_path / "recurrent.nir", graph)
    code, output, db = _cli_run(tmp_path, _study(tmp_path, {"kind": "nir", "path": str(tmp_path / "recurrent.nir")}))
    assert code == 2
    assert output.strip().splitlines() == [
        "qsearch: error: model.path: node 'lif' (CubaLIF) has a recurrent edge from 'rec'; qsearch's layers are "
        "feed-forward only"]
    assert not db.exists() or not optuna.get_all_study_summaries(f"sqlite:///{db}")


def test_expected_accuracy_mismatch_stops_the_study_before_any_trial(cuba_network, tmp_path: Path) -> None:
    model, accuracy = cuba_network
    path = _write_norse_nir(model, tmp_path / "norse.nir")
    wrong = 100.0 if accuracy < 95 else 10.0
    code, output, db = _cli_run(tmp_path, _study(tmp_path, {"kind": "nir", "path": str(path),
                                                           "tau_convention": "norse", "expected_accuracy": wrong}))
    assert code == 2
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    assert lines[0].startswith(f"qsearch: error: model.expected_accuracy: the imported network reaches "
                               f"{accuracy:.2f} % on the validation split at T=8, expected {wrong:g} ± 1;")
    assert "data scaling" in lines[0] and "timesteps" in lines[0] and "dt" in lines[0]
    assert not db.exists() or not optuna.get_all_study_summaries(f"sqlite:///{db}")


def test_a_qsearch_export_reimports_to_the_same_integer_network(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'export.db'}"
    study = parse_study(tiny_study_dict(n_trials=2, name="tiny", search_space=QUANTIZED,
                                        selection={"evaluation_draws": 1}))
    run_study(study, url, "tiny", n_trials=2)
    out = export_trial(url, "tiny", 1, tmp_path / "export")
    exported = load_exported(out)

    reimport = parse_study(tiny_study_dict(model={"kind": "nir", "path": str(out / "network.nir")}))
    data = trial_data(reimport.dataset, 8)
    imported = imported_network(reimport.model, data.input_shape)
    assert imported.topology == exported.topology and imported.readout == exported.readout
    codes = []
    for weight, fmt, original in zip(imported.weights, exported.weight_formats, exported.weights, strict=True):
        scaled = weight.to(torch.float64) * 2.0 ** fmt.frac_bits
        assert torch.equal(scaled, torch.round(scaled))  # dequantized weights lie exactly on the grid
        codes.append(scaled.to(torch.int64))
        assert torch.equal(codes[-1], original)
    values = imported.neuron.constants().items()
    constants = {name: IntegerConstant(round(values[name] * 2.0 ** const.frac_bits), const.frac_bits, const.bits)
                 for name, const in exported.constants.items().items()}
    assert constants == exported.constants.items()
    rebuilt = dataclasses.replace(exported, weights=tuple(codes), constants=IntegerConstants(**constants))
    out_spikes = run_integer(rebuilt, data.test.spikes.transpose(0, 1))
    accuracy = 100 * float((out_spikes.predictions == data.test.y).double().mean())
    assert accuracy == evaluate_exported(out, split="test")
