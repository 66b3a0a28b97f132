"""The study file: one YAML document describing a whole search, validated with pydantic before any training.

Every section is a strict model (unknown keys are errors). ``load_study_file`` turns a YAML file into a
:class:`StudyFile` or raises :class:`StudyFileError` with a one-line message naming the field path and what
is allowed. The README's "Study file reference" documents every field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from qsearch.data import DatasetSpec, DigitsSpec
from qsearch.errors import InputError
from qsearch.quant import FLOAT_BITS, MAX_FIXED_BITS, ROUNDING_MODES

Objective = Literal["accuracy", "memory", "sops", "energy", "timesteps"]
SamplerKind = Literal["nsga2", "nsga3", "tpe", "gp", "random", "grid"]


class StudyFileError(InputError):
    """A study file that does not validate; the message is one line naming the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_bits(values: list[int], field: str, minimum: int = 1) -> list[int]:
    for bits in values:
        if not (minimum <= bits <= MAX_FIXED_BITS or bits == FLOAT_BITS):
            raise ValueError(f"{bits} is not a supported width for {field}; allowed: "
                             f"{minimum}..{MAX_FIXED_BITS} or {FLOAT_BITS}")
    return values


class NeuronSection(_Strict):
    tau_mem_inv: float = Field(200.0, gt=0, description="inverse membrane time constant, 1/s")
    tau_syn_inv: float = Field(500.0, gt=0, description="inverse synaptic time constant, 1/s")
    v_th: float = Field(1.0, gt=0)
    v_reset: float = 0.0
    v_leak: float = 0.0
    dt: float = Field(1e-3, gt=0)
    alpha: float = Field(100.0, gt=0, description="surrogate-gradient sharpness")


class ModelSection(_Strict):
    kind: Literal["mlp", "conv"] = Field("mlp", description="mlp: linear LIF layers; conv: conv LIF blocks "
                                                            "with pooling, then linear LIF layers")
    hidden: list[int] = Field(default_factory=lambda: [128], description="hidden linear layer sizes")
    channels: list[int] = Field(default_factory=lambda: [16, 32], min_length=1,
                                description="conv: output channels of each conv LIF block")
    kernel_size: int = Field(3, ge=1, le=15, description="conv: odd kernel size ('same' padding, stride 1)")
    pool: int = Field(2, ge=1, le=8, description="conv: pooling window and stride after each block (1: none)")
    pooling: Literal["sum", "max"] = Field("sum", description="conv: sum (spike counts; NIR SumPool2d) or max")
    input_shape: list[int] | None = Field(None, min_length=1, max_length=3, description=(
        "conv: reshape flat samples to (channels, height, width), e.g. [1, 8, 8] for digits"))
    readout: Literal["spiking", "li"] = Field("spiking", description="LIF output (spike counts) or leaky integrator")
    weight_scale: float | Literal["auto"] = Field(
        "auto", description="auto: scale each layer until its neurons fire at init_rate on training samples "
                            "(qsearch.snn._init); a number multiplies the default initialisation")
    init_rate: float = Field(0.1, gt=0, lt=1, description="auto: target spikes per neuron per step, hidden layers")
    init_output_rate: float = Field(0.1, gt=0, lt=1, description="auto: target rate of a spiking readout")
    neuron: NeuronSection = NeuronSection()
    device: Literal["auto", "cpu", "cuda"] = "auto"

    @field_validator("hidden", "channels")
    @classmethod
    def _positive(cls, v: list[int]) -> list[int]:
        if any(h < 1 for h in v):
            raise ValueError("every layer size must be >= 1")
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
        return self

    def weight_layer_count(self) -> int:
        """Weight layers of the network: conv blocks (conv only), hidden linear layers, the readout."""
        return (len(self.channels) if self.kind == "conv" else 0) + len(self.hidden) + 1


class TrainingSection(_Strict):
    epochs: int = Field(20, ge=1)
    min_steps: int = Field(0, ge=0, description="optimizer steps at least: small data sets train more epochs "
                                                "(epochs = max(epochs, ceil(min_steps / batches per epoch)))")
    batch_size: int = Field(64, ge=1)
    learning_rate: float = Field(5e-3, gt=0)
    cosine_schedule: bool = True
    seed: int = 0
    qat_from_float: bool = Field(True, description="QAT fine-tunes the float network instead of training anew")
    qat_epochs: int = Field(10, ge=1, description="QAT fine-tuning epochs (when qat_from_float)")
    qat_lr_scale: float = Field(0.3, gt=0, le=1, description="QAT fine-tuning learning rate / learning_rate")


class FloatRange(_Strict):
    low: float = Field(gt=0)
    high: float = Field(gt=0)
    log: bool = True

    @model_validator(mode="after")
    def _ordered(self) -> FloatRange:
        if self.low > self.high:
            raise ValueError("low must not exceed high")
        return self


class SearchSpaceSection(_Strict):
    scheme: list[Literal["ptq", "qat"]] = Field(default_factory=lambda: ["ptq", "qat"], min_length=1)
    weight_bits: list[int] = Field(default_factory=lambda: [2, 3, 4, 6, 8], min_length=1)
    per_layer_weight_bits: bool = False
    membrane_bits: list[int] = Field(default_factory=lambda: [6, 8, 10, 12, 16], min_length=1)
    current_bits: list[int] = Field(default_factory=lambda: [6, 8, 10, 12, 16], min_length=1)
    param_bits: list[int] = Field(default_factory=lambda: [4, 6, 8, 12, 16], min_length=1)
    rounding: list[Literal["truncate", "nearest", "stochastic"]] = Field(
        default_factory=lambda: list(ROUNDING_MODES), min_length=1)
    timesteps: list[int] = Field(default_factory=lambda: [8, 12, 16], min_length=1)
    sparsity: list[float] | None = None
    per_layer_sparsity: bool = False
    learning_rate: FloatRange | None = None
    epochs: list[int] | None = None

    @field_validator("weight_bits")
    @classmethod
    def _weight_bits(cls, v: list[int]) -> list[int]:
        return _check_bits(v, "weight_bits", 1)

    @field_validator("membrane_bits", "current_bits", "param_bits")
    @classmethod
    def _state_bits(cls, v: list[int]) -> list[int]:
        return _check_bits(v, "state or parameter bits", 2)

    @field_validator("timesteps")
    @classmethod
    def _timesteps(cls, v: list[int]) -> list[int]:
        if any(t < 1 or t > 1000 for t in v):
            raise ValueError("timesteps must be between 1 and 1000")
        return v

    @field_validator("sparsity")
    @classmethod
    def _sparsity(cls, v: list[float] | None) -> list[float] | None:
        if v is not None and any(not 0 <= s < 1 for s in v):
            raise ValueError("sparsity must satisfy 0 <= s < 1")
        return v

    @field_validator("epochs")
    @classmethod
    def _epochs(cls, v: list[int] | None) -> list[int] | None:
        if v is not None and (not v or any(e < 1 for e in v)):
            raise ValueError("epochs must be a non-empty list of integers >= 1")
        return v


class QuantizationSection(_Strict):
    weight_calibration: Literal["mse", "max"] = Field(
        "mse", description="mse: power-of-two step with the least squared error (may clip the largest weights); "
                           "max: the step from max|w| (see qsearch.quant._formats)")


class ConstraintsSection(_Strict):
    max_accuracy_drop: float | None = Field(1.0, ge=0, description="percentage points below the float baseline")
    max_memory_kib: float | None = Field(None, gt=0)


class SamplerSection(_Strict):
    kind: SamplerKind = "nsga2"
    seed: int | None = 0
    population_size: int = Field(16, ge=2, description="nsga2/nsga3")
    mutation_prob: float | None = Field(None, ge=0, le=1)
    crossover_prob: float = Field(0.9, ge=0, le=1)
    n_startup_trials: int = Field(10, ge=0, description="tpe/gp")


class SilentSection(_Strict):
    enabled: bool = True
    min_spikes: float | None = Field(None, ge=0, description=(
        "fewer watched-layer spikes than this makes a sample silent; none: 1 for float training, and for QAT "
        "relative_min_spikes times the float network's own mean (the same rule on every data set)"))
    relative_min_spikes: float = Field(0.1, gt=0, le=1, description="QAT: share of the float network's spikes")
    max_silent_fraction: float = Field(0.9, ge=0, le=1)
    check_every: int = Field(256, ge=1, description="training samples per check window")
    grace_epochs: float = Field(1.0, ge=0, description="training epochs before the first check")


class EarlyStoppingSection(_Strict):
    silent: SilentSection = SilentSection()
    patience: int | None = Field(None, ge=1, description="epochs without validation improvement")


class BaselineSection(_Strict):
    timesteps: int | None = Field(None, ge=1, description="default: the largest searched timesteps")


class StudyFile(_Strict):
    name: str = Field("qsearch", min_length=1, description="default study name")
    storage: str = "sqlite:///qsearch.db"
    n_trials: int = Field(30, ge=1)
    timeout: float | None = Field(None, gt=0, description="seconds")
    seed: int = 0
    dataset: DatasetSpec = DigitsSpec()
    model: ModelSection = ModelSection()
    training: TrainingSection = TrainingSection()
    search_space: SearchSpaceSection = SearchSpaceSection()
    quantization: QuantizationSection = QuantizationSection()
    objectives: list[Objective] = Field(default_factory=lambda: ["accuracy", "memory"], min_length=2,
                                        max_length=3)
    accuracy_split: Literal["test", "validation"] = "test"
    constraints: ConstraintsSection = ConstraintsSection()
    sampler: SamplerSection = SamplerSection()
    early_stopping: EarlyStoppingSection = EarlyStoppingSection()
    baseline: BaselineSection = BaselineSection()
    trial_runner: Literal["snn", "synthetic"] = Field(
        "snn", description="snn trains every network; synthetic is the closed-form test double "
                           "(qsearch.search._synthetic) for tests and storage benchmarks")
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
        return f"{path}: unknown key; remove it or check the spelling (see README 'Study file reference')"
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
