"""``export_trial``: one recorded trial written as a deployable integer network, with its model card."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import torch

from qsearch.errors import InputError
from qsearch.export._network_files import (
    CARD_FILE,
    NETWORK_FILE,
    NIR_FILE,
    _code_dtype,
    _nir_graph,
    network_description,
    nir_representable,
)
from qsearch.metrics import accuracy_standard_error, bits_to_kib, cost_objective, pj_to_nj
from qsearch.quant import FLOAT_BITS, QuantConfig
from qsearch.record import RecordedStudy, artifact_store_for, keys, mask_study_file, read_study, stored_weights
from qsearch.results import baseline_sentence, finalist_records, selection_fields
from qsearch.search import BASELINE_ATTR
from qsearch.snn import device_generator
from qsearch.snn.integer import (
    run_integer,
    to_integer,
)
from qsearch.studyfile import StudyFile
from qsearch.trial import (
    TrainedTrial,
    encoded_trial_data,
    rebuild_trial_model,
    score,
    stochastic_encoding,
    train_trial_model,
)

# ------------------------------------------------------------------------------------------ the trial


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


def retrain_trial(study_file: StudyFile, trial: optuna.trial.FrozenTrial) -> TrainedTrial:
    """Train the network of ``trial`` again, as the objective did (same config, learning rate and epochs)."""
    config = QuantConfig.from_dict(trial.user_attrs["config"])
    return train_trial_model(study_file, config, learning_rate=trial.params.get("learning_rate"),
                             epochs=trial.params.get("epochs"))


def trained_network(recorded: RecordedStudy, study_file: StudyFile, trial: optuna.trial.FrozenTrial,
                    artifact_dir: str | Path | None, retrain: bool) -> tuple[TrainedTrial, str]:
    """The network ``trial`` trained and where it came from: its kept weights (``"kept"``: no training), else
    — or with ``retrain``, a reproducibility check — trained again (``"retrained"``). A repeated configuration
    (``duplicate_of``) uses the weights of the trial it repeats."""
    if not retrain:
        store = artifact_store_for(recorded.url, artifact_dir)
        original = trial.user_attrs.get(keys.DUPLICATE_OF)
        owner = trial if original is None else recorded.study.trials[int(original)]
        state = stored_weights(recorded.study, owner, store)
        if state is not None:
            config = QuantConfig.from_dict(trial.user_attrs["config"])
            return rebuild_trial_model(study_file, config, state, int(trial.user_attrs.get("epochs_run") or 0)), \
                "kept"
    return retrain_trial(study_file, trial), "retrained"



def integer_accuracy(net: Any, study_file: StudyFile, timesteps: int, split: str, draws: int,
                     generator: torch.Generator | None) -> float:
    """Percent correct of the integer network on ``split``, pooled over ``draws`` evaluations as the trial was
    measured (a rate-coded input encoded again per draw; stochastic rounding draws from ``generator``)."""
    fractions = []
    for draw in range(draws):
        data = encoded_trial_data(study_file.dataset, None, timesteps, str(getattr(net, "device", "cpu")),
                                  draw if stochastic_encoding(study_file.dataset) else 0)
        encoded = getattr(data, split)
        out = run_integer(net, encoded.spikes.transpose(0, 1), generator=generator)
        fractions.append(float((out.predictions.cpu() == encoded.y.cpu()).double().mean()))
    return 100 * (sum(fractions) / draws)


def _selection(recorded: RecordedStudy, study_file: StudyFile, number: int) -> dict[str, Any]:
    """Where the exported trial stands in the study's front summary (the one ``qsearch best`` shows)."""
    budget = study_file.constraints.max_accuracy_drop
    summary = recorded.summary()
    rule = (f"smallest {cost_objective(summary.objectives)} among feasible trials on the Pareto front within "
            f"{budget} accuracy points of the float baseline "
            "(ties: higher accuracy, then lower trial number; qsearch.results.select_model)")
    if summary.risk_aware:
        rule = (f"smallest {cost_objective(summary.objectives)} among the finalists whose upper bound on the "
                f"paired drop ({summary.evidence_kind}) is within {budget} points at {summary.confidence:.0%} "
                "confidence, Holm-corrected (qsearch.results.confident_selection; select_model at 0.5)")
    selected, knee = summary.selected, summary.knee
    return {"rule": rule, "known": True, "split": study_file.accuracy_split,
            "selected_trial": selected.trial_number if selected else None,
            "knee_trial": knee.trial_number if knee else None,
            "selected_test_drop": summary.selected_test_drop,
            "selected_within_budget_on_test": summary.selected_within_budget_on_test,
            "is_selected": bool(selected and selected.trial_number == number),
            "on_pareto_front": any(r.trial_number == number for r in summary.front),
            "is_knee": bool(knee and knee.trial_number == number),
            # how sure the pick is: the rule's confidence, its evidence, every finalist's confirmed drop
            "confidence": selection_fields(summary),
            "this_trial": next((f for f in finalist_records(summary) if f["trial_number"] == number), None)
            if summary.risk_aware else None}


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
                     "draws": attrs.get("evaluation_draws", 1), "unit": "percent"},
        "accuracy_drop": attrs.get("accuracy_drop"),
        "memory": {"bits": memory_bits, "kib": bits_to_kib(memory_bits) if memory_bits else None,
                   "breakdown": attrs.get("memory_breakdown"), "float32_bits": float_bits,
                   "compression_ratio": float_bits / memory_bits if memory_bits and float_bits else None},
        "sops": attrs.get("sops"), "macs": attrs.get("macs", 0.0),
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


def export_trial(storage_url: str, study_name: str, trial_number: int, out_dir: Path, *,
                 recorded: RecordedStudy | None = None, artifact_dir: str | Path | None = None,
                 retrain: bool = False) -> Path:
    """Export trial ``trial_number`` of a study into ``out_dir`` (created); returns ``out_dir``.

    The network is the one the trial kept (trials on the front keep their weights in the storage's artifact
    folder, ``artifact_dir`` or ``FILE.artifacts``); a trial without kept weights, or ``retrain``, trains it
    again (seeded). Raises ValueError (one line, naming ``--trial``) for a missing trial, the float baseline, a
    trial that did not complete, or one with float32 formats. Warns when the network does not reproduce the
    stored accuracy (then the model card says so under ``reproduced``).
    """
    recorded = recorded or read_study(storage_url, study_name)
    study = recorded.study
    trial = _exportable_trial(study, study_name, trial_number)
    study_file = recorded.study_file()
    trained, source = trained_network(recorded, study_file, trial, artifact_dir, retrain)
    model, plan = trained.model, trained.plan
    if plan is None:
        raise InputError(f"--trial: trial {trial_number} has no quantization plan (float scheme)")
    net = to_integer(model, plan, trained.data.test.frac_bits or None)  # a direct encoding: analog input codes

    # scored as run_trial scores (test, then validation, the same evaluation draws) so stochastic draws repeat
    attrs = trial.user_attrs
    draws = int(attrs.get("evaluation_draws", 1))
    config = QuantConfig.from_dict(attrs[keys.CONFIG])
    test = score(study_file, model, plan, config, "test", draws)
    validation = score(study_file, model, plan, config, "validation", draws)
    integer = integer_accuracy(net, study_file, config.timesteps, study_file.accuracy_split, draws,
                               device_generator(net.device, 0))
    stored = {"test": attrs.get("test_accuracy"), "validation": attrs.get("validation_accuracy")}
    again = {"test": 100 * test.accuracy, "validation": 100 * validation.accuracy}
    matches = all(stored[k] is not None and stored[k] == again[k] for k in stored)
    reproduced = {"matches": matches, "weights": source, "fake_quantized": again, "stored": stored,
                  "integer": integer,
                  "integer_split": study_file.accuracy_split}
    if not matches:
        how = "the kept weights give" if source == "kept" else "retraining gave"
        warnings.warn(f"trial {trial_number}: {how} test/validation accuracy {again['test']:.2f}/"
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
    selection = _selection(recorded, study_file, trial_number)
    card = _model_card(trial, study_file, study_name, selection, reproduced, nir_representable(net),
                       net.device.type)
    # beside the float SNN: the non-spiking model fitted on the same split (recorded by the baseline trial)
    card["reference"] = recorded.reference
    card["baseline"] = {"check": recorded.baseline_check, "tuning": recorded.baseline_tuning,
                        "in_words": baseline_sentence(recorded.baseline_check, recorded.baseline_tuning)}
    _write_json(out_dir / CARD_FILE, card)
    if nir_representable(net):
        import nir

        nir.write(out_dir / NIR_FILE, _nir_graph(net, description))
    return out_dir

