"""The study file: one YAML document describing a whole search, validated with pydantic before any training.

Every section is a strict model (unknown keys are errors). ``load_study_file`` turns a YAML file into a
:class:`StudyFile` or raises :class:`StudyFileError` with a one-line message naming the field path and what
is allowed. Every field carries a ``description``; ``qsearch.studyfile_reference`` renders them into
docs/study-file.md (``make docs``), the study-file reference.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from qsearch.data import DatasetSpec, DigitsSpec
from qsearch.devices import DeviceChoice
from qsearch.errors import InputError
from qsearch.metrics import OBJECTIVE_NAMES
from qsearch.quant import (
    DEFAULT_WEIGHT_CALIBRATION,
    PARAM_WIDTHS,
    ROUNDING_MODES,
    STATE_WIDTHS,
    WEIGHT_WIDTHS,
    WeightCalibration,
    WidthRule,
)
from qsearch.snn import NeuronSpec, SilentNetworkMonitor, TrainSettings

Objective = Literal[OBJECTIVE_NAMES]  # type: ignore[valid-type]  # the names of qsearch.metrics.METRICS
SamplerKind = Literal["nsga2", "nsga3", "tpe", "gp", "random", "grid"]
QuantizedScheme = Literal["ptq", "qat"]
InitialDesign = Literal["ladder", "none"]


def _quantized_schemes() -> list[QuantizedScheme]:
    """A search space's default schemes: both quantized ones (the float baseline is its own trial)."""
    return ["ptq", "qat"]


class StudyFileError(InputError):
    """A study file that does not validate; the message is one line naming the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_bits(values: list[int], rule: WidthRule) -> list[int]:
    for bits in values:
        problem = rule.problem(bits)
        if problem is not None:
            raise ValueError(problem)  # the message gets the field path in front (_format_error)
    return values


# The runtime records own the defaults (as Norse's LIFParameters does); each section reads them from there and
# builds its record, so a setting left out of a study file means exactly what it means in code.
_NEURON = NeuronSpec()
_TRAIN = TrainSettings()
_SILENT = SilentNetworkMonitor()


class NeuronSection(_Strict):
    """The LIF neuron shared by every layer (Norse's ``LIFParameters``); the defaults are ``NeuronSpec``'s."""

    tau_mem_inv: float = Field(_NEURON.tau_mem_inv, gt=0, description="inverse membrane time constant, 1/s")
    tau_syn_inv: float = Field(_NEURON.tau_syn_inv, gt=0, description="inverse synaptic time constant, 1/s")
    v_th: float = Field(_NEURON.v_th, gt=0, description="spike threshold of the membrane potential")
    v_reset: float = Field(_NEURON.v_reset, description="membrane potential after a spike")
    v_leak: float = Field(_NEURON.v_leak, description="resting potential the membrane leaks towards")
    dt: float = Field(_NEURON.dt, gt=0, description="simulation time step, s")
    alpha: float = Field(_NEURON.alpha, gt=0, description="surrogate-gradient sharpness")

    def to_neuron_spec(self) -> NeuronSpec:
        return NeuronSpec(tau_mem_inv=self.tau_mem_inv, tau_syn_inv=self.tau_syn_inv, v_th=self.v_th,
                          v_reset=self.v_reset, v_leak=self.v_leak, dt=self.dt, alpha=self.alpha)


class ModelSection(_Strict):
    """The network: built from layer sizes (mlp, conv) or imported from a trained one (nir, python)."""

    kind: Literal["mlp", "conv", "nir", "python"] = Field(
        "mlp", description="mlp: linear LIF layers; conv: conv LIF blocks with pooling, then linear LIF layers; "
                           "nir: import a trained network from model.path; python: a Norse model from "
                           "model.factory (see docs/import-your-network.md)")
    path: str | None = Field(None, description="nir: the NIR graph file (relative to the working directory)")
    factory: str | None = Field(None, description="python: package.module:function returning a Norse network")
    state_dict: str | None = Field(None, description="python: a torch state_dict file loaded into the factory's "
                                                     "model")
    dt: float | None = Field(None, gt=0, description="nir/python: the time step the network ran with, s "
                                                     "(default: the graph's metadata dt, else 1e-3; snnTorch: 1e-4)")
    tau_convention: Literal["nir", "norse"] = Field(
        "nir", description="nir: time constants in seconds (the NIR specification); norse: as norse.torch.to_nir "
                           "(Norse 1.1) writes them, dt/tau_inv (norse#411)")
    expected_accuracy: float | None = Field(None, ge=0, le=100, description=(
        "nir/python: the imported network's float accuracy in percent; the study stops before any trial if the "
        "import misses it by more than accuracy_tolerance"))
    accuracy_tolerance: float = Field(1.0, ge=0, description="percentage points allowed off expected_accuracy")
    hidden: list[int] = Field(default_factory=lambda: [128], description="hidden linear layer sizes (conv: after "
                                                                         "the conv blocks, may be [])")
    channels: list[int] = Field(default_factory=lambda: [16, 32], min_length=1,
                                description="conv: output channels of each conv LIF block")
    kernel_size: int = Field(3, ge=1, le=15, description="conv: odd kernel size ('same' padding, stride 1)")
    pool: int = Field(2, ge=1, le=8, description="conv: pooling window and stride after each block (1: none)")
    pooling: Literal["sum", "max"] = Field("sum", description="conv: sum (spike counts; NIR SumPool2d) or max "
                                                              "(spike OR; no NIR node)")
    input_shape: list[int] | None = Field(None, min_length=1, max_length=3, description=(
        "conv: reshape flat samples to (channels, height, width), e.g. [1, 8, 8] for digits"))
    readout: Literal["spiking", "li", "li_sum"] = Field(
        "spiking", description="spiking: LIF output, logits = spike counts; li_sum: leaky integrator, logits = its "
                               "membrane summed over time (the shipped static studies' choice); li: leaky "
                               "integrator, logits = its peak membrane (Norse's convention)")
    weight_scale: float | Literal["auto"] = Field(
        "auto", description="auto: scale each layer until its neurons fire at init_rate on training samples "
                            "(see docs/how-a-study-works.md); a number multiplies the default initialisation")
    init_rate: float = Field(0.1, gt=0, lt=1, description="auto: target spikes per neuron per step, hidden layers")
    init_output_rate: float = Field(0.1, gt=0, lt=1, description="auto: target rate of a spiking readout")
    neuron: NeuronSection = Field(NeuronSection(), description="the LIF neuron constants (section model.neuron)")
    device: DeviceChoice = Field("auto", description="auto: CUDA when torch finds a device, else cpu (recorded "
                                                     "per trial); cuda without a device stops before any trial")

    @field_validator("hidden", "channels")
    @classmethod
    def _positive(cls, v: list[int]) -> list[int]:
        if any(h < 1 for h in v):
            raise ValueError("every layer size must be >= 1")
        return v

    @field_validator("factory")
    @classmethod
    def _factory_reference(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"[\w.]+:\w+", v):
            raise ValueError(f"{v!r} must be package.module:function (a function returning a Norse network)")
        return v

    @field_validator("kernel_size")
    @classmethod
    def _odd_kernel(cls, v: int) -> int:
        if v % 2 == 0:
            raise ValueError(f"kernel_size {v} must be odd ('same' padding keeps the map size)")
        return v

    @model_validator(mode="after")
    def _mlp_needs_hidden(self) -> ModelSection:
        if self.kind == "mlp" and not self.hidden:
            raise ValueError("hidden: an mlp needs at least one hidden layer size")
        if self.kind == "nir" and not self.path:
            raise ValueError("path: kind nir needs the NIR file to import")
        if self.kind == "python" and not self.factory:
            raise ValueError("factory: kind python needs package.module:function returning a Norse network")
        return self

    def to_neuron_spec(self) -> NeuronSpec:
        return self.neuron.to_neuron_spec()

    def weight_layer_count(self) -> int:
        """Weight layers of a network built from this section: conv blocks (conv only), hidden linear layers,
        the readout. An imported network (nir/python) has its own: see ``qsearch.search._space.layer_count``."""
        if self.kind in ("nir", "python"):
            raise ValueError(f"model.kind {self.kind}: the layer count is read from the imported network")
        return (len(self.channels) if self.kind == "conv" else 0) + len(self.hidden) + 1


class TrainingSection(_Strict):
    """Float training (Adam, BPTT with Norse's surrogate gradient) and the QAT fine-tuning after it."""

    epochs: int = Field(_TRAIN.epochs, ge=1, description="float training epochs (at least; see min_steps)")
    min_steps: int = Field(0, ge=0, description="optimizer steps at least: small data sets train more epochs "
                                                "(epochs = max(epochs, ceil(min_steps / batches per epoch)))")
    batch_size: int = Field(_TRAIN.batch_size, ge=1, description="training samples per optimizer step")
    learning_rate: float = Field(_TRAIN.learning_rate, gt=0, description="Adam's learning rate for float training")
    cosine_schedule: bool = Field(_TRAIN.cosine_schedule, description="decay the learning rate along a cosine "
                                                                      "over the epochs")
    seed: int = Field(_TRAIN.seed, description="seed of the initial weights, the shuffling and stochastic rounding")
    qat_from_float: bool = Field(True, description="QAT fine-tunes the float network instead of training anew")
    qat_epochs: int = Field(10, ge=1, description="QAT fine-tuning epochs (when qat_from_float)")
    qat_lr_scale: float = Field(0.3, gt=0, le=1, description="QAT fine-tuning learning rate / learning_rate")

    def to_train_settings(self, patience: int | None = None) -> TrainSettings:
        """The float training settings (``patience`` lives in ``early_stopping``; QAT's own in ``qat_settings``)."""
        return TrainSettings(epochs=self.epochs, batch_size=self.batch_size, learning_rate=self.learning_rate,
                             cosine_schedule=self.cosine_schedule, patience=patience, seed=self.seed)

    def qat_settings(self, float_settings: TrainSettings) -> TrainSettings:
        """QAT fine-tuning of the float network: ``qat_epochs`` at ``qat_lr_scale`` times the float rate."""
        return replace(float_settings, epochs=self.qat_epochs,
                       learning_rate=float_settings.learning_rate * self.qat_lr_scale)


class FloatRange(_Strict):
    """A range of floats to search (Optuna's ``suggest_float``)."""

    low: float = Field(gt=0, description="smallest value")
    high: float = Field(gt=0, description="largest value (>= low)")
    log: bool = Field(True, description="sample on a log scale")

    @model_validator(mode="after")
    def _ordered(self) -> FloatRange:
        if self.low > self.high:
            raise ValueError("low must not exceed high")
        return self


class SearchSpaceSection(_Strict):
    """The choices every trial samples from (one Optuna parameter each)."""

    scheme: list[QuantizedScheme] = Field(
        default_factory=_quantized_schemes, min_length=1,
        description="ptq: train in float, quantize, evaluate; qat: fine-tune with fake quantization "
                    "(straight-through gradients)")
    weight_bits: list[int] = Field(default_factory=lambda: [2, 3, 4, 6, 8], min_length=1,
                                   description=f"weight widths, each {WEIGHT_WIDTHS.allowed()} bits (1: binary)")
    per_layer_weight_bits: bool = Field(False, description="one weight width per layer (parameters weight_bits_l0, "
                                                           "weight_bits_l1, ...) instead of one for all layers")
    membrane_bits: list[int] = Field(default_factory=lambda: [6, 8, 10, 12, 16], min_length=1,
                                     description=f"membrane-potential widths, each {STATE_WIDTHS.allowed()} bits")
    current_bits: list[int] = Field(default_factory=lambda: [6, 8, 10, 12, 16], min_length=1,
                                    description=f"synaptic-current widths, each {STATE_WIDTHS.allowed()} bits")
    param_bits: list[int] = Field(default_factory=lambda: [4, 6, 8, 12, 16], min_length=1,
                                  description=f"widths of the five neuron constants (two decays, leak, threshold, "
                                              f"reset), each {PARAM_WIDTHS.allowed()} bits")
    rounding: list[Literal["truncate", "nearest", "stochastic"]] = Field(
        default_factory=lambda: list(ROUNDING_MODES), min_length=1,
        description="rounding of weights and neuron states: truncate (floor), nearest (ties down), stochastic "
                    "(unbiased, seeded)")
    timesteps: list[int] = Field(default_factory=lambda: [8, 12, 16], min_length=1,
                                 description="simulation steps T per sample, each 1..1000")
    sparsity: list[float] | None = Field(None, description="magnitude-pruning fractions, each 0 <= s < 1; null: no "
                                                           "pruning")
    per_layer_sparsity: bool = Field(False, description="one sparsity per layer (sparsity_l0, ...) instead of one "
                                                        "for all layers")
    learning_rate: FloatRange | None = Field(None, description="search the float training learning rate in this "
                                                               "range (section search_space.learning_rate); "
                                                               "null: training.learning_rate")
    epochs: list[int] | None = Field(None, description="float training epoch counts to search; null: "
                                                       "training.epochs")

    @field_validator("weight_bits", "membrane_bits", "current_bits", "param_bits", "timesteps", "sparsity", "epochs",
                     mode="before")
    @classmethod
    def _no_booleans(cls, v: object) -> object:
        if isinstance(v, list) and any(isinstance(item, bool) for item in v):
            raise ValueError("true/false is not a number; list numbers")  # YAML reads true as 1 otherwise
        return v

    @field_validator("weight_bits")
    @classmethod
    def _weight_bits(cls, v: list[int]) -> list[int]:
        return _check_bits(v, WEIGHT_WIDTHS)

    @field_validator("membrane_bits", "current_bits")
    @classmethod
    def _state_bits(cls, v: list[int]) -> list[int]:
        return _check_bits(v, STATE_WIDTHS)

    @field_validator("param_bits")
    @classmethod
    def _param_bits(cls, v: list[int]) -> list[int]:
        return _check_bits(v, PARAM_WIDTHS)

    @field_validator("timesteps")
    @classmethod
    def _timesteps(cls, v: list[int]) -> list[int]:
        if any(t < 1 or t > 1000 for t in v):
            raise ValueError("timesteps must be between 1 and 1000")
        return v

    @field_validator("sparsity")
    @classmethod
    def _sparsity(cls, v: list[float] | None) -> list[float] | None:
        if v is not None and (not v or any(not 0 <= s < 1 for s in v)):
            raise ValueError("sparsity must be a non-empty list with 0 <= s < 1 (leave it out for no pruning)")
        return v

    @field_validator("epochs")
    @classmethod
    def _epochs(cls, v: list[int] | None) -> list[int] | None:
        if v is not None and (not v or any(e < 1 for e in v)):
            raise ValueError("epochs must be a non-empty list of integers >= 1")
        return v


class QuantizationSection(_Strict):
    """How the fixed-point formats are calibrated from the trained network."""

    weight_calibration: WeightCalibration = Field(
        DEFAULT_WEIGHT_CALIBRATION,
        description="mse: power-of-two step with the least squared error (may clip the largest weights); "
                    "max: the step from max|w| (see qsearch.quant._formats)")


class ConstraintsSection(_Strict):
    """Feasibility: a trial outside these is no candidate (given to the sampler as Optuna constraints)."""

    max_accuracy_drop: float | None = Field(1.0, ge=0, description=(
        "the accuracy budget: most percentage points a trial may lose against the float baseline (drop = float "
        "minus quantized accuracy on accuracy_split); null: no budget"))
    max_memory_kib: float | None = Field(None, gt=0, description="memory budget, KiB; null: none")


class SamplerSection(_Strict):
    """The Optuna sampler that proposes each trial's configuration."""

    kind: SamplerKind = Field("nsga2", description="Optuna sampler; grid: exhaustive sweep of the categorical "
                                                   "space")
    seed: int | None = Field(0, description="sampler seed (each extra worker adds its index); null: random")
    population_size: int = Field(16, ge=2, description="nsga2/nsga3: trials per generation")
    mutation_prob: float | None = Field(None, ge=0, le=1, description="nsga2/nsga3; null: Optuna's default "
                                                                      "(1 / number of parameters)")
    crossover_prob: float = Field(0.9, ge=0, le=1, description="nsga2/nsga3")
    n_startup_trials: int = Field(10, ge=0, description="tpe/gp: random trials before the model is used")
    distinct: bool = Field(True, description="re-draw a proposal that repeats an earlier trial's parameters, so "
                                             "every trial is a new point")
    initial_design: InitialDesign = Field(
        "ladder", description="ladder: the first trials after the float baseline are one per weight width "
                              "(uniform over the layers, every other choice the baseline's), PTQ first, then QAT, "
                              "so the first generation already spans the memory axis (a sampler wrapper, nothing "
                              "enqueued); none: the sampler alone")


class SilentSection(_Strict):
    """Stop a trial whose network goes silent during training (Firmin et al. 2024): recorded PRUNED, silent."""

    enabled: bool = Field(True, description="watch training for silent networks")
    min_spikes: float | None = Field(None, ge=0, description=(
        "fewer watched-layer spikes than this makes a sample silent; none: 1 for float training, and for QAT "
        "relative_min_spikes times the float network's own mean (the same rule on every data set)"))
    relative_min_spikes: float = Field(0.1, gt=0, le=1, description="QAT: share of the float network's spikes")
    max_silent_fraction: float = Field(_SILENT.max_silent_fraction, ge=0, le=1,
                                       description="above this share of silent samples in a window the trial stops")
    check_every: int = Field(_SILENT.check_every, ge=1, description="training samples per check window")
    grace_epochs: float = Field(1.0, ge=0, description="training epochs before the first check (float training: "
                                "times the factor min_steps multiplies training.epochs by, the same share of steps)")

    def absolute_min_spikes(self) -> float:
        """The threshold of float training (and QAT from scratch): the study's, else the monitor's default."""
        return _SILENT.min_spikes if self.min_spikes is None else self.min_spikes

    def to_silent_monitor(self, train_samples: int, min_spikes: float | None = None,
                          grace_scale: float = 1.0) -> SilentNetworkMonitor | None:
        """A fresh monitor for one training run of ``train_samples`` per epoch (``min_spikes``: the threshold,
        default :meth:`absolute_min_spikes`); None when the rule is off. ``grace_scale``: the factor
        ``training.min_steps`` stretched the epochs by (float training), so that the grace covers the same share
        of optimizer steps on a tiny data set."""
        if not self.enabled:
            return None
        threshold = self.absolute_min_spikes() if min_spikes is None else min_spikes
        grace_samples = int(self.grace_epochs * round(train_samples * grace_scale))
        return SilentNetworkMonitor(min_spikes=threshold, max_silent_fraction=self.max_silent_fraction,
                                    check_every=self.check_every, grace_samples=grace_samples)


class HopelessSection(_Strict):
    """Stop a QAT trial that can no longer reach the accuracy budget: recorded PRUNED, hopeless."""

    enabled: bool = Field(True, description="stop a QAT trial whose validation accuracy can no longer reach "
                                            "the accuracy budget")
    margin: float = Field(2.0, ge=0, description="percentage points added to the largest gain seen")
    min_curves: int = Field(5, ge=1, description="finished QAT learning curves needed before any stop")


class EarlyStoppingSection(_Strict):
    """Rules that end a trial's training early."""

    silent: SilentSection = Field(SilentSection(), description="the silent-network stop (section "
                                                               "early_stopping.silent)")
    hopeless: HopelessSection = Field(HopelessSection(), description="the hopeless-QAT stop (section "
                                                                     "early_stopping.hopeless)")
    patience: int | None = Field(None, ge=1, description="epochs without validation improvement")


class BaselineTuneSection(_Strict):
    """A short search of the float SNN's own settings on validation before the quantization search, stored as
    a study of its own beside the main one (docs/baseline.md)."""

    when: Literal["auto", "always", "never"] = Field("auto", description=(
        "auto: only when the float SNN with the file's settings is more likely below baseline.min_reference_share "
        "than not; "
        "always: every new study; never: the file's settings as they are (a baseline that falls short stops "
        "the study)"))
    trials: int = Field(12, ge=1, le=200, description=(
        "float trainings of the tuning study, the file's own settings first; a median pruner stops the poor "
        "ones early"))
    steps_fraction: float = Field(0.5, gt=0, le=1, description=(
        "each tuning trial trains this share of the baseline's epochs and optimizer steps (the chosen settings "
        "then train in full as the baseline; with when: auto the file's own settings train in full first, for "
        "the check, and are compared at the same share of their training)"))
    timeout: float | None = Field(None, gt=0, description="seconds the tuning may take at most; null: no limit")


class BaselineSection(_Strict):
    """The float32 baseline, trial 0: the reference every accuracy drop is measured against."""

    timesteps: int | None = Field(None, ge=1, description="T of the float baseline; null: the largest searched "
                                                          "timesteps")
    min_reference_share: float = Field(0.8, ge=0, le=1, description=(
        "the float SNN must reach this share of the non-spiking reference's gain over chance on validation "
        "(paired; a baseline 90 % sure to be below it is tuned, or stops the study); 0: no check"))
    tune: BaselineTuneSection = Field(BaselineTuneSection(), description=(
        "tuning the float SNN's settings before the search (section baseline.tune)"))


class SelectionSection(_Strict):
    """How the one recommended model is chosen from the front, and how sure the choice is (docs/selection.md)."""

    confidence: float = Field(0.6, gt=0, lt=1, description=(
        "the selected model is the smallest whose one-sided upper confidence bound on its confirmed paired drop "
        "is within the budget, at this confidence; 0.5: the point estimate (the rule before confirmation)"))
    confirm: bool = Field(True, description=(
        "at the end of qsearch run, measure the finalists again by cross-validation over train + validation "
        "(float baseline and each finalist retrained per fold) before choosing; false: paired validation "
        "evidence only (biased by the search's choice)"))
    folds: int = Field(5, ge=2, le=20, description="cross-validation folds of the confirmation")
    finalists: int = Field(6, ge=1, le=50, description=(
        "front trials confirmed: the smallest (by the cost objective) whose validation drop is within the budget "
        "plus margin"))
    margin: float = Field(1.0, ge=0, description="points above the budget a validation drop may be for a finalist")
    multiplicity: Literal["holm", "fixed_sequence"] = Field("holm", description=(
        "the correction for judging several finalists: holm: Holm's step-down over all of them; fixed_sequence: "
        "from the largest to the smallest, each at 1 - confidence, stopping at the first that fails (more "
        "power when larger is safer, none left when the largest fails)"))
    evaluation_draws: int = Field(5, ge=1, le=100, description=(
        "evaluations pooled for a trial with stochastic rounding or a stochastic (rate) encoding; deterministic "
        "trials (regular, latency, direct encodings, event data) need one"))


class StudyFile(_Strict):
    """A whole study: what to search, on which data, and where to record it."""

    name: str = Field("qsearch", min_length=1, description=(
        "study name in the storage (--study-name overrides); a copied study file needs a new one, as a name "
        "started with another study file is refused"))
    storage: str = Field("sqlite:///qsearch.db", description=(
        "storage URL (--storage overrides): sqlite:///FILE, postgresql+psycopg://..., mysql+pymysql://..., "
        "journal:FILE"))
    n_trials: int = Field(30, ge=1, description="trials one qsearch run adds (--n-trials overrides)")
    timeout: float | None = Field(None, gt=0, description="seconds one qsearch run may take (--timeout "
                                                          "overrides); null: no limit")
    seed: int = Field(0, description="recorded with the study; the seeds in use are dataset.seed, training.seed "
                                     "and sampler.seed")
    dataset: DatasetSpec = Field(DigitsSpec(), description="the data and its input encoding, chosen by "
                                                           "dataset.name (sections dataset)")
    model: ModelSection = Field(ModelSection(), description="the network (section model)")
    training: TrainingSection = Field(TrainingSection(), description="float training and QAT fine-tuning "
                                                                     "(section training)")
    search_space: SearchSpaceSection = Field(SearchSpaceSection(), description="what each trial samples "
                                                                               "(section search_space)")
    quantization: QuantizationSection = Field(QuantizationSection(), description="format calibration "
                                                                                 "(section quantization)")
    objectives: list[Objective] = Field(default_factory=lambda: ["accuracy", "memory"], min_length=2,
                                        max_length=3, description="what the search optimizes: accuracy and one "
                                                                  "or two costs, each once")
    accuracy_split: Literal["test", "validation"] = Field(
        "validation", description="the split the accuracy objective and the selection use; test accuracy is "
                                  "always measured and reported, and selecting on it warns")
    constraints: ConstraintsSection = Field(ConstraintsSection(), description="the accuracy and memory budgets "
                                                                              "(section constraints)")
    sampler: SamplerSection = Field(SamplerSection(), description="the Optuna sampler (section sampler)")
    selection: SelectionSection = Field(SelectionSection(), description="choosing the recommended model and how "
                                                                        "sure it is (section selection)")
    early_stopping: EarlyStoppingSection = Field(EarlyStoppingSection(), description="rules that end a trial "
                                                                                     "early (section early_stopping)")
    baseline: BaselineSection = Field(BaselineSection(), description="the float baseline (section baseline)")
    trial_runner: Literal["snn", "synthetic"] = Field(
        "snn", description="snn trains every network; synthetic replaces training with a closed-form test "
                           "double (milliseconds per trial) for tests and storage benchmarks")
    synthetic_sleep_s: float = Field(0.0, ge=0, description="seconds each synthetic trial takes")

    @field_validator("objectives")
    @classmethod
    def _unique_objectives(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("objectives must not repeat")
        if "accuracy" not in v:
            raise ValueError("objectives must include accuracy")
        return v

    def baseline_timesteps(self) -> int:
        return self.baseline.timesteps or max(self.search_space.timesteps)


def _format_error(error: ValidationError) -> str:
    first = error.errors()[0]
    path = ".".join(str(p) for p in first["loc"]) or "(top level)"
    if first["type"] == "extra_forbidden":
        return f"{path}: unknown key; remove it or check the spelling (see docs/study-file.md)"
    message = first["msg"].removeprefix("Value error, ")
    allowed = first.get("ctx", {}).get("expected")
    if allowed and str(allowed) not in message:
        message += f" (allowed: {allowed})"
    extra = f" (and {len(error.errors()) - 1} more)" if len(error.errors()) > 1 else ""
    return f"{path}: {message}{extra}"


def parse_study(data: object, source: str = "study file") -> StudyFile:
    if not isinstance(data, dict):
        raise StudyFileError(f"{source}: the top level must be a mapping of sections")
    try:
        return StudyFile.model_validate(data)
    except ValidationError as error:
        raise StudyFileError(f"{source}: {_format_error(error)}") from None


def load_study_file(path: str | Path) -> StudyFile:
    path = Path(path)
    if not path.is_file():
        raise StudyFileError(f"study file: {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise StudyFileError(f"{path}: not valid YAML ({str(error).splitlines()[0]})") from None
    return parse_study(data, str(path))


def with_settings(spec: dict[str, Any], settings: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of the study-file mapping ``spec`` with each ``dotted.key: value`` of ``settings`` set (the tuned
    baseline's values over the user's file: one place, used on every read of a recorded study file)."""
    result = copy.deepcopy(spec)
    for dotted, value in settings.items():
        *head, last = dotted.split(".")
        node = result
        for key in head:
            node = node.setdefault(key, {})
        node[last] = copy.deepcopy(value)
    return result


def study_with_settings(study_file: StudyFile, settings: Mapping[str, Any]) -> StudyFile:
    """``study_file`` with the dotted ``settings`` applied (validated like a file)."""
    if not settings:
        return study_file
    return parse_study(with_settings(study_file.model_dump(mode="json"), settings), "tuned baseline settings")
