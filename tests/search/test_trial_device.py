"""``model.device`` is honoured end to end: every tensor of a trial lives on the chosen device, ``auto`` is
resolved and recorded, and ``cuda`` without CUDA stops ``qsearch run`` with one line before any trial.

The checks are written per device: the cuda variant runs unchanged where torch finds a GPU and skips elsewhere.
"""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
import torch
import yaml
from study_fixtures import tiny_study_dict
from typer.testing import CliRunner

from qsearch.cli import app
from qsearch.quant import QuantConfig
from qsearch.snn import evaluate, network, run_integer, to_integer
from qsearch.snn._topology import integer_matmul
from qsearch.studyfile import parse_study
from qsearch.trial import run_trial, train_trial_model

DEVICES = [pytest.param("cpu"),
           pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device"))]
#: stochastic rounding and pruning: the plan holds masks, frozen weights and a rounding generator
CONFIG = QuantConfig(scheme="qat", weight_bits=(4, 4), membrane_bits=8, current_bits=8, param_bits=8,
                     rounding="stochastic", timesteps=6, sparsity=(0.25, 0.0))


def _study(device: str):
    return parse_study(tiny_study_dict(model={"hidden": [16], "device": device},
                                       training={"epochs": 1, "qat_epochs": 1}))


def _on(device: str, tensor: torch.Tensor, what: str) -> None:
    assert tensor.device.type == device, f"{what} is on {tensor.device}, the trial asked for {device}"


@pytest.mark.parametrize("device", DEVICES)
def test_every_tensor_of_a_trial_lives_on_the_chosen_device(device: str, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[torch.device] = []
    real = network.lif_sequence

    def recording(currents, p, state_quant=None):
        seen.append(currents.device)
        if state_quant is not None and state_quant.generator is not None:
            _on(device, torch.empty(0, device=state_quant.generator.device), "the rounding generator")
        return real(currents, p, state_quant)

    monkeypatch.setattr(network, "lif_sequence", recording)
    trained = train_trial_model(_study(device), CONFIG)
    model, plan, data = trained.model, trained.plan, trained.data
    assert seen and {d.type for d in seen} == {device}  # every LIF layer of training and calibration
    for name, parameter in model.named_parameters():
        _on(device, parameter, f"parameter {name}")
    for split in (data.train, data.validation, data.test):  # encoder outputs and labels
        _on(device, split.spikes, "encoded spikes")
        _on(device, split.y, "labels")
    x, y = next(data.train.batches(8, generator=torch.Generator().manual_seed(0)))
    _on(device, x, "a training batch")
    _on(device, y, "its labels")
    assert plan is not None and plan.fixed_weights is not None
    for mask in plan.masks:
        if mask is not None:
            _on(device, mask, "a pruning mask")
    for weight in plan.fixed_weights:
        _on(device, weight, "a frozen weight")
    evaluation = evaluate(model, plan, data.test, dtype=torch.float64)
    _on(device, evaluation.predictions, "predictions")
    for spikes in evaluation.input_spikes_per_sample:
        _on(device, spikes, "spike statistics")
    net = to_integer(model, plan)
    for weight in net.tensors():
        _on(device, weight, "an integer weight")
    generator = torch.Generator(device=device).manual_seed(0)
    out = run_integer(net, data.test.spikes.transpose(0, 1), generator=generator)
    _on(device, out.logits, "integer logits")


@pytest.mark.parametrize("device", DEVICES)
def test_the_trial_records_its_device(device: str) -> None:
    outcome = run_trial(_study(device), CONFIG)
    assert outcome.device == device
    assert outcome.as_dict()["device"] == device
    assert 0 <= outcome.accuracy <= 100 and outcome.sops > 0


def test_auto_resolves_to_what_torch_finds_and_is_recorded(tmp_path: Path) -> None:
    db = tmp_path / "auto.db"
    path = tmp_path / "auto.yaml"
    study = tiny_study_dict(name="auto", storage=f"sqlite:///{db}", n_trials=2,
                            model={"hidden": [16], "device": "auto"}, training={"epochs": 1, "qat_epochs": 1})
    path.write_text(yaml.safe_dump(study))
    result = CliRunner().invoke(app, ["run", str(path), "--quiet", "--no-report", "--workers", "1"])
    assert result.exit_code == 0, result.output
    trials = optuna.load_study(study_name="auto", storage=f"sqlite:///{db}").trials
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    finished = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert finished and all(t.user_attrs["device"] == expected for t in finished)


def test_cuda_without_a_device_stops_run_with_one_line_and_no_study(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    db = tmp_path / "cuda.db"
    path = tmp_path / "cuda.yaml"
    path.write_text(yaml.safe_dump(tiny_study_dict(name="cuda", storage=f"sqlite:///{db}",
                                                   model={"hidden": [16], "device": "cuda"})))
    result = CliRunner().invoke(app, ["run", str(path), "--quiet", "--no-report", "--workers", "1"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "qsearch: error: model.device: cuda was asked for but torch finds no CUDA device; use auto or cpu"]
    assert not db.exists()  # no storage opened: no study, no trial


def test_integer_matmul_through_float64_is_exact_and_guards_its_range() -> None:
    g = torch.Generator().manual_seed(0)
    spikes = torch.randint(0, 2, (5, 40), generator=g)
    codes = torch.randint(-(2 ** 15), 2 ** 15, (40, 7), generator=g)
    assert torch.equal(integer_matmul(spikes, codes, via_float64=True), spikes @ codes)
    with pytest.raises(ValueError, match="exceed float64's exact range"):
        integer_matmul(torch.full((1, 4), 2 ** 26), torch.full((4, 1), 2 ** 26), via_float64=True)
