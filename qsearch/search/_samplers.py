"""Samplers from the study file — Optuna's own, seeded; NSGA-II unless the file says otherwise."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import optuna

from qsearch.errors import InputError
from qsearch.search._distinct import distinct
from qsearch.search._initial import initial_design
from qsearch.search._space import grid_search_space
from qsearch.studyfile import StudyFile


class BaselineTolerantGridSampler(optuna.samplers.GridSampler):
    """Optuna's grid sampler, told that the enqueued float baseline is no grid point.

    ``GridSampler.after_trial`` looks up the finished trial's ``grid_id`` when one grid point is left, and an
    enqueued trial has none: a study whose grid has one point (or one left when the baseline ends) failed with
    ``KeyError: 'grid_id'``. The baseline's end now leaves the grid as it is; grid trials end as before.
    """

    def after_trial(self, study: optuna.Study, trial: optuna.trial.FrozenTrial, state: optuna.trial.TrialState,
                    values: Sequence[float] | None) -> None:
        if "grid_id" not in trial.system_attrs:
            return
        super().after_trial(study, trial, state, values)


def sampler_seed(seed: int | None, worker_offset: int = 0) -> int | None:
    """The study file's seed plus the worker's offset: workers with one seed would all propose the same
    configurations. Offset 0 (a single process, worker 0) keeps the file's seed, so that stays reproducible."""
    return None if seed is None else (seed + worker_offset) % 2**32


def make_sampler(study: StudyFile, worker_offset: int = 0) -> optuna.samplers.BaseSampler:
    """The study file's sampler, seeded for one worker (``worker_offset``: see :func:`sampler_seed`), behind its
    initial design (``sampler.initial_design``); with ``sampler.distinct`` it never proposes an evaluated point
    again."""
    sampler = initial_design(optuna_sampler(study, worker_offset), study)
    seed = sampler_seed(study.sampler.seed, worker_offset)
    return distinct(sampler, seed=seed) if study.sampler.distinct else sampler


def optuna_sampler(study: StudyFile, worker_offset: int = 0) -> optuna.samplers.BaseSampler:
    """Optuna's sampler of ``sampler.kind``, as configured (without the distinct wrapper)."""
    cfg = study.sampler
    seed = sampler_seed(cfg.seed, worker_offset)
    with warnings.catch_warnings():
        # GP and NSGA-III are marked experimental in some Optuna releases; the choice is the user's
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if cfg.kind == "nsga2":
            return optuna.samplers.NSGAIISampler(population_size=cfg.population_size, mutation_prob=cfg.mutation_prob,
                                                 crossover_prob=cfg.crossover_prob, seed=seed)
        if cfg.kind == "nsga3":
            return optuna.samplers.NSGAIIISampler(population_size=cfg.population_size,
                                                  mutation_prob=cfg.mutation_prob,
                                                  crossover_prob=cfg.crossover_prob, seed=seed)
        if cfg.kind == "tpe":
            return optuna.samplers.TPESampler(n_startup_trials=cfg.n_startup_trials, seed=seed)
        if cfg.kind == "gp":
            return optuna.samplers.GPSampler(n_startup_trials=cfg.n_startup_trials, seed=seed)
        if cfg.kind == "random":
            return optuna.samplers.RandomSampler(seed=seed)
        if cfg.kind == "grid":
            return BaselineTolerantGridSampler(grid_search_space(study), seed=seed)
    raise InputError(f"sampler.kind: {cfg.kind!r} is unknown; allowed: nsga2, nsga3, tpe, gp, random, grid")
