"""Samplers from the study file — Optuna's own, seeded; NSGA-II unless the file says otherwise."""

from __future__ import annotations

import warnings

import optuna

from qsearch.search._distinct import distinct
from qsearch.search._space import grid_search_space
from qsearch.search._workers import worker_seed
from qsearch.studyfile import StudyFile


def make_sampler(study: StudyFile) -> optuna.samplers.BaseSampler:
    """The study file's sampler; with ``sampler.distinct`` it never proposes an evaluated point again."""
    sampler = optuna_sampler(study)
    return distinct(sampler, seed=worker_seed(study.sampler.seed)) if study.sampler.distinct else sampler


def optuna_sampler(study: StudyFile) -> optuna.samplers.BaseSampler:
    """Optuna's sampler of ``sampler.kind``, as configured (without the distinct wrapper)."""
    cfg = study.sampler
    seed = worker_seed(cfg.seed)  # per-worker offset: parallel workers do not repeat each other
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
            return optuna.samplers.GridSampler(grid_search_space(study), seed=seed)
    raise ValueError(f"sampler.kind: {cfg.kind!r} is unknown; allowed: nsga2, nsga3, tpe, gp, random, grid")
