"""One trial end to end: data -> quantized SNN -> train/evaluate -> costs. No Optuna here; see _objective."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace

import torch

from qsearch.cost import (
    MemoryBreakdown,
    energy_per_inference_pj,
    memory_breakdown_for_layers,
    operation_counts,
)
from qsearch.data import Splits
from qsearch.devices import torch_device
from qsearch.errors import InputError
from qsearch.quant import FLOAT_BITS, QuantConfig
from qsearch.results import pack_correct
from qsearch.snn import (
    Evaluation,
    QuantPlan,
    SilentNetworkError,
    SilentNetworkMonitor,
    SpikingConvNet,
    SpikingMLP,
    SpikingNetwork,
    TrainResult,
    TrainSettings,
    build_plan,
    calibrate_currents,
    device_generator,
    evaluate,
    fit_firing_rates,
    freeze,
    kept_fanout,
    layer_spike_rates,
    train,
)
from qsearch.stops import StopReason
from qsearch.studyfile import StudyFile
from qsearch.trial._imported_network import build_imported_model, check_expected_accuracy, is_imported
from qsearch.trial._input_cache import (
    TrialData,
    encoded_trial_data,
    stochastic_encoding,
    trial_data,
    trial_splits,
)
from qsearch.trial._stops import unjudged

EpochCallback = Callable[[int, float, float], None]

#: stop reason of a float network taken as imported (model.kind nir/python), not trained here
IMPORTED_REASON = StopReason.IMPORTED


@dataclass
class TrialOutcome:
    """Everything a finished (or silent-stopped) trial measured."""

    config: QuantConfig
    accuracy: float  # percent, on the study's accuracy split (validation by default): what selection sees
    test_accuracy: float
    validation_accuracy: float
    memory_bits: int
    memory_breakdown: dict[str, int]
    float_memory_bits: int
    sops: float  # synaptic operations per test sample, all kinds: accumulates plus multiply-accumulates
    energy_pj: float
    epochs_run: int
    stop_reason: str
    silent: bool
    duration_s: float
    weight_formats: list[str] = field(default_factory=list)
    membrane_format: str = "float32"
    device: str = "cpu"  # where it trained and ran ("cpu" for trials stored before the field: all ran there)
    test_n: int | None = None  # samples behind test_accuracy
    validation_n: int | None = None  # samples behind validation_accuracy
    validation_curve: list[float] = field(default_factory=list)  # percent after each epoch of the last phase
    layer_rates: list[float] = field(default_factory=list)  # float trials: spikes/neuron/step per LIF layer (val)
    #: which samples each evaluation draw classified correctly (packed bits, qsearch.results.pack_correct), in
    #: split order: what makes every drop against the float baseline a paired statistic
    validation_correct: list[str] = field(default_factory=list)
    test_correct: list[str] = field(default_factory=list)
    evaluation_draws: int = 1  # evaluations pooled into the accuracies (stochastic rounding or encoding: several)
    macs: float = 0.0  # of ``sops``, the multiply-accumulates of an analog (direct-encoded) first layer
    #: the trained network (``state_dict`` on the CPU, before the plan): kept by trials that land on the front
    trained_state: dict[str, torch.Tensor] | None = field(default=None, repr=False, compare=False)

    def as_dict(self) -> dict:
        """The measurements (the trained weights are not one)."""
        data = asdict(replace(self, trained_state=None))
        data.pop("trained_state")
        data["config"] = self.config.to_dict()
        return data


def build_model(study: StudyFile, input_shape: tuple[int, ...], n_classes: int,
                device: torch.device | str = "cpu") -> SpikingNetwork:
    """The study's network for samples of ``input_shape`` on ``device``: an MLP (input flattened) or a conv SNN.

    Initialised on the CPU (the same weights for every device under one seed), then moved.
    """
    return _build_on_cpu(study, input_shape, n_classes).to(device)


def _build_on_cpu(study: StudyFile, input_shape: tuple[int, ...], n_classes: int) -> SpikingNetwork:
    spec = study.model
    if is_imported(spec):
        return build_imported_model(spec, tuple(input_shape))
    neuron = spec.to_neuron_spec()
    scale = 1.0 if spec.weight_scale == "auto" else spec.weight_scale  # auto: fitted to data before training
    if spec.kind == "mlp":
        sizes = [math.prod(input_shape), *spec.hidden, n_classes]
        return SpikingMLP(sizes, neuron, readout=spec.readout, weight_scale=scale)
    shape = tuple(input_shape)
    if spec.input_shape is not None:
        if math.prod(spec.input_shape) != math.prod(shape):
            raise InputError(f"model.input_shape: {spec.input_shape} holds {math.prod(spec.input_shape)} values, "
                             f"the dataset's samples {math.prod(shape)} (shape {shape})")
        shape = tuple(spec.input_shape)
    if len(shape) == 1:
        shape = (1, 1, shape[0])  # 1-D samples (audio channels): a 1-pixel-high image, so conv still applies
    elif len(shape) == 2:
        shape = (1, *shape)
    if len(shape) != 3:
        raise InputError(f"model.kind: conv needs samples of shape (channels, height, width), got {shape}")
    return SpikingConvNet(shape, spec.channels, n_classes, kernel_size=spec.kernel_size, pool=spec.pool,
                          pooling=spec.pooling, hidden=spec.hidden, neuron=neuron, readout=spec.readout,
                          weight_scale=scale)


#: training samples the data-driven initialisation (``model.weight_scale: auto``) measures firing rates on
INIT_SAMPLES = 256


def initialise(model: SpikingNetwork, study: StudyFile, data: TrialData) -> None:
    """Fit the weights to the data when ``model.weight_scale`` is ``auto`` (see :mod:`qsearch.snn._firing_rates`)."""
    spec = study.model
    if spec.weight_scale != "auto":
        return
    x, _ = next(data.train.batches(INIT_SAMPLES))
    fit_firing_rates(model, x, spec.init_rate, spec.init_output_rate)


def training_epochs(epochs: int, min_steps: int, n_train: int, batch_size: int) -> int:
    """``epochs``, raised so that training takes at least ``min_steps`` optimizer steps on ``n_train`` samples."""
    per_epoch = max(math.ceil(n_train / batch_size), 1)
    return max(epochs, math.ceil(min_steps / per_epoch))


def check_study_inputs(study: StudyFile) -> None:
    """Read the data and build the network once before any trial starts.

    A missing dataset or a model that does not fit the data (a conv network on flat samples, a pooling window
    larger than the map) then stops ``qsearch run`` with one line and nothing recorded, instead of failing
    every trial with a traceback. The loaded data stays cached for the first trials. ``model.device: cuda``
    on a machine without CUDA is such a line too.
    """
    study_device(study)
    if study.trial_runner != "snn":
        return
    data = trial_data(study.dataset, study.baseline_timesteps())
    check_selection_inputs(study, trial_splits(study.dataset, study.baseline_timesteps()))
    model = build_model(study, data.input_shape, data.n_classes)
    if is_imported(study.model):  # the user's network as given: its accuracy must match before any trial
        if model.n_classes != data.n_classes:
            raise InputError(f"{'model.path' if study.model.kind == 'nir' else 'model.factory'}: the imported "
                             f"network has {model.n_classes} outputs, the dataset {data.n_classes} classes")
        check_expected_accuracy(study, model, data)


def check_selection_inputs(study: StudyFile, splits: Splits) -> None:
    """Refuse, before anything is recorded, a selection the data cannot carry: more folds than the smallest
    class allows, or a budget finer than one sample of the split the pick is judged on."""
    from qsearch.data import check_folds
    from qsearch.results import POINT_ESTIMATE, resolution_note

    sel, budget = study.selection, study.constraints.max_accuracy_drop
    if budget is None or sel.confidence == POINT_ESTIMATE:
        return
    confirms = sel.confirm and not is_imported(study.model)
    if confirms:
        check_folds(splits, sel.folds)  # raises naming selection.folds
    n = len(splits.train) + len(splits.validation) if confirms else len(splits.split(study.accuracy_split))
    where = "train + validation (the confirmation's folds)" if confirms else study.accuracy_split
    note = resolution_note(n, budget, where)
    if note is not None:
        raise InputError(f"constraints.max_accuracy_drop: {note}; allowed: at least {100.0 / n:.2f} pt, or more "
                         f"data")


def network_memory(model: SpikingNetwork, config: QuantConfig, kept: list[int] | None = None) -> MemoryBreakdown:
    """Memory of ``model`` under ``config`` (``kept``: unpruned weights per layer; None: all float32 dense)."""
    topology = model.topology
    return memory_breakdown_for_layers(dense_weights=[t.dense_weights for t in topology],
                                       fan_in=[t.fan_in for t in topology],
                                       neurons=[t.neurons for t in topology], config=config, kept_weights=kept)


def study_device(study: StudyFile) -> str:
    """The device the study's trials run on here (``model.device`` resolved; InputError for a missing CUDA)."""
    return torch_device(study.model.device)


def float_config(model: SpikingNetwork) -> QuantConfig:
    """float32 everywhere: the reference the compression ratio is measured against."""
    return QuantConfig(weight_bits=(FLOAT_BITS,) * len(model.layers))


@dataclass
class TrainedTrial:
    """A trained network with the frozen quantization plan it is evaluated (and exported) with."""

    model: SpikingNetwork
    plan: QuantPlan | None
    result: TrainResult
    data: TrialData


#: float-trained weights per (study settings, T, learning rate, epochs): float training is seeded and
#: deterministic, so every PTQ trial and every QAT fine-tune at the same T starts from the same network
_FLOAT_CACHE: dict[str, tuple[dict[str, torch.Tensor], TrainResult]] = {}


def _float_key(study: StudyFile, timesteps: int, settings: TrainSettings) -> str:
    parts = [study.dataset.model_dump_json(), study.model.model_dump_json(), study.training.model_dump_json(),
             study.early_stopping.model_dump_json(), str(timesteps), repr(settings)]
    return "|".join(parts)


def absolute_min_spikes(study: StudyFile) -> float:
    """The silent rule's threshold for float training (and QAT from scratch): the study's, else the default."""
    return study.early_stopping.silent.absolute_min_spikes()


def relative_min_spikes(study: StudyFile, model: SpikingNetwork, data: TrialData) -> float:
    """QAT fine-tuning's silent threshold: a share of the float network's own mean watched spikes per sample,
    so "far quieter than the float network" means the same on every data set."""
    with torch.no_grad():
        x, _ = next(data.train.batches(INIT_SAMPLES))
        mean = float(model(x).watched_spikes.mean())
    return study.early_stopping.silent.relative_min_spikes * mean


def train_trial_model(study: StudyFile, config: QuantConfig, *, learning_rate: float | None = None,
                      epochs: int | None = None, on_epoch: EpochCallback | None = None,
                      splits: Splits | None = None) -> TrainedTrial:
    """Train the network of ``config`` (raises SilentNetworkError/DivergedError on early stops).

    ``splits``: other data than the study's own (a confirmation fold, :mod:`qsearch.confirm`).

    ``float`` trains from scratch; ``ptq`` quantizes the float network of the same settings (trained once per
    process and reused); ``qat`` fine-tunes that float network with fake quantization and straight-through
    gradients for ``training.qat_epochs`` (or trains from scratch when ``training.qat_from_float`` is false).
    """
    device = study_device(study)
    data = encoded_trial_data(study.dataset, splits, config.timesteps, device)
    torch.manual_seed(study.training.seed)
    model = build_model(study, data.input_shape, data.n_classes, device)
    if not is_imported(study.model):  # an imported network keeps the weights it was trained with
        initialise(model, study, data)
    settings = study.training.to_train_settings(patience=study.early_stopping.patience)
    requested = epochs or settings.epochs
    settings = replace(settings, epochs=training_epochs(requested, study.training.min_steps, len(data.train),
                                                         settings.batch_size),
                       learning_rate=learning_rate or settings.learning_rate)

    def monitor(min_spikes: float, grace_scale: float = 1.0) -> SilentNetworkMonitor | None:
        return study.early_stopping.silent.to_silent_monitor(len(data.train), min_spikes, grace_scale)

    from_float = config.scheme == "ptq" or (config.scheme == "qat" and study.training.qat_from_float)
    if config.is_float or from_float:
        key = _float_key(study, config.timesteps, settings) + ("" if splits is None else f"|{splits.name}")
        if is_imported(study.model):  # the imported weights are the float network: no float training
            result = TrainResult(epochs_run=0, stop_reason=IMPORTED_REASON)
        elif key in _FLOAT_CACHE:
            state, result = _FLOAT_CACHE[key]
            model.load_state_dict(state)
        else:
            reference = replace(float_config(model), timesteps=config.timesteps)
            result = train(model, reference, data.train, data.validation, settings,
                           monitor(absolute_min_spikes(study), settings.epochs / requested), unjudged(on_epoch))
            _FLOAT_CACHE[key] = ({k: v.clone() for k, v in model.state_dict().items()}, result)
    if config.scheme == "qat":
        qat_settings = study.training.qat_settings(settings) if from_float else settings
        threshold = (relative_min_spikes(study, model, data)
                     if from_float and study.early_stopping.silent.min_spikes is None else absolute_min_spikes(study))
        result = train(model, config, data.train, data.validation, qat_settings, monitor(threshold), on_epoch)

    plan = None if config.is_float else deployed_plan(study, model, config, data, settings)
    return TrainedTrial(model=model, plan=plan, result=result, data=data)


def deployed_plan(study: StudyFile, model: SpikingNetwork, config: QuantConfig, data: TrialData,
                  settings: TrainSettings) -> QuantPlan:
    """The frozen quantization plan of a trained network: current ranges calibrated on the training split,
    weights quantized once (seeded), as a deployed network stores them."""
    ranges = calibrate_currents(model, data.train, settings.calibration_batches, settings.batch_size)
    plan = build_plan(model, config, ranges, device_generator(model.device, study.training.seed + 7))
    return freeze(plan, model.weights)


def rebuild_trial_model(study: StudyFile, config: QuantConfig, state: dict[str, torch.Tensor],
                        epochs_run: int = 0) -> TrainedTrial:
    """The network a trial trained, from its kept weights: built, loaded and planned as after training, without
    training (the plan is calibrated on the same data with the same seed, so it is the trial's own)."""
    device = study_device(study)
    data = trial_data(study.dataset, config.timesteps, device)
    torch.manual_seed(study.training.seed)
    model = build_model(study, data.input_shape, data.n_classes, device)
    model.load_state_dict({k: v.to(device) for k, v in state.items()})
    settings = study.training.to_train_settings(patience=study.early_stopping.patience)
    plan = None if config.is_float else deployed_plan(study, model, config, data, settings)
    result = TrainResult(epochs_run=epochs_run, stop_reason=StopReason.COMPLETED)
    return TrainedTrial(model=model, plan=plan, result=result, data=data)


def evaluation_draws(study: StudyFile, config: QuantConfig) -> int:
    """How many evaluations a trial pools: several where each is a random draw (stochastic rounding of the
    neuron state, a rate-coded input), one where evaluating again measures the same thing."""
    random_rounding = not config.is_float and config.rounding == "stochastic"
    return study.selection.evaluation_draws if random_rounding or stochastic_encoding(study.dataset) else 1


@dataclass(frozen=True)
class Scored:
    """One split scored over the trial's evaluation draws."""

    accuracy: float  # fraction correct, pooled over the draws
    correct: list[str]  # per draw, packed
    first: Evaluation  # the first draw (its spike counts give the SOPs)


def score(study: StudyFile, model: SpikingNetwork, plan: QuantPlan | None, config: QuantConfig, split: str,
          draws: int, splits: Splits | None = None) -> Scored:
    """Evaluate ``split`` ``draws`` times: a stochastic encoding is drawn again each time, stochastic rounding
    draws from the plan's generator, which each evaluation advances."""
    dtype = torch.float32 if config.is_float else torch.float64  # exact fixed-point sums
    device = model.device.type
    evaluations = []
    for draw in range(draws):
        data = encoded_trial_data(study.dataset, splits, config.timesteps, device,
                                  draw if stochastic_encoding(study.dataset) else 0)
        part = getattr(data, split)
        evaluation = evaluate(model, plan, part, dtype=dtype, min_spikes=absolute_min_spikes(study))
        evaluations.append((evaluation, (evaluation.predictions.cpu() == part.y.cpu()).numpy()))
    accuracy = sum(float(c.mean()) for _, c in evaluations) / draws
    return Scored(accuracy=accuracy, correct=[pack_correct(c) for _, c in evaluations], first=evaluations[0][0])


def run_trial(study: StudyFile, config: QuantConfig, *, learning_rate: float | None = None,
              epochs: int | None = None, on_epoch: EpochCallback | None = None,
              splits: Splits | None = None) -> TrialOutcome:
    """Train and evaluate the network of ``config``; measure accuracy, memory, SOPs and energy.

    ``splits``: train and evaluate on other data than the study's own (a confirmation fold).
    """
    started = time.perf_counter()
    trained = train_trial_model(study, config, learning_rate=learning_rate, epochs=epochs, on_epoch=on_epoch,
                                splits=splits)
    model, plan, result, data = trained.model, trained.plan, trained.result, trained.data
    draws = evaluation_draws(study, config)
    scored_test = score(study, model, plan, config, "test", draws, splits)
    scored_validation = score(study, model, plan, config, "validation", draws, splits)
    test = scored_test.first

    masks = plan.masks if plan else (None,) * len(model.layers)
    kept = [int(m.sum()) if m is not None else w.numel() for m, w in zip(masks, model.weights, strict=True)]
    memory = network_memory(model, config, kept)
    fanout = [kept_fanout(layer, mask, model.device).reshape(-1)
              for layer, mask in zip(model.topology, masks, strict=True)]
    macs, sops = operation_counts(test.input_spikes_per_sample, fanout,
                                  data.test.spikes if data.test.analog else None)
    energy = energy_per_inference_pj(sops, model.neuron_count(), config.timesteps, config, macs,
                                     data.test.frac_bits)
    accuracy = scored_test.accuracy if study.accuracy_split == "test" else scored_validation.accuracy
    rates = layer_spike_rates(model, next(data.validation.batches(INIT_SAMPLES))[0]) if config.is_float else []
    return TrialOutcome(
        config=config, accuracy=100 * accuracy, test_accuracy=100 * scored_test.accuracy,
        validation_accuracy=100 * scored_validation.accuracy, memory_bits=memory.total,
        memory_breakdown=memory.as_dict(), float_memory_bits=network_memory(model, float_config(model)).total,
        sops=macs + sum(sops), macs=macs,
        energy_pj=energy, epochs_run=result.epochs_run,
        stop_reason=result.stop_reason, silent=False, duration_s=time.perf_counter() - started,
        weight_formats=[f.describe() for f in plan.weight_formats] if plan else ["float32"] * len(model.layers),
        membrane_format=plan.state[0].membrane.describe() if plan else "float32", device=model.device.type,
        test_n=len(data.test), validation_n=len(data.validation),
        validation_curve=[100 * a for a in result.validation_history],
        layer_rates=rates, validation_correct=scored_validation.correct, test_correct=scored_test.correct,
        evaluation_draws=draws,
        trained_state=None if config.is_float else {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
    )


__all__ = [
    "Scored", "SilentNetworkError", "TrainedTrial", "TrialOutcome", "build_model", "check_study_inputs",
    "deployed_plan", "evaluation_draws", "float_config", "network_memory", "rebuild_trial_model", "run_trial",
    "score", "study_device", "train_trial_model",
]
