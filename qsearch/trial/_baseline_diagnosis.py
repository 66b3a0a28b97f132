"""Why a float baseline is unusable, in one line: a study built on it would only measure noise.

Every quantized trial is judged against the float baseline (accuracy drop, silent rule). A baseline that is
silent, or clearly below a plain non-spiking network on the same split (:mod:`qsearch.trial._baseline_check`),
makes every later trial a compression of a network nobody would deploy, so the study stops after it with one
line naming the gap, the reference, what tuning did, the layer rates and the fields that would change it.
"""

from __future__ import annotations

from collections.abc import Sequence

from qsearch.errors import QsearchError
from qsearch.trial._baseline_check import BaselineCheck
from qsearch.trial._reference_classifier import ReferenceResult

#: a layer firing less than this (spikes per neuron per step) is called silent in the diagnosis
SILENT_RATE = 1e-3


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


def not_learning_message(check: BaselineCheck, reference: ReferenceResult, rates: Sequence[float],
                         tuning: str) -> str | None:
    """The one-line diagnosis of a baseline clearly below the non-spiking reference (:class:`BaselineCheck`);
    None when it is not. ``tuning`` says what tuning did (or why there was none)."""
    if not check.short:
        return None
    return (f"baseline: far below a non-spiking network, {_accuracy_phrase(check.snn, check.chance, reference)}: "
            f"{check.gap_words()}, {check.share:.0%} of its gain over chance where baseline.min_reference_share "
            f"asks {check.min_share:.0%}; {tuning}; {_layer_phrase(rates)}; remedy: baseline.tune.when: always "
            "with more baseline.tune.trials, dataset.encoding.kind, training.min_steps or model.hidden (or "
            "baseline.min_reference_share: 0 to compress it anyway)")


__all__ = ["BaselineError", "not_learning_message", "silent_baseline_message"]
