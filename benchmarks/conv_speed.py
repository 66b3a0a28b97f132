"""Benchmark: seconds per training epoch of a convolutional SNN, Norse step loop vs qsearch (float and QAT).

The N-MNIST-sized network of ``studies/nmnist.yaml``: 2x34x34 event frames -> conv3x3 12 channels -> LIF ->
sum-pool 2 -> conv3x3 32 -> LIF -> sum-pool 2 -> linear 10 -> LIF (logits = output spike counts), T=16, batch 32,
random event counts (no dataset download needed for a timing), one thread, Adam, epochs interleaved round by
round in one process:

- ``norse_steps``: per timestep, ``conv2d`` / ``linear`` then Norse's ``lif_feed_forward_step`` per layer;
- ``qsearch_float``: :class:`qsearch.snn.SpikingConvNet`: one conv2d over all T x B frames per layer, the LIF
  recurrence in the fused kernel;
- ``qsearch_qat``: the same with a QAT plan (w4 per layer, v8 i8 p8, nearest) rebuilt every batch.

Ends with ``speedup_conv_float_vs_norse_steps`` and ``speedup_conv_qat_vs_norse_steps`` (medians, this run).

    .venv/bin/python benchmarks/conv_speed.py [--repeats 3] [--samples 256]
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F
from torch import nn
from trial_speed import SPEC, Batches, interleaved_medians, training_steps

from qsearch._norse import LIFFeedForwardState, lif_feed_forward_step
from qsearch.quant import QuantConfig
from qsearch.snn import SpikingConvNet, _fused

INPUT, CHANNELS, CLASSES, T, BATCH = (2, 34, 34), (12, 32), 10, 16, 32
QAT = QuantConfig(scheme="qat", weight_bits=(4, 4, 4), membrane_bits=8, current_bits=8, param_bits=8,
                  rounding="nearest", timesteps=T)
CURRENT_RANGES = [4.0, 4.0, 4.0]
LR = 2e-3


def event_batches(samples: int, rate: float = 0.05, seed: int = 0) -> Batches:
    g = torch.Generator().manual_seed(seed)
    frames = (torch.rand(samples, T, *INPUT, generator=g) < rate).float()
    y = torch.randint(0, CLASSES, (samples,), generator=g)
    return [(frames[s:s + BATCH].transpose(0, 1).contiguous(), y[s:s + BATCH]) for s in range(0, samples, BATCH)]


class NorseConvSteps(nn.Module):
    """The same network written the textbook way: a Python loop over timesteps, Norse's LIF step per layer."""

    def __init__(self, reference: SpikingConvNet) -> None:
        super().__init__()
        self.reference_topology = reference.topology
        self.weights = nn.ParameterList(nn.Parameter(w.detach().clone()) for w in reference.weights)
        self.p = SPEC.norse_parameters()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        states: list[LIFFeedForwardState | None] = [None] * len(self.weights)
        counts = torch.zeros(x.shape[1], CLASSES)
        for t in range(x.shape[0]):
            h = x[t]
            for index, (layer, w) in enumerate(zip(self.reference_topology, self.weights, strict=True)):
                if layer.kind == "conv":
                    current = F.conv2d(h, w, padding=layer.padding)
                else:
                    current = h.flatten(1) @ w.t()
                if states[index] is None:
                    states[index] = LIFFeedForwardState(v=torch.zeros_like(current), i=torch.zeros_like(current))
                h, states[index] = lif_feed_forward_step(current, states[index], self.p, dt=SPEC.dt)
                if layer.kind == "conv" and layer.pool > 1:
                    h = F.avg_pool2d(h, layer.pool) * layer.pool**2  # sum pooling
            counts = counts + h
        return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--samples", type=int, default=256)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"fused LIF kernel: {'available' if _fused.is_available() else 'unavailable (Python loop)'}")
    torch.manual_seed(0)
    reference = SpikingConvNet(INPUT, CHANNELS, CLASSES, kernel_size=3, pool=2, pooling="sum", neuron=SPEC,
                               weight_scale=2.0)
    batches = event_batches(args.samples)
    steps = training_steps(reference, NorseConvSteps(reference), QAT, CURRENT_RANGES, LR)
    shapes = " -> ".join(layer.describe() for layer in reference.topology)
    print(f"== conv SNN {shapes}, T={T}, batch {BATCH}, {args.samples} samples/epoch, {args.repeats} timed epochs "
          "after 1 warm-up, 1 thread")
    medians = interleaved_medians(steps, batches, args.repeats)
    base = medians["norse_steps"]
    print(f"speedup_conv_float_vs_norse_steps: {base / medians['qsearch_float']:.2f}")
    print(f"speedup_conv_qat_vs_norse_steps: {base / medians['qsearch_qat']:.2f}")


if __name__ == "__main__":
    main()
