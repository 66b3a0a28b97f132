"""From an Optuna trial to a QuantConfig: the search space of the study file, sampled parameter by parameter."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import optuna

from qsearch.errors import InputError
from qsearch.quant import FLOAT_BITS, QuantConfig
from qsearch.studyfile import StudyFile
from qsearch.trial import is_imported
from qsearch.trial import weight_layer_count as imported_layer_count

Choice = TypeVar("Choice", bound=str)


@dataclass(frozen=True)
class SampledTrial:
    config: QuantConfig
    learning_rate: float | None
    epochs: int | None


def layer_count(study: StudyFile) -> int:
    """Weight layers of the study's network: from the model section, or read from an imported network."""
    if is_imported(study.model):
        return imported_layer_count(study.model)
    return study.model.weight_layer_count()


def _suggest_choice(trial: optuna.Trial, name: str, choices: Sequence[Choice]) -> Choice:
    """``suggest_categorical`` over named choices, returning the choice itself so that its Literal type survives
    (Optuna's signature widens a list of Literal strings to ``str``)."""
    value = trial.suggest_categorical(name, choices)
    for choice in choices:
        if choice == value:
            return choice
    raise ValueError(f"{name}: Optuna suggested {value!r}, which is not one of {list(choices)}")


def sample_trial(trial: optuna.Trial, study: StudyFile) -> SampledTrial:
    """Suggest every searched parameter; per-layer parameters are named ``weight_bits_l0``, ``sparsity_l1``..."""
    space = study.search_space
    layers = layer_count(study)
    scheme = _suggest_choice(trial, "scheme", space.scheme)
    if space.per_layer_weight_bits:
        weight_bits = tuple(trial.suggest_categorical(f"weight_bits_l{i}", space.weight_bits) for i in range(layers))
    else:
        weight_bits = (trial.suggest_categorical("weight_bits", space.weight_bits),) * layers
    sparsity: tuple[float, ...] = ()
    if space.sparsity:
        if space.per_layer_sparsity:
            sparsity = tuple(trial.suggest_categorical(f"sparsity_l{i}", space.sparsity) for i in range(layers))
        else:
            sparsity = (trial.suggest_categorical("sparsity", space.sparsity),) * layers
    config = QuantConfig(
        scheme=scheme,
        weight_bits=weight_bits,
        membrane_bits=trial.suggest_categorical("membrane_bits", space.membrane_bits),
        current_bits=trial.suggest_categorical("current_bits", space.current_bits),
        param_bits=trial.suggest_categorical("param_bits", space.param_bits),
        rounding=_suggest_choice(trial, "rounding", space.rounding),
        timesteps=trial.suggest_categorical("timesteps", space.timesteps),
        sparsity=sparsity,
        weight_calibration=study.quantization.weight_calibration,
    )
    learning_rate = (trial.suggest_float("learning_rate", space.learning_rate.low, space.learning_rate.high,
                                         log=space.learning_rate.log) if space.learning_rate else None)
    epochs = trial.suggest_categorical("epochs", space.epochs) if space.epochs else None
    return SampledTrial(config, learning_rate, epochs)


def baseline_params(study: StudyFile) -> dict[str, Any]:
    """Parameter values recorded for the float baseline (trial 0).

    The baseline suggests the same parameters as every trial so that samplers keep one intersection search
    space; the values are the most precise choices. Its real configuration (float32) is in the user
    attribute ``config``, and it is never a selectable candidate (it is marked infeasible).
    """
    space = study.search_space
    layers = layer_count(study)
    params: dict[str, Any] = {"scheme": space.scheme[0]}
    if space.per_layer_weight_bits:
        params.update({f"weight_bits_l{i}": max(space.weight_bits) for i in range(layers)})
    else:
        params["weight_bits"] = max(space.weight_bits)
    if space.sparsity:
        if space.per_layer_sparsity:
            params.update({f"sparsity_l{i}": min(space.sparsity) for i in range(layers)})
        else:
            params["sparsity"] = min(space.sparsity)
    params.update(membrane_bits=max(space.membrane_bits), current_bits=max(space.current_bits),
                  param_bits=max(space.param_bits), rounding="nearest" if "nearest" in space.rounding
                  else space.rounding[0], timesteps=study.baseline_timesteps()
                  if study.baseline_timesteps() in space.timesteps else max(space.timesteps))
    if space.epochs:
        params["epochs"] = max(space.epochs)
    return params


def baseline_config(study: StudyFile) -> QuantConfig:
    layers = layer_count(study)
    return QuantConfig(scheme="float", weight_bits=(FLOAT_BITS,) * layers, timesteps=study.baseline_timesteps(),
                       weight_calibration=study.quantization.weight_calibration)  # the study's, as a label


def grid_search_space(study: StudyFile) -> dict[str, list[Any]]:
    """The exhaustive grid (Q-SpiNN's sweep) over every categorical choice of the study file."""
    space = study.search_space
    if space.learning_rate is not None:
        raise InputError("sampler.kind: grid needs a finite space; remove search_space.learning_rate or list it")
    layers = layer_count(study)
    grid: dict[str, list[Any]] = {"scheme": list(space.scheme)}
    if space.per_layer_weight_bits:
        grid.update({f"weight_bits_l{i}": list(space.weight_bits) for i in range(layers)})
    else:
        grid["weight_bits"] = list(space.weight_bits)
    if space.sparsity:
        if space.per_layer_sparsity:
            grid.update({f"sparsity_l{i}": list(space.sparsity) for i in range(layers)})
        else:
            grid["sparsity"] = list(space.sparsity)
    grid.update(membrane_bits=list(space.membrane_bits), current_bits=list(space.current_bits),
                param_bits=list(space.param_bits), rounding=list(space.rounding), timesteps=list(space.timesteps))
    if space.epochs:
        grid["epochs"] = list(space.epochs)
    return grid
