"""Neuron parameters: Norse's LIF parameters as the source of truth, reduced to the scalars a step uses.

A Norse LIF step (``norse.torch.functional.lif.lif_feed_forward_step``) with time step ``dt`` is

    i' = i + input;  v' = v + dt*tau_mem_inv*((v_leak - v) + i');  i'' = i' - dt*tau_syn_inv*i'
    z = H(v' - v_th);  v'' = (1 - z) v' + z v_reset

so five scalars define it: the two decay factors ``a_mem = dt*tau_mem_inv`` and ``a_syn = dt*tau_syn_inv`` and
the three potentials. Those five are what fixed-point hardware stores and what ``param_bits`` quantizes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from qsearch._norse import LIFParameters


@dataclass(frozen=True)
class NeuronConstants:
    """The five scalars of a LIF step (plus the surrogate-gradient sharpness, which only shapes gradients)."""

    a_mem: float
    a_syn: float
    v_leak: float
    v_th: float
    v_reset: float
    alpha: float = 100.0

    def items(self) -> dict[str, float]:
        return {"a_mem": self.a_mem, "a_syn": self.a_syn, "v_leak": self.v_leak, "v_th": self.v_th,
                "v_reset": self.v_reset}

    def with_values(self, values: dict[str, float]) -> NeuronConstants:
        return replace(self, **values)


@dataclass(frozen=True)
class NeuronSpec:
    """LIF neuron settings as a user writes them (Norse units: inverse time constants in 1/s, dt in s).

    These defaults are the study file's (``model.neuron`` builds this record and reads its defaults from it),
    as Norse's ``LIFParameters`` defines its defaults once: a network built in code and one built from a study
    file with the section left out have the same neurons. Faster decays than Norse's own (100/200 1/s) keep
    an 8-16 step digits network firing.
    """

    tau_mem_inv: float = 200.0
    tau_syn_inv: float = 500.0
    v_th: float = 1.0
    v_reset: float = 0.0
    v_leak: float = 0.0
    dt: float = 1e-3
    alpha: float = 100.0

    def norse_parameters(self) -> LIFParameters:
        return LIFParameters(tau_syn_inv=torch.as_tensor(self.tau_syn_inv),
                             tau_mem_inv=torch.as_tensor(self.tau_mem_inv), v_leak=torch.as_tensor(self.v_leak),
                             v_th=torch.as_tensor(self.v_th), v_reset=torch.as_tensor(self.v_reset),
                             method="super", alpha=torch.as_tensor(self.alpha))

    def constants(self) -> NeuronConstants:
        # computed as Norse does (float32 product of dt and the inverse time constant), so float runs match Norse
        a_mem = float(self.dt * torch.as_tensor(self.tau_mem_inv, dtype=torch.float32))
        a_syn = float(self.dt * torch.as_tensor(self.tau_syn_inv, dtype=torch.float32))
        return NeuronConstants(a_mem=a_mem, a_syn=a_syn, v_leak=self.v_leak, v_th=self.v_th,
                               v_reset=self.v_reset, alpha=self.alpha)
