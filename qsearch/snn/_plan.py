"""A quantization plan: the concrete formats, masks and quantized constants a forward pass uses.

``make_plan`` turns a trial's :class:`~qsearch.quant.QuantConfig` plus the current weights into numbers:
weight formats calibrated from each layer's kept weights (by squared error or by range, as the config says),
pruning masks from weight magnitudes, the membrane format from threshold and reset, current formats from an
observed range, and the neuron constants rounded to ``param_bits``. PTQ builds one plan after training; QAT
rebuilds it every step from the shadow weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import torch

from qsearch.quant import (
    FixedPoint,
    QuantConfig,
    Rounding,
    WeightCalibration,
    calibrate,
    calibrate_mse,
    fake_quantize,
    membrane_format,
    quantize,
)
from qsearch.snn._lif_reference import StateQuant
from qsearch.snn._neuron import NeuronConstants

#: Constants are deterministic settings, not data: stochastic rounding would make the neuron itself random,
#: so they are rounded to nearest whatever the trial's mode.
_CONSTANT_ROUNDING: Rounding = "nearest"


@dataclass(frozen=True)
class QuantPlan:
    config: QuantConfig
    weight_formats: tuple[FixedPoint, ...]
    masks: tuple[torch.Tensor | None, ...]
    state: tuple[StateQuant, ...]
    constants: NeuronConstants
    param_formats: dict[str, FixedPoint]
    fixed_weights: tuple[torch.Tensor, ...] | None = None

    def weight(self, layer: int, weight: torch.Tensor) -> torch.Tensor:
        """The weight tensor the forward pass uses: pruned, then fake-quantized (STE gradient to the shadow)."""
        if self.fixed_weights is not None:
            return self.fixed_weights[layer]
        mask = self.masks[layer]
        if mask is not None:
            weight = weight * mask
        if self.config.is_float:
            return weight
        quantized = fake_quantize(weight, self.weight_formats[layer], self.config.rounding,
                                  self.state[layer].generator)
        return quantized * mask if mask is not None else quantized


def freeze(plan: QuantPlan, weights: Sequence[torch.Tensor]) -> QuantPlan:
    """Quantize the weights once, as a deployed network stores them (stochastic rounding drawn a single time)."""
    with torch.no_grad():
        fixed = tuple(plan.weight(i, w.detach()) for i, w in enumerate(weights))
    return replace(plan, fixed_weights=fixed)


def magnitude_mask(weight: torch.Tensor, sparsity: float) -> torch.Tensor | None:
    """Keep the largest-magnitude ``1 - sparsity`` share of a layer's weights (LitE-SNN's spatial pruning)."""
    if sparsity <= 0:
        return None
    n_prune = int(round(sparsity * weight.numel()))
    if n_prune == 0:
        return None
    keep = weight.numel() - n_prune
    # top-k by magnitude keeps exactly `keep` weights even when magnitudes tie
    kept_index = torch.topk(weight.detach().abs().flatten(), keep, sorted=False).indices
    mask = torch.zeros(weight.numel(), dtype=weight.dtype, device=weight.device)
    mask[kept_index] = 1
    return mask.view_as(weight)


def quantize_constants(constants: NeuronConstants, config: QuantConfig,
                       membrane: FixedPoint) -> tuple[NeuronConstants, dict[str, FixedPoint]]:
    """Round each neuron constant to ``param_bits`` (format per constant from its own magnitude)."""
    formats: dict[str, FixedPoint] = {}
    values: dict[str, float] = {}
    for name, value in constants.items().items():
        fmt = calibrate(config.param_bits, abs(value))
        formats[name] = fmt
        values[name] = float(quantize(torch.tensor(value, dtype=torch.float64), fmt, _CONSTANT_ROUNDING))
    # the reset value is written into the membrane register, so it must lie on the membrane grid as well
    values["v_reset"] = float(quantize(torch.tensor(values["v_reset"], dtype=torch.float64), membrane,
                                       _CONSTANT_ROUNDING))
    return constants.with_values(values), formats


def weight_format(bits: int, kept: torch.Tensor, calibration: WeightCalibration) -> FixedPoint:
    """A layer's weight format from its kept (unpruned) weights: pruned zeros must not pull the step down."""
    if calibration == "mse":
        return calibrate_mse(bits, kept)
    max_abs = float(kept.abs().max()) if kept.numel() else 0.0
    mean_abs = float(kept.abs().mean()) if kept.numel() else 0.0
    return calibrate(bits, max_abs, mean_abs)


def make_plan(config: QuantConfig, weights: Sequence[torch.Tensor], constants: NeuronConstants,
              current_ranges: Sequence[float], generator: torch.Generator | None = None) -> QuantPlan:
    """Build the plan for ``config`` from the (shadow) weights and the observed synaptic-current ranges."""
    masks = tuple(magnitude_mask(w, config.layer_sparsity(i)) for i, w in enumerate(weights))
    weight_formats = [weight_format(config.layer_bits(i), w.detach() if m is None else w.detach()[m > 0],
                                    config.weight_calibration)
                      for i, (w, m) in enumerate(zip(weights, masks, strict=True))]
    membrane = membrane_format(config.membrane_bits, constants.v_th, constants.v_reset, constants.v_leak)
    if config.is_float:
        q_constants, param_formats = constants, {k: FixedPoint(32) for k in constants.items()}
    else:
        q_constants, param_formats = quantize_constants(constants, config, membrane)
    state = tuple(StateQuant(membrane=membrane, current=calibrate(config.current_bits, r),
                             rounding=config.rounding, generator=generator) for r in current_ranges)
    return QuantPlan(config=config, weight_formats=tuple(weight_formats), masks=masks, state=state,
                     constants=q_constants, param_formats=param_formats)
