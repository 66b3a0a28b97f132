"""What the benchmarks that train a shipped study file on other data share: ``--set`` overrides, and one row of
the float baseline beside the non-spiking reference on the same split."""

from __future__ import annotations

import time

import yaml


def shape_signals(n: int = 5000, features: int = 40, classes: int = 10, seed: int = 0):
    """(x, y): signals whose class is their frequency, at random phase, amplitude (x0.2 to x5) and offset, with
    noise. The class is in the shape, not the amplitude, and about half the values are negative: a plain MLP
    separates them, min-max scaled spike counts of the defaults do not (a set made hard for the defaults)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    rng.shuffle(y)
    t = np.linspace(0, 1, features, endpoint=False)
    amplitude = np.exp(rng.uniform(np.log(0.2), np.log(5.0), n))[:, None]
    x = amplitude * np.sin(2 * np.pi * (1.0 + 0.6 * y)[:, None] * t + rng.uniform(0, 2 * np.pi, n)[:, None])
    x += rng.normal(0, 1.0, n)[:, None] + rng.normal(0, 0.5, x.shape) * amplitude
    return x.astype(np.float32), y.astype(np.int64)


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


#: the columns :func:`tuned_baseline_row` fills, after the caller's own (study, set, seed, ...)
TUNED_COLUMNS = "tune | snn_val | snn_test | ref | ref_val | ref_test | gap_test | share_val | short | trials | tune_s"


def tuned_baseline_row(study, seed: int, when: str, folder) -> str:
    """Settle ``study``'s float baseline as ``qsearch run`` does with ``baseline.tune.when: when`` (on a fresh
    SQLite file in ``folder``), then judge the settled network against the reference on the same split; the
    cells of :data:`TUNED_COLUMNS` (``tune_s`` excludes a float training this process has already cached)."""
    import optuna

    from qsearch.execution._baseline import settle_baseline
    from qsearch.search import baseline_config, open_study
    from qsearch.studyfile import study_with_settings
    from qsearch.trial import check_baseline, run_trial, study_reference

    study = study_with_settings(study, {"baseline.tune.when": when})
    url = f"sqlite:///{folder}/tune-{when}-{seed}-{time.time_ns()}.db"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    main = open_study(study, url, "bench")
    started = time.perf_counter()
    settled = settle_baseline(main, study)
    tune_s = time.perf_counter() - started
    tuned = settled.study_file
    outcome = settled.outcome or run_trial(tuned, baseline_config(tuned))
    chance, reference = study_reference(tuned.dataset, tuned.baseline_timesteps(), tuned.training.seed)
    check = check_baseline(outcome.validation_correct, reference, chance, tuned.baseline.min_reference_share)
    record = settled.record or {}
    return (f"{when} | {outcome.validation_accuracy:.1f} | {outcome.test_accuracy:.1f} | {reference.name} | "
            f"{reference.validation:.1f} | {reference.test:.1f} | {reference.test - outcome.test_accuracy:+.1f} | "
            f"{check.share if check else float('nan'):.2f} | {check.short if check else '-'} | "
            f"{record.get('trials', 0)} | {tune_s:.0f}")
