"""Training and evaluating one SNN: float or QAT training with early stops, fake-quantized evaluation."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from qsearch.data import EncodedSplit
from qsearch.quant import QuantConfig
from qsearch.snn._firing_rates import layer_spike_rates
from qsearch.snn._plan import QuantPlan, make_plan
from qsearch.snn.network import SpikingNetwork
from qsearch.snn.silent import SilentNetworkMonitor
from qsearch.stops import StopReason


class SilentNetworkError(RuntimeError):
    """The network went silent during training (see :mod:`qsearch.snn.silent`)."""

    def __init__(self, epoch: int, fraction: float, partial: TrainResult,
                 layer_rates: list[float] | None = None) -> None:
        super().__init__(f"silent network: {fraction:.0%} of samples below the spike threshold in epoch {epoch}")
        self.epoch = epoch
        self.fraction = fraction
        self.partial = partial
        self.layer_rates = layer_rates or []  # spikes per neuron per step of each LIF layer on the last batch


class DivergedError(RuntimeError):
    """The loss became NaN or infinite."""


@dataclass(frozen=True)
class TrainSettings:
    epochs: int = 20
    batch_size: int = 64
    learning_rate: float = 5e-3
    cosine_schedule: bool = True
    patience: int | None = None  # epochs without validation improvement before stopping
    seed: int = 0
    calibration_batches: int = 4


@dataclass
class TrainResult:
    epochs_run: int = 0
    stop_reason: str = StopReason.COMPLETED
    validation_history: list[float] = field(default_factory=list)
    train_loss: float = float("nan")


EpochCallback = Callable[[int, float, float], None]


def device_generator(device: torch.device | str, seed: int) -> torch.Generator:
    """A seeded generator on ``device``: stochastic rounding draws where the tensors it rounds live (CUDA draws
    are other numbers than CPU draws from the same seed, so stochastic trials differ between devices)."""
    return torch.Generator(device=device).manual_seed(seed)


def calibrate_currents(model: SpikingNetwork, data: EncodedSplit, batches: int, batch_size: int,
                       plan: QuantPlan | None = None) -> list[float]:
    """Largest synaptic current per layer over the first ``batches`` batches (for current formats)."""
    peaks = [0.0] * len(model.layers)
    with torch.no_grad():
        for index, (x, _) in enumerate(data.batches(batch_size)):
            if index >= batches:
                break
            out = model(x, plan, record_currents=True)
            peaks = [max(a, b) for a, b in zip(peaks, out.current_max, strict=True)]
    return peaks


def build_plan(model: SpikingNetwork, config: QuantConfig, current_ranges: list[float],
               generator: torch.Generator | None) -> QuantPlan:
    return make_plan(config, model.weights, model.neuron.constants(), current_ranges, generator)


def train(model: SpikingNetwork, config: QuantConfig, train_data: EncodedSplit, validation_data: EncodedSplit,
          settings: TrainSettings, monitor: SilentNetworkMonitor | None = None,
          on_epoch: EpochCallback | None = None) -> TrainResult:
    """Train in float (``float``/``ptq``) or with fake quantization and STE (``qat``).

    Raises :class:`SilentNetworkError` as soon as the monitor reports a silent window and
    :class:`DivergedError` on a non-finite loss; the model keeps the weights reached so far.
    """
    generator = torch.Generator().manual_seed(settings.seed)  # shuffling: the same order on every device
    rounding_generator = device_generator(model.device, settings.seed + 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.learning_rate)
    scheduler = (torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, max(settings.epochs, 1))
                 if settings.cosine_schedule else None)
    result = TrainResult()
    best, stale = -1.0, 0
    for epoch in range(settings.epochs):
        model.train()
        plan_ranges = (calibrate_currents(model, train_data, settings.calibration_batches, settings.batch_size)
                       if config.scheme == "qat" else None)
        loss_value = 0.0
        for x, y in train_data.batches(settings.batch_size, generator=generator):
            plan = build_plan(model, config, plan_ranges, rounding_generator) if plan_ranges is not None else None
            out = model(x, plan)
            loss = F.cross_entropy(out.logits, y)
            if not math.isfinite(loss.item()):
                raise DivergedError(f"loss is {loss.item()} in epoch {epoch}; lower training.learning_rate")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_value = loss.item()
            if monitor is not None and monitor.update(out.watched_spikes):
                result.epochs_run, result.stop_reason, result.train_loss = epoch + 1, StopReason.SILENT, loss_value
                raise SilentNetworkError(epoch, monitor.last_fraction, result, layer_spike_rates(model, x))
        if scheduler is not None:
            scheduler.step()
        accuracy = evaluate_float_or_qat(model, config, validation_data, settings)
        result.validation_history.append(accuracy)
        result.epochs_run, result.train_loss = epoch + 1, loss_value
        if on_epoch is not None:
            on_epoch(epoch, loss_value, accuracy)
        if accuracy > best:
            best, stale = accuracy, 0
        else:
            stale += 1
            if settings.patience is not None and stale >= settings.patience:
                result.stop_reason = StopReason.PATIENCE
                break
    return result


def evaluate_float_or_qat(model: SpikingNetwork, config: QuantConfig, data: EncodedSplit,
                          settings: TrainSettings) -> float:
    """Validation accuracy during training: float for float/PTQ training, fake-quantized for QAT."""
    if config.scheme != "qat":
        return evaluate(model, None, data, settings.batch_size * 8).accuracy
    ranges = calibrate_currents(model, data, settings.calibration_batches, settings.batch_size)
    plan = build_plan(model, config, ranges, device_generator(model.device, settings.seed + 2))
    return evaluate(model, plan, data, settings.batch_size * 8).accuracy


@dataclass(frozen=True)
class Evaluation:
    accuracy: float
    predictions: torch.Tensor
    input_spikes_per_sample: list[torch.Tensor]  # per layer, (fan_in,) mean spikes per input neuron per sample
    silent_fraction: float


def evaluate(model: SpikingNetwork, plan: QuantPlan | None, data: EncodedSplit, batch_size: int = 512,
             dtype: torch.dtype = torch.float32, min_spikes: float | None = 1.0) -> Evaluation:
    """Accuracy and spike statistics; ``dtype=float64`` makes fake-quantized sums exact (integer-equal)."""
    model.eval()
    min_spikes = 1.0 if min_spikes is None else min_spikes  # a study's silent.min_spikes null: one spike
    predictions, totals, silent = [], None, 0
    with torch.no_grad():
        source = model if dtype == torch.float32 else _as_dtype(model, dtype)
        for x, _y in data.batches(batch_size, dtype=dtype):
            out = source(x, plan)
            predictions.append(out.logits.argmax(1))
            sums = [s.sum(0) for s in out.input_spikes]
            totals = sums if totals is None else [a + b for a, b in zip(totals, sums, strict=True)]
            silent += int((out.watched_spikes < min_spikes).sum())
    pred = torch.cat(predictions)
    accuracy = float((pred == data.y).double().mean())
    per_sample = [t / len(data) for t in (totals or [])]
    return Evaluation(accuracy=accuracy, predictions=pred, input_spikes_per_sample=per_sample,
                      silent_fraction=silent / max(len(data), 1))


def _as_dtype(model: SpikingNetwork, dtype: torch.dtype) -> SpikingNetwork:
    import copy

    clone = copy.deepcopy(model)
    return clone.to(dtype)
