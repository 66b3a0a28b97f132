"""Benchmark: seconds per training epoch of one trial's network, Norse step loop vs qsearch (float and QAT).

All implementations train the same network from the same initial weights on the same pre-encoded batches, in one
process, epochs interleaved round by round (so that load from other processes hits all of them alike), one thread:

- ``norse_steps``: ``nn.Linear`` + Norse's ``lif_feed_forward_step`` per timestep per layer (the reference).
- ``qsearch_float``: :class:`qsearch.snn.SpikingMLP` with ``plan=None`` (time-batched matmuls + LIF recurrence).
- ``qsearch_qat``: the same with a QAT plan (w4/4 v8 i8 p8, nearest) rebuilt every batch, as training does.
- ``snntorch_steps``: snnTorch's ``Synaptic`` neuron per timestep, digits only, when snnTorch is installed
  (``.venv/bin/pip install -c constraints.txt snntorch``; not a dependency of qsearch): the same layers, weights,
  batches and loss, with snnTorch's own decay form (alpha = 1 - dt*tau_syn_inv, beta = 1 - dt*tau_mem_inv).

Network: LIF (tau_mem_inv=200, tau_syn_inv=500), spiking readout (logits = output spike counts), cross-entropy,
Adam. Digits 64-128-10: scikit-learn's digits, rate-coded, T=32, batch 64, an epoch of 1437 samples. Then
784-512-10 on random spikes (N=2048, T=32) and, for both, a lower bound: the forward and backward matmuls alone.
Prints every epoch time, the medians, and ends with ``speedup_float_vs_norse_steps`` and
``speedup_qat_vs_norse_steps`` (digits, medians, measured in this run) and, with snnTorch, its seconds per epoch,
``speedup_snntorch_vs_norse_steps`` and ``speedup_float_vs_snntorch_steps``.

    .venv/bin/python benchmarks/trial_speed.py [--repeats 5] [--skip-large] [--device cuda]

With ``--device cuda`` everything (batches, weights, optimizer state) lives on the GPU, each epoch ends with a
synchronize, and one more implementation runs: ``qsearch_float_loop``, qsearch's float network with the fused
CUDA kernel switched off (the Python reference loop), which isolates what the kernel buys on the GPU.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from qsearch._norse import LIFFeedForwardState, lif_feed_forward_step
from qsearch.data import rate_encode
from qsearch.quant import QuantConfig
from qsearch.snn import NeuronSpec, SpikingMLP, SpikingNetwork, _dynamics, _fused, make_plan

SPEC = NeuronSpec(tau_mem_inv=200.0, tau_syn_inv=500.0)
QAT = QuantConfig(scheme="qat", weight_bits=(4, 4), membrane_bits=8, current_bits=8, param_bits=8,
                  rounding="nearest", timesteps=32)
CURRENT_RANGES = [4.0, 4.0]
LR = 5e-3

Batches = list[tuple[torch.Tensor, torch.Tensor]]
Step = Callable[[torch.Tensor, torch.Tensor], None]


def digits_batches(timesteps: int, batch_size: int, samples: int = 1437, seed: int = 0,
                   device: str = "cpu") -> Batches:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = torch.as_tensor(bunch.data, dtype=torch.float32) / 16.0
    y = torch.as_tensor(bunch.target, dtype=torch.int64)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))[:samples]
    spikes = rate_encode(x[order], timesteps, 1.0, torch.Generator().manual_seed(seed + 1))  # (N, T, 64) uint8
    return _batch(spikes, y[order], batch_size, device)


def random_batches(samples: int, features: int, classes: int, timesteps: int, batch_size: int,
                   rate: float = 0.1, seed: int = 0, device: str = "cpu") -> Batches:
    g = torch.Generator().manual_seed(seed)
    spikes = (torch.rand(samples, timesteps, features, generator=g) < rate).to(torch.uint8)
    return _batch(spikes, torch.randint(0, classes, (samples,), generator=g), batch_size, device)


def _batch(spikes: torch.Tensor, y: torch.Tensor, batch_size: int, device: str) -> Batches:
    # encoded once, float and time-major, on the device, so that no implementation pays for encoding or transfer
    return [(spikes[s:s + batch_size].to(torch.float32).transpose(0, 1).contiguous().to(device),
             y[s:s + batch_size].to(device)) for s in range(0, len(y), batch_size)]


class NorseSteps(nn.Module):
    """The textbook Norse network: a Python loop over timesteps, one ``lif_feed_forward_step`` per layer."""

    def __init__(self, reference: SpikingMLP) -> None:
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(w.shape[1], w.shape[0], bias=False) for w in reference.weights)
        with torch.no_grad():
            for layer, w in zip(self.layers, reference.weights, strict=True):
                layer.weight.copy_(w)
        self.p = SPEC.norse_parameters()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch = x.shape[1]
        states = [LIFFeedForwardState(v=x.new_zeros(batch, n), i=x.new_zeros(batch, n))
                  for n in (layer.out_features for layer in self.layers)]
        counts = x.new_zeros(batch, self.layers[-1].out_features)
        for t in range(x.shape[0]):
            h = x[t]
            for index, layer in enumerate(self.layers):
                h, states[index] = lif_feed_forward_step(layer(h), states[index], self.p, dt=SPEC.dt)
            counts = counts + h
        return counts


def snntorch_step(reference: SpikingMLP) -> Step | None:
    """snnTorch's Synaptic neuron (its nearest relative of Norse's LIF) per timestep; None if not importable."""
    try:
        import snntorch as snn
        from snntorch import surrogate
    except Exception:
        return None
    a_mem, a_syn = SPEC.constants().a_mem, SPEC.constants().a_syn
    linears = nn.ModuleList(nn.Linear(w.shape[1], w.shape[0], bias=False) for w in reference.weights)
    linears.to(reference.weights[0].device)
    with torch.no_grad():
        for layer, w in zip(linears, reference.weights, strict=True):
            layer.weight.copy_(w)
    neurons = [snn.Synaptic(alpha=1 - a_syn, beta=1 - a_mem, spike_grad=surrogate.fast_sigmoid(),
                            reset_mechanism="zero") for _ in linears]
    optimizer = torch.optim.Adam(linears.parameters(), lr=LR)

    def step(x: torch.Tensor, y: torch.Tensor) -> None:
        batch = x.shape[1]
        syn = [x.new_zeros(batch, layer.out_features) for layer in linears]
        mem = [x.new_zeros(batch, layer.out_features) for layer in linears]
        counts = x.new_zeros(batch, linears[-1].out_features)
        for t in range(x.shape[0]):
            h = x[t]
            for k, (layer, neuron) in enumerate(zip(linears, neurons, strict=True)):
                h, syn[k], mem[k] = neuron(layer(h), syn[k], mem[k])
            counts = counts + h
        _update(optimizer, F.cross_entropy(counts, y))

    return step


def _update(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def training_steps(reference: SpikingNetwork, norse: nn.Module, qat: QuantConfig = QAT,
                   current_ranges: list[float] = CURRENT_RANGES, lr: float = LR) -> dict[str, Step]:
    """One Adam step each for the Norse reference module, qsearch float and qsearch QAT, from the same weights."""
    norse_opt = torch.optim.Adam(norse.parameters(), lr=lr)
    float_model = copy.deepcopy(reference)
    float_opt = torch.optim.Adam(float_model.parameters(), lr=lr)
    qat_model = copy.deepcopy(reference)
    qat_opt = torch.optim.Adam(qat_model.parameters(), lr=lr)
    device = reference.weights[0].device
    rounding_generator = torch.Generator(device=device).manual_seed(1)

    def norse_step(x: torch.Tensor, y: torch.Tensor) -> None:
        _update(norse_opt, F.cross_entropy(norse(x), y))

    def float_step(x: torch.Tensor, y: torch.Tensor) -> None:
        _update(float_opt, F.cross_entropy(float_model(x).logits, y))

    def qat_step(x: torch.Tensor, y: torch.Tensor) -> None:
        plan = make_plan(qat, qat_model.weights, qat_model.neuron.constants(), current_ranges, rounding_generator)
        _update(qat_opt, F.cross_entropy(qat_model(x, plan).logits, y))

    return {"norse_steps": norse_step, "qsearch_float": float_step, "qsearch_qat": qat_step}


def implementations(reference: SpikingMLP, with_snntorch: bool) -> dict[str, Step]:
    steps = training_steps(reference, NorseSteps(reference).to(reference.weights[0].device))
    if reference.weights[0].device.type == "cuda":
        steps["qsearch_float_loop"] = without_cuda_kernel(training_steps(reference, NorseSteps(reference))[
            "qsearch_float"])
    if with_snntorch:
        snn_step = snntorch_step(reference)
        if snn_step is None:
            print("snntorch_steps: skipped (snntorch is not importable)")
        else:
            steps["snntorch_steps"] = snn_step
    return steps


def without_cuda_kernel(step: Step) -> Step:
    """``step`` with the fused CUDA kernel switched off: the LIF recurrence runs the Python reference loop."""

    def looped(x: torch.Tensor, y: torch.Tensor) -> None:
        saved = _dynamics._IMPLEMENTATIONS["cuda"]
        _dynamics._IMPLEMENTATIONS["cuda"] = []
        try:
            step(x, y)
        finally:
            _dynamics._IMPLEMENTATIONS["cuda"] = saved

    return looped


def matmul_step(sizes: tuple[int, ...], rows: int, device: str = "cpu") -> Step:
    """Only the matmuls of one training step: forward H @ W^T, backward dW = G^T H and dH = G W (not for the input)."""
    g = torch.Generator().manual_seed(0)
    hs = [torch.rand(rows, a, generator=g).to(device) for a in sizes[:-1]]
    ws = [torch.rand(b, a, generator=g).to(device) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    gs = [torch.rand(rows, b, generator=g).to(device) for b in sizes[1:]]

    def step(x: torch.Tensor, y: torch.Tensor) -> None:
        n = x.shape[0] * x.shape[1]
        for k, (h, w, grad) in enumerate(zip(hs, ws, gs, strict=True)):
            torch.mm(h[:n], w.t())
            torch.mm(grad[:n].t(), h[:n])
            if k > 0:
                torch.mm(grad[:n], w)

    return step


def _synchronize(batches: Batches) -> None:
    if batches[0][0].is_cuda:
        torch.cuda.synchronize()


def run_epoch(step: Step, batches: Batches) -> float:
    _synchronize(batches)
    start = time.perf_counter()
    for x, y in batches:
        step(x, y)
    _synchronize(batches)
    return time.perf_counter() - start


def interleaved_medians(steps: dict[str, Step], batches: Batches, repeats: int) -> dict[str, float]:
    """Median s/epoch of each step after one warm-up round, epochs interleaved round by round; prints them all."""
    times: dict[str, list[float]] = {name: [] for name in steps}
    for round_index in range(repeats + 1):
        for name, step in steps.items():
            seconds = run_epoch(step, batches)
            if round_index > 0:
                times[name].append(seconds)
    medians = {name: statistics.median(ts) for name, ts in times.items()}
    base = medians["norse_steps"]
    for name, ts in times.items():
        epochs = " ".join(f"{t:.4f}" for t in ts)
        print(f"{name:15s} s/epoch median {medians[name]:.4f}  x{base / medians[name]:5.2f} vs norse_steps  "
              f"[{epochs}]")
    return medians


def benchmark(title: str, sizes: tuple[int, ...], batches: Batches, repeats: int,
              with_snntorch: bool) -> dict[str, float]:
    torch.manual_seed(0)
    device = batches[0][0].device
    reference = SpikingMLP(sizes, SPEC, readout="spiking", weight_scale=2.0).to(device)
    steps = implementations(reference, with_snntorch)
    steps["matmul_bound"] = matmul_step(sizes, batches[0][0].shape[0] * batches[0][0].shape[1], str(device))
    samples = sum(int(y.shape[0]) for _, y in batches)
    print(f"== {title}: {'-'.join(map(str, sizes))} LIF, T={batches[0][0].shape[0]}, batch {batches[0][0].shape[1]}, "
          f"{samples} samples/epoch, {repeats} timed epochs after 1 warm-up, 1 thread, {device}")
    medians = interleaved_medians(steps, batches, repeats)
    bound = medians["matmul_bound"]
    print(f"qsearch_float is {medians['qsearch_float'] / bound:.2f}x the matmul-only bound "
          f"(qat {medians['qsearch_qat'] / bound:.2f}x, norse_steps {medians['norse_steps'] / bound:.2f}x)")
    return medians


def breakdown(sizes: tuple[int, ...], batches: Batches, plan_config: QuantConfig | None, label: str) -> None:
    """Milliseconds per batch of forward (incl. loss), backward and Adam for qsearch's network."""
    torch.manual_seed(0)
    model = SpikingMLP(sizes, SPEC, readout="spiking", weight_scale=2.0).to(batches[0][0].device)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    parts = {"plan": 0.0, "forward": 0.0, "backward": 0.0, "adam": 0.0}
    for repeat in range(2):
        for x, y in batches:
            _synchronize(batches)
            t0 = time.perf_counter()
            plan = (make_plan(plan_config, model.weights, model.neuron.constants(), CURRENT_RANGES)
                    if plan_config is not None else None)
            _synchronize(batches)
            t1 = time.perf_counter()
            loss = F.cross_entropy(model(x, plan).logits, y)
            _synchronize(batches)
            t2 = time.perf_counter()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            _synchronize(batches)
            t3 = time.perf_counter()
            optimizer.step()
            _synchronize(batches)
            t4 = time.perf_counter()
            if repeat == 1:
                for key, dt in zip(parts, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                    parts[key] += dt * 1e3 / len(batches)
    print(f"{label} ms/batch: " + ", ".join(f"{k} {v:.2f}" for k, v in parts.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed epochs per implementation (after a warm-up)")
    parser.add_argument("--skip-large", action="store_true", help="only the digits network")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"),
                        help="where the batches, networks and optimizers live (cuda: the LIF kernel is the CUDA one)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    device = args.device
    if device == "cuda":
        from qsearch.snn import _fused_cuda

        start = time.perf_counter()
        cuda_ok = _fused_cuda.is_available()
        built_cuda = _fused_cuda.CUDA_LIBRARY.build_seconds
        how_cuda = f"built in {built_cuda:.1f} s" if built_cuda else "cached or none"
        print(f"fused CUDA LIF kernel: {'available' if cuda_ok else 'UNAVAILABLE (Python loop)'} ({how_cuda}; "
              f"{time.perf_counter() - start:.2f} s) on {torch.cuda.get_device_name()}")

    start = time.perf_counter()
    available = _fused.is_available()
    built = _fused.CPU_LIBRARY.build_seconds
    how = f"built in {built:.1f} s" if built is not None else "loaded from the cache"
    print(f"fused LIF kernel: {'available' if available else 'UNAVAILABLE (Python loop)'}"
          f" ({how if available else 'see debug log'}; {time.perf_counter() - start:.2f} s)")
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}")

    digits = digits_batches(timesteps=32, batch_size=64, device=device)
    medians = benchmark("digits", (64, 128, 10), digits, args.repeats, with_snntorch=device == "cpu")
    breakdown((64, 128, 10), digits, None, "qsearch_float digits")
    breakdown((64, 128, 10), digits, QAT, "qsearch_qat digits")

    if not args.skip_large:
        large = random_batches(2048, 784, 10, timesteps=32, batch_size=64, device=device)
        benchmark("random spikes", (784, 512, 10), large, max(2, args.repeats // 2), with_snntorch=False)

    base = medians["norse_steps"]
    print(f"speedup_float_vs_norse_steps: {base / medians['qsearch_float']:.2f}")
    print(f"speedup_qat_vs_norse_steps: {base / medians['qsearch_qat']:.2f}")
    if "qsearch_float_loop" in medians:
        print(f"speedup_cuda_kernel_vs_python_loop: {medians['qsearch_float_loop'] / medians['qsearch_float']:.2f}")
    if "snntorch_steps" in medians:
        snntorch = medians["snntorch_steps"]
        print(f"snntorch_steps_s_per_epoch: {snntorch:.4f}")
        print(f"speedup_snntorch_vs_norse_steps: {base / snntorch:.2f}")
        print(f"speedup_float_vs_snntorch_steps: {snntorch / medians['qsearch_float']:.2f}")


if __name__ == "__main__":
    main()
