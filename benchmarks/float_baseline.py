"""What the benchmarks that train a shipped study file on other data share: ``--set`` overrides, and one row of
the float baseline beside the non-spiking reference on the same split."""

from __future__ import annotations

import time

import yaml


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """``data`` (a study file's mapping) with each ``dotted.key=value`` set, the value parsed as YAML."""
    for item in overrides:
        dotted, _, text = item.partition("=")
        *head, last = dotted.split(".")
        node = data
        for key in head:
            node = node.setdefault(key, {})
        node[last] = yaml.safe_load(text)
    return data


#: the columns :func:`baseline_row` fills, after the caller's own (study, set, seed, ...)
ROW_COLUMNS = "n_train | snn_val | snn_test | ref | ref_val | ref_test | gap_test | epochs | s"


def baseline_row(study, seed: int) -> str:
    """Train ``study``'s float baseline and fit the reference on its split; the cells of :data:`ROW_COLUMNS`
    (a baseline stopped as silent shows ``silent@<epoch>`` and no accuracy)."""
    from qsearch.search import baseline_config
    from qsearch.snn import SilentNetworkError
    from qsearch.trial import reference_accuracy, run_trial, trial_splits

    config = baseline_config(study)
    reference = reference_accuracy(trial_splits(study.dataset, config.timesteps), seed=seed)
    started = time.perf_counter()
    try:
        outcome = run_trial(study, config)
        snn = (outcome.validation_accuracy, outcome.test_accuracy, outcome.epochs_run)
    except SilentNetworkError as stop:
        snn = (float("nan"), float("nan"), f"silent@{stop.epoch}")
    return (f"{reference.n} | {snn[0]:.1f} | {snn[1]:.1f} | {reference.name} | {reference.validation:.1f} | "
            f"{reference.test:.1f} | {reference.test - snn[1]:+.1f} | {snn[2]} | {time.perf_counter() - started:.0f}")
