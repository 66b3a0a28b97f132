"""Why a float baseline is unusable, in one line: a study built on it would only measure noise.

Every quantized trial is judged against the float baseline (accuracy drop, silent rule). A baseline that is
silent, or that learned next to nothing, makes every later trial meaningless, so the study stops after it
with one line naming the layer, its spike rate, the accuracy against chance and the remedy.
"""

from __future__ import annotations

from collections.abc import Sequence

from qsearch.errors import QsearchError
from qsearch.trial._reference_classifier import ReferenceResult

#: a layer firing less than this (spikes per neuron per step) is called silent in the diagnosis
SILENT_RATE = 1e-3
#: the baseline learns when it gains at least this share of the reference's gain over chance (validation)
MIN_SHARE_OF_REFERENCE_GAIN = 0.25


class BaselineError(QsearchError, RuntimeError):
    """The float baseline is silent or does not learn; the study stops before any quantized trial."""


def _layer_phrase(rates: Sequence[float]) -> str:
    """The first silent layer (else the quietest), numbered from 1, with its rate."""
    if not rates:
        return "no layer rate measured"
    quiet = next((i for i, r in enumerate(rates) if r < SILENT_RATE), min(range(len(rates)), key=rates.__getitem__))
    role = "readout" if quiet == len(rates) - 1 else "hidden"
    return f"layer {quiet + 1} of {len(rates)} ({role}) fires {rates[quiet]:.4f} spikes per neuron per step"


def _accuracy_phrase(validation: float | None, chance: float, reference: ReferenceResult | None) -> str:
    measured = "not measured" if validation is None else f"{validation:.1f} %"
    text = f"validation accuracy {measured} vs chance {chance:.1f} %"
    if reference is not None:
        text += f" (non-spiking {reference.name}: {reference.validation:.1f} %)"
    return text


def silent_baseline_message(rates: Sequence[float], validation: float | None, chance: float,
                            reference: ReferenceResult | None) -> str:
    return (f"baseline: silent network, {_layer_phrase(rates)}; {_accuracy_phrase(validation, chance, reference)}; "
            "remedy: model.weight_scale: auto, a lower model.neuron.v_th or a higher dataset.encoding.max_rate")


def not_learning_message(validation: float, chance: float, reference: ReferenceResult | None,
                         rates: Sequence[float]) -> str | None:
    """The one-line diagnosis when the baseline gains less than a quarter of the reference's gain over
    chance; None when it learns, when there is no reference (the synthetic runner) or when the reference itself
    finds nothing to learn."""
    if reference is None:
        return None
    gain = reference.validation - chance
    if gain <= 0 or validation - chance >= MIN_SHARE_OF_REFERENCE_GAIN * gain:
        return None
    return (f"baseline: not learning, {_accuracy_phrase(validation, chance, reference)}; {_layer_phrase(rates)}; "
            "remedy: raise training.min_steps or training.epochs, or try another training.learning_rate")


__all__ = ["BaselineError", "not_learning_message", "silent_baseline_message"]
