"""Benchmark: which CUDA path runs the LIF recurrence (issue #15): the Python loop, the fused kernel, torch.compile.

One LIF layer of a study's network (T timesteps, batch 64, N neurons), forward and BPTT backward, on the GPU:

- ``loop``: :func:`qsearch.snn._lif_reference.lif_sequence_reference`, eager (one kernel per op and step);
- ``fused``: the fused CUDA kernel (:mod:`qsearch.snn._fused_cuda`), one launch forward, one backward;
- ``compiled``: ``torch.compile`` of the reference loop. Its first call per (T, format) compiles; a study samples
  both (the timesteps and the state bit widths are searched), so the compile time recurs per configuration.

Prints milliseconds per forward+backward (median of timed repeats after a warm-up, CUDA-synchronized), the
compile seconds of each configuration, and ends with ``speedup_fused_vs_loop`` and ``speedup_fused_vs_compiled``
(steady state; the compile time comes on top for ``compiled``).

    python benchmarks/lif_cuda_paths.py [--neurons 128] [--repeats 50]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch

from qsearch.quant import FixedPoint
from qsearch.snn import NeuronSpec, StateQuant, _fused_cuda
from qsearch.snn._lif_reference import lif_sequence_reference

Path = Callable[[torch.Tensor], torch.Tensor]
CONFIGS: list[tuple[int, str, StateQuant | None]] = [
    (32, "float", None),
    (16, "float", None),
    (32, "nearest m8 i10", StateQuant(membrane=FixedPoint(8, 5), current=FixedPoint(10, 5), rounding="nearest")),
]


def timed_ms(path: Path, currents: torch.Tensor, repeats: int) -> float:
    """Median ms of forward + backward of ``path`` (after two warm-up calls)."""
    times = []
    for index in range(repeats + 2):
        x = currents.detach().clone().requires_grad_()
        torch.cuda.synchronize()
        start = time.perf_counter()
        path(x).sum().backward()
        torch.cuda.synchronize()
        if index >= 2:
            times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--neurons", type=int, default=128)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("lif_cuda_paths: needs a CUDA device")
    torch._dynamo.config.cache_size_limit = 64  # one entry per configuration: let it recompile instead of falling back
    p = NeuronSpec(tau_mem_inv=200.0, tau_syn_inv=500.0).constants()
    print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}, fused kernel available: "
          f"{_fused_cuda.is_available()}")
    compiled_reference = torch.compile(lif_sequence_reference)
    ratios_loop, ratios_compiled = [], []
    for steps, label, sq in CONFIGS:
        g = torch.Generator().manual_seed(0)
        currents = (torch.randn(steps, args.batch, args.neurons, generator=g) * 2 + 0.4).cuda()

        def loop(x: torch.Tensor, sq: StateQuant | None = sq) -> torch.Tensor:
            return lif_sequence_reference(x, p, sq)

        def fused(x: torch.Tensor, sq: StateQuant | None = sq) -> torch.Tensor:
            spikes = _fused_cuda.fused_lif_sequence_cuda(x, p, sq)
            assert spikes is not None
            return spikes

        def compiled(x: torch.Tensor, sq: StateQuant | None = sq) -> torch.Tensor:
            return compiled_reference(x, p, sq)

        start = time.perf_counter()
        x = currents.detach().clone().requires_grad_()
        compiled(x).sum().backward()
        torch.cuda.synchronize()
        compile_s = time.perf_counter() - start
        assert torch.equal(fused(currents), loop(currents))
        ms = {name: timed_ms(path, currents, args.repeats) for name, path in
              (("loop", loop), ("fused", fused), ("compiled", compiled))}
        ratios_loop.append(ms["loop"] / ms["fused"])
        ratios_compiled.append(ms["compiled"] / ms["fused"])
        print(f"T={steps:3d} {label:15s} loop {ms['loop']:7.3f} ms  fused {ms['fused']:7.3f} ms  compiled "
              f"{ms['compiled']:7.3f} ms (first call, compile included: {compile_s:5.1f} s)", flush=True)
    print(f"speedup_fused_vs_loop: {statistics.median(ratios_loop):.1f}")
    print(f"speedup_fused_vs_compiled: {statistics.median(ratios_compiled):.1f}")


if __name__ == "__main__":
    main()
