"""The quantization configuration of one trial: one small frozen record, from sampler to model to database."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, get_args

from qsearch.errors import InputError
from qsearch.quant._formats import FLOAT_BITS, PARAM_WIDTHS, STATE_WIDTHS, WEIGHT_WIDTHS, WidthRule
from qsearch.quant._rounding import ROUNDING_MODES, Rounding

Scheme = Literal["float", "ptq", "qat"]
SCHEMES: tuple[Scheme, ...] = get_args(Scheme)
WeightCalibration = Literal["max", "mse"]
WEIGHT_CALIBRATIONS: tuple[str, ...] = get_args(WeightCalibration)
#: how weight formats are calibrated unless a study says otherwise (the study file's default too)
DEFAULT_WEIGHT_CALIBRATION: WeightCalibration = "mse"
#: what a stored config without the field was evaluated with: max-based calibration was the only rule then
STORED_WITHOUT_CALIBRATION: WeightCalibration = "max"


@dataclass(frozen=True)
class QuantConfig:
    """What a trial quantizes and how.

    ``weight_bits`` and ``sparsity`` hold one entry per weight layer (input to output). A width of 32 means
    float32. ``current_bits`` only applies to neuron models with a synaptic current. ``weight_calibration``
    picks how weight formats are calibrated (:mod:`qsearch.quant._formats`); its default is the study file's,
    while :meth:`from_dict` reads a stored dict without the field as ``max``, what it was evaluated with.
    """

    scheme: Scheme = "float"
    weight_bits: tuple[int, ...] = ()
    membrane_bits: int = FLOAT_BITS
    current_bits: int = FLOAT_BITS
    param_bits: int = FLOAT_BITS
    rounding: Rounding = "nearest"
    timesteps: int = 16
    sparsity: tuple[float, ...] = ()
    weight_calibration: WeightCalibration = DEFAULT_WEIGHT_CALIBRATION
    extras: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if self.scheme not in SCHEMES:
            raise InputError(f"scheme: {self.scheme!r} is unknown; allowed: {', '.join(SCHEMES)}")
        if self.rounding not in ROUNDING_MODES:
            raise InputError(f"rounding: {self.rounding!r} is unknown; allowed: {', '.join(ROUNDING_MODES)}")
        for name, bits, rule in self._width_rules():
            rule.check(bits, name)
        if self.weight_calibration not in WEIGHT_CALIBRATIONS:
            raise InputError(f"weight_calibration: {self.weight_calibration!r} is unknown; "
                             f"allowed: {', '.join(WEIGHT_CALIBRATIONS)}")
        if self.timesteps < 1:
            raise InputError(f"timesteps: {self.timesteps} must be >= 1")
        for s in self.sparsity:
            if not 0.0 <= s < 1.0:
                raise InputError(f"sparsity: {s} is out of range; allowed: 0 <= sparsity < 1")
        if self.scheme == "float" and any(b != FLOAT_BITS for _, b in self._widths()):
            raise InputError("scheme: 'float' requires every bit width to be 32")

    def _width_rules(self) -> list[tuple[str, int, WidthRule]]:
        widths = [(f"weight_bits[{i}]", b, WEIGHT_WIDTHS) for i, b in enumerate(self.weight_bits)]
        return widths + [("membrane_bits", self.membrane_bits, STATE_WIDTHS),
                         ("current_bits", self.current_bits, STATE_WIDTHS),
                         ("param_bits", self.param_bits, PARAM_WIDTHS)]

    def _widths(self) -> list[tuple[str, int]]:
        return [(name, bits) for name, bits, _ in self._width_rules()]

    @property
    def is_float(self) -> bool:
        return self.scheme == "float"

    def layer_bits(self, layer: int) -> int:
        if not self.weight_bits:
            return FLOAT_BITS
        return self.weight_bits[layer] if layer < len(self.weight_bits) else self.weight_bits[-1]

    def layer_sparsity(self, layer: int) -> float:
        if not self.sparsity:
            return 0.0
        return self.sparsity[layer] if layer < len(self.sparsity) else self.sparsity[-1]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["weight_bits"] = list(self.weight_bits)
        data["sparsity"] = list(self.sparsity)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QuantConfig:
        data = dict(data)
        data["weight_bits"] = tuple(data.get("weight_bits", ()))
        data["sparsity"] = tuple(data.get("sparsity", ()))
        data.setdefault("weight_calibration", STORED_WITHOUT_CALIBRATION)
        return cls(**data)

    def summary(self) -> str:
        """Short human label, e.g. ``qat w4/4 v8 i8 p8 nearest T16``."""
        if self.is_float:
            return f"float32 T{self.timesteps}"
        weights = "/".join(str(self.layer_bits(i)) for i in range(len(self.weight_bits) or 1))
        text = (f"{self.scheme} w{weights} v{self.membrane_bits} i{self.current_bits} p{self.param_bits} "
                f"{self.rounding} T{self.timesteps}")
        if any(self.sparsity):
            text += " sp" + "/".join(f"{s:.2f}" for s in self.sparsity)
        return text
