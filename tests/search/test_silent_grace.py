"""The float baseline's silent-rule grace covers the same share of training when min_steps adds epochs.

A small data set trains many short epochs (min_steps); a grace of one such epoch is one or two optimizer
steps, and the float baseline of wine stopped as silent after 24 of 1,000 steps although, unstopped, it
recovered by step 40 and learned (benchmarks/real_data.py, mnist.yaml, seed 4).
"""

from __future__ import annotations

import math

import pytest
from study_fixtures import tiny_study_dict

from qsearch.search import baseline_config
from qsearch.snn import TrainResult
from qsearch.studyfile import parse_study
from qsearch.trial import _pipeline as _trial


def _float_grace(monkeypatch, min_steps: int) -> tuple[int, int, int]:
    """(grace samples of the float monitor, training samples, epochs trained) without training."""
    seen = {}

    def fake_train(model, config, train_data, validation_data, settings, monitor=None, on_epoch=None):
        seen.update(grace=monitor.grace_samples, n=len(train_data), epochs=settings.epochs)
        return TrainResult(epochs_run=settings.epochs)

    monkeypatch.setattr(_trial, "train", fake_train)
    monkeypatch.setattr(_trial, "_FLOAT_CACHE", {})
    study = parse_study(tiny_study_dict(training={"min_steps": min_steps},
                                        early_stopping={"silent": {"grace_epochs": 1.5, "check_every": 256}}))
    _trial.train_trial_model(study, baseline_config(study))
    return seen["grace"], seen["n"], seen["epochs"]


def test_grace_is_grace_epochs_when_training_is_not_stretched(monkeypatch):
    grace, n, epochs = _float_grace(monkeypatch, min_steps=0)
    assert epochs == 2 and grace == int(1.5 * n)


@pytest.mark.parametrize("stretch", [3, 10])
def test_grace_stretches_with_the_epochs_min_steps_adds(monkeypatch, stretch):
    _, n, _ = _float_grace(monkeypatch, min_steps=0)
    grace, n, epochs = _float_grace(monkeypatch, min_steps=2 * stretch * math.ceil(n / 32))
    assert epochs == 2 * stretch
    assert grace == int(1.5 * n * stretch)
