"""Integer-only inference: a frozen quantized network run with int64 codes, shifts, clamps and compares.

Every tensor is held as integer *codes* of a power-of-two grid: a value ``x`` with ``f`` fraction bits is
the code ``x * 2**f``. The fake-quantized float path (:mod:`qsearch.snn._dynamics`) rounds the *exact* value
of each expression onto the destination grid; here that exact value is formed in integers and only the final
rounding is a shift:

- the operands of a sum are aligned to the largest fraction bits ``F`` among them by exact left shifts;
- a product of codes with ``f_a`` and ``F`` fraction bits is the exact code at ``f_a + F`` fraction bits;
- one :func:`~qsearch.quant.shift_right_rounded` brings the exact code to the destination grid with the
  trial's rounding mode, then a clamp to the format's code range saturates it (the float path's
  ``round`` then ``clamp``);
- the spike test compares membrane and threshold codes at common fraction bits.

One LIF step (Norse's order, as in :func:`~qsearch.snn.lif_sequence`)::

    i     = Qi(i + W s)                       # W s: weight codes times 0/1 spikes, summed (int64 matmul)
    v_dec = Qv(v + a_mem * ((v_leak - v) + i))
    i     = Qi(i - a_syn * i)
    z     = v_dec > v_th;   v = v_reset if z else v_dec

An analog (direct-encoded) input is the one input that is not spikes: unsigned codes ``x`` of ``input_bits``
fraction bits (:func:`qsearch.quant.analog_input_codes`), so the first layer's ``W x`` is a product of codes, exact
at ``weight frac_bits + input_bits`` fraction bits, rounded onto the current grid like any other sum.

For ``truncate`` and ``nearest`` this equals the float64 fake-quantized evaluation bit for bit. Stochastic
rounding draws integers (``randint`` below ``2**shift``) instead of floats: the same rounding distribution,
other random numbers, so the two paths agree only statistically.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import torch

from qsearch.quant import INPUT_BITS_RANGE, FixedPoint, Rounding, shift_right_rounded
from qsearch.snn._plan import QuantPlan
from qsearch.snn._topology import LayerShape, TopologyShapes, pool_spikes, synaptic_input
from qsearch.snn.network import Readout, SpikingNetwork, is_leaky_readout, li_logits

CONSTANT_NAMES = ("a_mem", "a_syn", "v_leak", "v_th", "v_reset")


@dataclass(frozen=True)
class IntegerConstant:
    """One neuron constant as an integer code with its fraction bits (value = code * 2**-frac_bits)."""

    code: int
    frac_bits: int
    bits: int

    @property
    def value(self) -> float:
        return self.code * 2.0 ** (-self.frac_bits)


@dataclass(frozen=True)
class IntegerConstants:
    """The five constants of a LIF step; ``v_reset`` lies on the membrane grid (it is written into v)."""

    a_mem: IntegerConstant
    a_syn: IntegerConstant
    v_leak: IntegerConstant
    v_th: IntegerConstant
    v_reset: IntegerConstant

    def items(self) -> dict[str, IntegerConstant]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True, eq=False)
class IntegerNetwork(TopologyShapes):
    """A frozen quantized network: int64 weight codes per layer plus formats, constants and modes.

    ``topology[l]`` says what layer ``l`` connects (linear or conv, shapes, pooling); ``weights[l]`` has its
    ``weight_shape`` and holds codes of ``weight_formats[l]`` (pruned weights are code 0).
    ``current_formats[l]`` is the synaptic-current format of layer ``l``; all layers share ``membrane``.
    ``input_bits``: None for spike input (0/1 or event counts); b for analog input, unsigned codes 0..2**b - 1
    worth ``code * 2**-b`` (a direct encoding's ``input_bits``).
    """

    topology: tuple[LayerShape, ...]
    weights: tuple[torch.Tensor, ...]
    weight_formats: tuple[FixedPoint, ...]
    current_formats: tuple[FixedPoint, ...]
    membrane: FixedPoint
    constants: IntegerConstants
    rounding: Rounding
    readout: Readout
    input_bits: int | None = None

    def __post_init__(self) -> None:
        layers = len(self.topology)
        if not (len(self.weights) == len(self.weight_formats) == len(self.current_formats) == layers):
            raise ValueError(f"IntegerNetwork: {layers} layers need as many weights, weight and current "
                             "formats")
        for index, (w, fmt) in enumerate(zip(self.weights, self.weight_formats, strict=True)):
            if w.dtype != torch.int64:
                raise ValueError(f"IntegerNetwork: weights[{index}] must be int64 codes, got {w.dtype}")
            expected = self.topology[index].weight_shape
            if tuple(w.shape) != expected:
                raise ValueError(f"IntegerNetwork: weights[{index}] has shape {tuple(w.shape)}, expected "
                                 f"{expected}")
            if w.numel() and (int(w.min()) < fmt.min_code or int(w.max()) > fmt.max_code):
                raise ValueError(f"IntegerNetwork: weights[{index}] has codes outside {fmt.describe()}")
        for name, fmt in self._formats():
            if fmt.is_float:
                raise ValueError(f"integer inference needs fixed-point formats; field {name} is float32")
        if self.input_bits is not None and not INPUT_BITS_RANGE[0] <= self.input_bits <= INPUT_BITS_RANGE[1]:
            raise ValueError(f"IntegerNetwork: input_bits {self.input_bits} outside {INPUT_BITS_RANGE}")

    @property
    def input_frac_bits(self) -> int:
        """Fraction bits of the input codes: 0 for spikes, ``input_bits`` for analog input."""
        return self.input_bits or 0

    def _formats(self) -> list[tuple[str, FixedPoint]]:
        named = [(f"weight_bits[{i}]", f) for i, f in enumerate(self.weight_formats)]
        named += [(f"current_bits[{i}]", f) for i, f in enumerate(self.current_formats)]
        return [*named, ("membrane_bits", self.membrane)]

    def tensors(self) -> list[torch.Tensor]:
        """Every tensor the network holds (all int64)."""
        return list(self.weights)

    @property
    def device(self) -> torch.device:
        """Where the weight codes live (the trained network's device); inputs are moved there."""
        return self.weights[0].device


@dataclass(frozen=True, eq=False)
class IntegerOutput:
    """Logit codes (B, classes): spike counts (``frac_bits`` 0) or the LI readout's membrane codes (peak or sum
    over time)."""

    logits: torch.Tensor
    frac_bits: int

    @property
    def predictions(self) -> torch.Tensor:
        return self.logits.argmax(1)  # first maximum on ties, as the float path's argmax

    def values(self) -> torch.Tensor:
        """The logits as float64 values (exact: codes times a power of two)."""
        return self.logits.to(torch.float64) * 2.0 ** (-self.frac_bits)


# --------------------------------------------------------------------------------------------- building


def _float_fields(plan: QuantPlan) -> list[str]:
    config = plan.config
    names = [f"weight_bits[{i}]" for i, f in enumerate(plan.weight_formats) if f.is_float]
    if any(s.membrane.is_float for s in plan.state):
        names.append("membrane_bits")
    if any(s.current.is_float for s in plan.state):
        names.append("current_bits")
    if config.param_bits >= 32 or any(f.is_float for f in plan.param_formats.values()):
        names.append("param_bits")
    return names


def exact_codes(values: torch.Tensor, fmt: FixedPoint, what: str) -> torch.Tensor:
    """Codes of values that already lie on ``fmt``'s grid (int64); raises if any does not."""
    scaled = values.detach().to(torch.float64) * 2.0 ** fmt.frac_bits  # exact: power of two (on values' device)
    codes = torch.round(scaled)
    if not torch.equal(codes, scaled):
        raise ValueError(f"{what}: values are not on the grid of {fmt.describe()}; was the plan frozen?")
    codes = codes.to(torch.int64)
    if codes.numel() and (int(codes.min()) < fmt.min_code or int(codes.max()) > fmt.max_code):
        raise ValueError(f"{what}: codes outside the range of {fmt.describe()}")
    return codes


def _constant(value: float, fmt: FixedPoint, name: str) -> IntegerConstant:
    code = int(exact_codes(torch.tensor(value, dtype=torch.float64), fmt, f"constant {name}"))
    return IntegerConstant(code=code, frac_bits=fmt.frac_bits, bits=fmt.bits)


def to_integer(model: SpikingNetwork, plan: QuantPlan, input_bits: int | None = None) -> IntegerNetwork:
    """The integer twin of ``model`` under a frozen ``plan`` (see :func:`qsearch.snn.freeze`); ``input_bits``:
    the width of an analog (direct-encoded) input, None for spike input."""
    float_fields = _float_fields(plan)
    if float_fields:
        raise ValueError(f"integer inference needs fixed-point formats; field {float_fields[0]} is float32")
    if plan.fixed_weights is None:
        raise ValueError("to_integer: the plan is not frozen; use qsearch.snn.freeze(plan, model.weights)")
    if len(plan.fixed_weights) != len(model.layers):
        raise ValueError(f"to_integer: the plan has {len(plan.fixed_weights)} layers, the model "
                         f"{len(model.layers)}")
    membranes = {s.membrane for s in plan.state}
    if len(membranes) != 1:
        raise ValueError("to_integer: every layer must share one membrane format (the reset is one code)")
    membrane = membranes.pop()
    weights = tuple(exact_codes(w, fmt, f"layer {i} weights")
                    for i, (w, fmt) in enumerate(zip(plan.fixed_weights, plan.weight_formats, strict=True)))
    values = plan.constants.items()
    codes = {name: _constant(values[name], plan.param_formats[name], name) for name in CONSTANT_NAMES
             if name != "v_reset"}
    codes["v_reset"] = _constant(values["v_reset"], membrane, "v_reset")
    return IntegerNetwork(topology=model.topology, weights=weights,
                          weight_formats=tuple(plan.weight_formats),
                          current_formats=tuple(s.current for s in plan.state), membrane=membrane,
                          constants=IntegerConstants(**codes), rounding=plan.config.rounding,
                          readout=model.readout, input_bits=input_bits)


# -------------------------------------------------------------------------------------------- running


def _align(codes: torch.Tensor, frac_bits: int, target: int) -> torch.Tensor:
    """Exact re-expression of codes at ``target >= frac_bits`` fraction bits."""
    return codes << (target - frac_bits) if target > frac_bits else codes


class _Rounder:
    """Round exact codes at ``frac_bits`` onto a format's grid, then saturate (the float path's quantize)."""

    def __init__(self, rounding: Rounding, generator: torch.Generator | None) -> None:
        self.rounding = rounding
        self.generator = generator

    def __call__(self, codes: torch.Tensor, frac_bits: int, fmt: FixedPoint) -> torch.Tensor:
        shifted = shift_right_rounded(codes, frac_bits - fmt.frac_bits, self.rounding, self.generator)
        return shifted.clamp_(fmt.min_code, fmt.max_code)


def _neuron_sequence(syn: torch.Tensor, syn_frac: int, current: FixedPoint, net: IntegerNetwork,
                     rounder: _Rounder, spiking: bool) -> torch.Tensor:
    """Spikes (T, B, N) as int64 0/1 for a LIF layer, or the membrane codes (T, B, N) of an LI readout."""
    c = net.constants
    fv, fi = net.membrane.frac_bits, current.frac_bits
    # i + W s at the finer of the two grids
    f_in = max(fi, syn_frac)
    syn = _align(syn, syn_frac, f_in)
    # (v_leak - v) + i at f1; times a_mem at f1 + f_am; plus v at f2
    f1 = max(c.v_leak.frac_bits, fv, fi)
    leak = c.v_leak.code << (f1 - c.v_leak.frac_bits)
    f_prod = f1 + c.a_mem.frac_bits
    f2 = max(f_prod, fv)
    # i - a_syn * i at f3
    f_decay = fi + c.a_syn.frac_bits
    f3 = max(fi, f_decay)
    # threshold compare at fc
    fc = max(fv, c.v_th.frac_bits)
    threshold = c.v_th.code << (fc - c.v_th.frac_bits)
    v_reset = torch.tensor(c.v_reset.code, dtype=torch.int64, device=syn.device)

    v = torch.zeros_like(syn[0])
    i = torch.zeros_like(syn[0])
    out = []
    for t in range(syn.shape[0]):
        i = rounder(_align(i, fi, f_in) + syn[t], f_in, current)
        inner = leak - _align(v, fv, f1) + _align(i, fi, f1)
        v_decayed = rounder(_align(v, fv, f2) + _align(c.a_mem.code * inner, f_prod, f2), f2, net.membrane)
        i = rounder(_align(i, fi, f3) - _align(c.a_syn.code * i, f_decay, f3), f3, current)
        if spiking:
            z = _align(v_decayed, fv, fc) > threshold
            v = torch.where(z, v_reset, v_decayed)
            out.append(z.to(torch.int64))
        else:
            v = v_decayed
            out.append(v)
    return torch.stack(out)


def _as_integer_spikes(spikes: torch.Tensor, input_bits: int | None) -> torch.Tensor:
    """int64 input codes: spikes (0/1 or counts), or analog codes within 0..2**input_bits - 1."""
    if spikes.dtype == torch.bool or not (spikes.dtype.is_floating_point or spikes.dtype.is_complex):
        codes = spikes.to(torch.int64)
    else:
        codes = torch.round(spikes)
        if not torch.equal(codes, spikes):
            raise ValueError("run_integer: inputs must be integer codes (0/1 spikes, event counts or analog codes)")
        codes = codes.to(torch.int64)
    if codes.numel() and int(codes.min()) < 0:
        raise ValueError("run_integer: inputs must be non-negative (spikes, event counts or analog codes)")
    if input_bits is not None and codes.numel() and int(codes.max()) > 2 ** input_bits - 1:
        raise ValueError(f"run_integer: analog input codes must lie in 0..{2 ** input_bits - 1} "
                         f"(input_bits {input_bits})")
    return codes


def run_integer(net: IntegerNetwork, spikes: torch.Tensor, generator: torch.Generator | None = None,
                batch_size: int = 1024) -> IntegerOutput:
    """Run ``net`` on input spikes (T, B, *input_shape) (0/1, or event counts) with integer tensors only; a
    network of analog input (``net.input_bits``) takes its unsigned input codes instead.

    Runs on ``net.device`` (the spikes are moved there); ``generator`` must live on that device too.

    Returns spike counts of the output layer (spiking readout) or the LI membrane codes' peak over time
    (``li``) or sum over time (``li_sum``), as int64 logits with their fraction bits. ``generator`` drives
    stochastic rounding.
    """
    if spikes.dim() < 3:
        raise ValueError(f"run_integer: spikes must be (T, B, features...), got shape {tuple(spikes.shape)}")
    steps, batch = spikes.shape[0], spikes.shape[1]
    features = spikes[0, 0].numel() if batch else 0
    if batch and features != math.prod(net.input_shape):
        raise ValueError(f"run_integer: {features} input features, the network expects {net.input_shape}")
    x = spikes.reshape(steps, batch, *net.input_shape).to(net.device)
    rounder = _Rounder(net.rounding, generator)
    chunks = [_run_batch(net, _as_integer_spikes(x[:, start:start + batch_size], net.input_bits), rounder)
              for start in range(0, batch, batch_size)]
    logits = torch.cat(chunks) if chunks else torch.zeros(0, net.n_classes, dtype=torch.int64, device=net.device)
    frac = net.membrane.frac_bits if is_leaky_readout(net.readout) else 0
    return IntegerOutput(logits=logits, frac_bits=frac)


def _run_batch(net: IntegerNetwork, h: torch.Tensor, rounder: _Rounder) -> torch.Tensor:
    last = len(net.weights) - 1
    for index, (layer, weight, fmt) in enumerate(zip(net.topology, net.weights, net.weight_formats, strict=True)):
        syn = synaptic_input(layer, h, weight)  # int64 matmul, or unfold + int64 matmul for conv
        # spikes carry no fraction bits; analog input codes (the first layer's only) their input_bits
        syn_frac = fmt.frac_bits + (net.input_frac_bits if index == 0 else 0)
        current = net.current_formats[index]
        if index == last and is_leaky_readout(net.readout):
            return li_logits(_neuron_sequence(syn, syn_frac, current, net, rounder, spiking=False), net.readout)
        h = pool_spikes(layer, _neuron_sequence(syn, syn_frac, current, net, rounder, spiking=True))
    return h.sum(0)


__all__ = ["CONSTANT_NAMES", "IntegerConstant", "IntegerConstants", "IntegerNetwork", "IntegerOutput",
           "exact_codes", "run_integer", "to_integer"]
