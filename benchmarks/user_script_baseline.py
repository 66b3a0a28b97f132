"""The script a user would write without qsearch: the anchor of ``benchmarks/time_to_front.py``.

Optuna NSGA-II over weight and membrane bit widths (and rounding), Norse's own step-by-step modules (``LIFCell``
hidden layer, ``LICell`` readout), fake quantization of the weights and the membrane with straight-through
gradients, every trial trained from scratch on the digits data (rate-coded, T = 16; or any qsearch data spec,
such as an ``npz`` of MNIST digits), no reuse of anything between trials. Objectives: validation accuracy (%)
and memory (KiB: quantized weights + membrane state + the float32 synaptic currents and neuron parameters this
script leaves unquantized, by qsearch's cost model so both sides are measured with one yardstick).

Run alone: ``python benchmarks/user_script_baseline.py --trials 20 --seed 0`` (``--seconds 900``: launch no trial
after 900 s of study time, the one running finishes — what a user with a fixed time budget would do).
"""

from __future__ import annotations

import argparse
import math
import time
import warnings
from collections.abc import Callable

import optuna
import torch

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from norse.torch import LICell, LIFCell, LIFParameters

from qsearch.cost import memory_breakdown
from qsearch.data import DigitsSpec
from qsearch.quant import QuantConfig
from qsearch.trial import trial_data

HIDDEN = 128
TIMESTEPS = 16
EPOCHS = 10
WEIGHT_BITS = [2, 3, 4, 5, 6]
MEMBRANE_BITS = [4, 6, 8, 10, 12]


def fake_quant(x: torch.Tensor, bits: int, stochastic: bool = False) -> torch.Tensor:
    """Symmetric power-of-two fixed point on max|x|, straight-through gradient."""
    scale = 2.0 ** torch.ceil(torch.log2(x.detach().abs().max().clamp_min(1e-8))) / 2 ** (bits - 1)
    y = x / scale
    y = torch.floor(y + torch.rand_like(y)) if stochastic else torch.round(y)
    y = y.clamp(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) * scale
    return x + (y - x).detach()


class Net(torch.nn.Module):
    def __init__(self, sizes: list[int], weight_bits: int, membrane_bits: int, stochastic: bool) -> None:
        super().__init__()
        self.fc1 = torch.nn.Linear(sizes[0], sizes[1], bias=False)
        self.fc2 = torch.nn.Linear(sizes[1], sizes[2], bias=False)
        self.lif, self.li = LIFCell(LIFParameters(alpha=torch.tensor(100.0))), LICell()
        self.wb, self.mb, self.stochastic = weight_bits, membrane_bits, stochastic

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (T, batch, inputs) spikes
        w1 = fake_quant(self.fc1.weight, self.wb, self.stochastic)
        w2 = fake_quant(self.fc2.weight, self.wb, self.stochastic)
        s1 = s2 = None
        out = []
        for xt in x:
            z, s1 = self.lif(xt @ w1.t(), s1)
            s1 = s1._replace(v=fake_quant(s1.v, self.mb))
            v, s2 = self.li(z @ w2.t(), s2)
            out.append(v)
        return torch.stack(out).max(0).values


def memory_kib(sizes: list[int], weight_bits: int, membrane_bits: int) -> float:
    config = QuantConfig(scheme="qat", weight_bits=(weight_bits,) * 2, membrane_bits=membrane_bits,
                         current_bits=32, param_bits=32, timesteps=TIMESTEPS)
    return memory_breakdown(sizes, config).total / 8192


def run(seed: int, n_trials: int, on_trial: Callable[[dict], None], epochs: int = EPOCHS,
        seconds: float | None = None, spec: object = None) -> None:
    """Run the study; ``on_trial`` gets ``{accuracy, memory_kib}`` after every trial. ``seconds``: no trial is
    launched after that much wall time (Optuna's ``timeout``; the running one finishes). ``spec``: a qsearch
    data spec (default digits); the same splits and spike code the qsearch study of that spec uses."""
    data = trial_data(spec or DigitsSpec(), TIMESTEPS)
    sizes = [math.prod(data.input_shape), HIDDEN, data.n_classes]

    def objective(trial: optuna.Trial) -> tuple[float, float]:
        wb = trial.suggest_categorical("weight_bits", WEIGHT_BITS)
        mb = trial.suggest_categorical("membrane_bits", MEMBRANE_BITS)
        stochastic = trial.suggest_categorical("rounding", ["nearest", "stochastic"]) == "stochastic"
        torch.manual_seed(seed)
        net = Net(sizes, wb, mb, stochastic)
        optimizer = torch.optim.Adam(net.parameters(), lr=5e-3)
        generator = torch.Generator().manual_seed(seed)
        for _ in range(epochs):
            for x, y in data.train.batches(64, generator=generator):
                loss = torch.nn.functional.cross_entropy(net(x), y)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        with torch.no_grad():
            correct = sum(int((net(x).argmax(1) == y).sum()) for x, y in data.validation.batches(512))
        accuracy = 100.0 * correct / len(data.validation)
        point = {"accuracy": accuracy, "memory_kib": memory_kib(sizes, wb, mb)}
        on_trial(point)
        return accuracy, point["memory_kib"]

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(directions=["maximize", "minimize"],
                                sampler=optuna.samplers.NSGAIISampler(population_size=16, seed=seed))
    study.optimize(objective, n_trials=n_trials, timeout=seconds)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--seconds", type=float, help="launch no trial after this many seconds")
    args = parser.parse_args()
    started = time.perf_counter()
    run(args.seed, args.trials, lambda p: print(f"{time.perf_counter() - started:7.1f}s {p}"), args.epochs,
        args.seconds)
