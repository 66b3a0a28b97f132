"""Train a small SNN with plain Norse on the bundled sklearn digits and write it as a NIR graph.

This is "the user's own network" of ``studies/digits_nir.yaml``: qsearch imports ``examples/digits_norse.nir``
as the study's float baseline and searches its quantization. The data are qsearch's own digits splits and rate
encoding (``qsearch.data`` through the trial data cache), so the imported network sees the spikes it was
trained on. The graph is written by Norse's ``norse.torch.to_nir`` unchanged except that its scalar neuron
parameters are broadcast to per-neuron arrays (``nir.write`` refuses scalars); its time constants follow
Norse 1.1's ``dt / tau_inv`` convention (norse#411), hence ``model.tau_convention: norse`` in the study.

    PYTHONPATH=$PWD python examples/train_norse_digits.py      # ~1-3 min on one CPU core
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import torch

import qsearch._norse  # noqa: F401  (imports Norse once, under qsearch's filter for its torch.jit warning)
from qsearch.data import DigitsSpec
from qsearch.trial import trial_data

norse = sys.modules["norse.torch"]
LIFCell, LIFParameters, SequentialState = norse.LIFCell, norse.LIFParameters, norse.SequentialState
to_nir = norse.to_nir

TIMESTEPS = 16
HIDDEN = 64
EPOCHS = 20
OUT = Path(__file__).with_name("digits_norse.nir")
PARAMETERS = LIFParameters(tau_mem_inv=torch.tensor(200.0), tau_syn_inv=torch.tensor(500.0))


def network() -> SequentialState:
    torch.manual_seed(0)
    model = SequentialState(torch.nn.Linear(64, HIDDEN, bias=False), LIFCell(PARAMETERS),
                            torch.nn.Linear(HIDDEN, 10, bias=False), LIFCell(PARAMETERS))
    with torch.no_grad():  # Norse's default initialisation stays silent on digits (shared/NOTES.md)
        for module in model:
            if isinstance(module, torch.nn.Linear):
                module.weight.mul_(4.0)
    return model


def spike_counts(model: SequentialState, spikes: torch.Tensor) -> torch.Tensor:
    """Output spike counts (B, 10) for input spikes (B, T, 64): Norse's cells stepped over time."""
    state = None
    counts = torch.zeros(spikes.shape[0], 10)
    for t in range(spikes.shape[1]):
        out, state = model(spikes[:, t].float(), state)
        counts = counts + out
    return counts


def accuracy(model: SequentialState, split) -> float:
    with torch.no_grad():
        return 100 * float((spike_counts(model, split.spikes).argmax(1) == split.y).double().mean())


def main() -> int:
    data = trial_data(DigitsSpec(), TIMESTEPS)
    model = network()
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    generator = torch.Generator().manual_seed(0)
    for epoch in range(EPOCHS):
        order = torch.randperm(len(data.train), generator=generator)
        for start in range(0, len(order), 64):
            batch = order[start:start + 64]
            loss = torch.nn.functional.cross_entropy(spike_counts(model, data.train.spikes[batch]),
                                                     data.train.y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        print(f"epoch {epoch + 1}: validation {accuracy(model, data.validation):.2f} %", flush=True)
    print(f"test accuracy {accuracy(model, data.test):.2f} % at T={TIMESTEPS} (Norse)")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        graph = to_nir(model, torch.zeros(1, 64))
    import nir

    for source, target in graph.edges:  # nir.write refuses scalar datasets: one value per neuron
        node = graph.nodes[target]
        if isinstance(node, nir.CubaLIF):  # its neurons are the rows of the Affine before it
            size = graph.nodes[source].weight.shape[0]
            for name in ("tau_mem", "tau_syn", "v_threshold", "v_leak", "v_reset", "r", "w_in"):
                setattr(node, name, np.full(size, float(np.asarray(getattr(node, name)))))
    nir.write(OUT, graph)
    print(f"wrote {OUT} ({OUT.stat().st_size / 1024:.1f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
