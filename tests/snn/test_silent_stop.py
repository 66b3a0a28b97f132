"""The silent-network rule (Firmin, Boulet & Talbi 2024): the monitor's windows, grace and threshold, and the
stop raised from ``train`` end to end."""

from __future__ import annotations

import pytest
import torch

from qsearch.data import EncodedSplit
from qsearch.quant import QuantConfig
from qsearch.snn import (
    NeuronSpec,
    SilentNetworkError,
    SilentNetworkMonitor,
    SpikingMLP,
    TrainSettings,
    silent_count,
    train,
)


def _counts(*values: float) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32)


def test_silent_count_is_strictly_below_min_spikes() -> None:
    assert silent_count(_counts(0, 1, 2, 4.9, 5, 7), min_spikes=5) == 4
    assert silent_count(_counts(1, 1), min_spikes=1) == 0


def test_monitor_judges_only_completed_windows() -> None:
    monitor = SilentNetworkMonitor(min_spikes=1, max_silent_fraction=0.5, check_every=4)
    assert monitor.update(_counts(0, 0)) is False  # 2 of 4 samples: window not complete yet
    assert monitor.last_fraction == 0.0
    assert monitor.update(_counts(0, 0)) is True  # window of 4, all silent
    assert monitor.last_fraction == 1.0


def test_monitor_fraction_must_exceed_the_threshold() -> None:
    monitor = SilentNetworkMonitor(min_spikes=1, max_silent_fraction=0.5, check_every=4)
    assert monitor.update(_counts(0, 0, 3, 3)) is False  # exactly 50%: not above the threshold
    assert monitor.last_fraction == 0.5
    assert monitor.update(_counts(0, 0, 0, 3)) is True  # 75%
    assert monitor.last_fraction == 0.75


def test_monitor_windows_restart_after_each_check() -> None:
    monitor = SilentNetworkMonitor(min_spikes=2, max_silent_fraction=0.6, check_every=3)
    assert monitor.update(_counts(0, 0, 0)) is True  # window 1: 3/3 silent
    assert monitor.update(_counts(5, 5, 5)) is False  # window 2 counts only its own samples: 0/3
    assert monitor.last_fraction == 0.0
    assert monitor.update(_counts(1, 5)) is False  # window 3 incomplete
    assert monitor.update(_counts(5)) is False  # window 3: 1/3 silent
    assert monitor.last_fraction == pytest.approx(1 / 3)


def test_monitor_window_that_crosses_the_threshold_reports_silent() -> None:
    monitor = SilentNetworkMonitor(min_spikes=2, max_silent_fraction=0.6, check_every=3)
    assert monitor.update(_counts(1, 5)) is False
    assert monitor.update(_counts(1)) is True  # 2/3 > 0.6
    assert monitor.update(_counts(1, 1, 5)) is True  # 2/3 again in the next window


def test_monitor_ignores_the_grace_samples() -> None:
    monitor = SilentNetworkMonitor(min_spikes=1, max_silent_fraction=0.5, check_every=2, grace_samples=4)
    assert monitor.update(_counts(0, 0)) is False  # samples 1-2: grace
    assert monitor.update(_counts(0, 0)) is False  # samples 3-4: grace
    assert monitor.last_fraction == 0.0  # nothing judged yet
    assert monitor.update(_counts(0, 0)) is True  # samples 5-6: first judged window, all silent
    assert monitor.last_fraction == 1.0


def test_monitor_with_grace_does_not_count_grace_samples_in_the_first_window() -> None:
    monitor = SilentNetworkMonitor(min_spikes=1, max_silent_fraction=0.5, check_every=4, grace_samples=2)
    assert monitor.update(_counts(0, 0)) is False  # grace, silent
    assert monitor.update(_counts(3, 3)) is False  # 2 judged samples: window incomplete
    assert monitor.update(_counts(0, 3)) is False  # window 4 samples: 1 silent = 25%
    assert monitor.last_fraction == 0.25


def _random_split(n: int, seed: int, timesteps: int = 4) -> EncodedSplit:
    g = torch.Generator().manual_seed(seed)
    spikes = (torch.rand(n, timesteps, 64, generator=g) < 0.5).to(torch.uint8)
    return EncodedSplit(spikes, torch.randint(0, 10, (n,), generator=g))


QAT = QuantConfig(scheme="qat", weight_bits=(4, 4), membrane_bits=8, current_bits=8, param_bits=8)


@pytest.mark.parametrize("config", [QuantConfig(), QAT], ids=["float", "qat"])
def test_silent_network_stops_training_in_the_first_epoch(config: QuantConfig) -> None:
    torch.manual_seed(0)
    model = SpikingMLP([64, 16, 10], NeuronSpec(v_th=1e6))  # nothing can ever reach the threshold
    monitor = SilentNetworkMonitor(min_spikes=1, max_silent_fraction=0.5, check_every=8, grace_samples=0)
    with pytest.raises(SilentNetworkError) as info:
        train(model, config, _random_split(32, 0), _random_split(16, 1),
              TrainSettings(epochs=3, batch_size=8), monitor)
    error = info.value
    assert error.epoch == 0
    assert error.fraction == 1.0
    assert error.partial.stop_reason == "silent"
    assert error.partial.epochs_run == 1
    assert error.partial.validation_history == []  # stopped before the epoch's validation
    assert "silent network" in str(error)


def test_firing_network_is_not_stopped() -> None:
    torch.manual_seed(0)
    model = SpikingMLP([64, 16, 10], NeuronSpec(v_th=0.05), weight_scale=5.0)
    monitor = SilentNetworkMonitor(min_spikes=1, max_silent_fraction=0.5, check_every=8, grace_samples=0)
    result = train(model, QuantConfig(), _random_split(32, 0), _random_split(16, 1),
                   TrainSettings(epochs=1, batch_size=8), monitor)
    assert result.stop_reason == "completed"
    assert result.epochs_run == 1
    assert len(result.validation_history) == 1
    assert monitor.last_fraction <= 0.5


def test_grace_period_lets_a_quiet_start_train_on() -> None:
    torch.manual_seed(0)
    model = SpikingMLP([64, 16, 10], NeuronSpec(v_th=1e6))
    # grace covers the whole epoch of 32 samples, so the silent network completes it
    monitor = SilentNetworkMonitor(min_spikes=1, max_silent_fraction=0.5, check_every=8, grace_samples=32)
    result = train(model, QuantConfig(), _random_split(32, 0), _random_split(16, 1),
                   TrainSettings(epochs=1, batch_size=8), monitor)
    assert result.stop_reason == "completed"
