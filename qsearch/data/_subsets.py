"""Seeded, stratified index selection: subsample a split, or carve a validation split out of a train split.

Own implementation (largest-remainder class quotas) instead of scikit-learn's ``train_test_split`` because it
never fails on rare classes — small user arrays and quick ``limit_*`` studies have classes with one sample.
"""

from __future__ import annotations

import numpy as np

from qsearch.errors import InputError


def stratified_take(labels: np.ndarray, n_take: int, seed: int) -> np.ndarray:
    """Sorted indices of ``n_take`` samples whose class shares follow ``labels`` as near as integers allow."""
    labels = np.asarray(labels)
    n = len(labels)
    if not 0 <= n_take <= n:
        raise ValueError(f"n_take: {n_take} is outside 0..{n}")
    if n_take == 0:
        return np.zeros(0, dtype=np.int64)
    _, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    exact = counts * n_take / n
    quota = np.floor(exact).astype(np.int64)
    short = n_take - int(quota.sum())
    by_remainder = np.lexsort((np.arange(len(counts)), -(exact - quota)))
    quota[by_remainder[:short]] += 1
    rng = np.random.default_rng(seed)
    chosen = [rng.permutation(np.flatnonzero(inverse == k))[:q] for k, q in enumerate(quota)]
    return np.sort(np.concatenate(chosen)).astype(np.int64)


def limit_indices(labels: np.ndarray, limit: int | None, seed: int, field: str) -> np.ndarray:
    """All indices, or a stratified subsample of ``limit`` of them (``field`` names the setting in errors)."""
    n = len(labels)
    if limit is None or limit >= n:
        return np.arange(n, dtype=np.int64)
    if limit < 1:
        raise InputError(f"{field}: must be a positive number of samples, got {limit}")
    return stratified_take(labels, limit, seed)


def carve_validation(labels: np.ndarray, validation_fraction: float,
                     seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, validation) indices: a stratified ``validation_fraction`` of the samples, at least one each."""
    n = len(labels)
    if not 0 < validation_fraction < 1:
        raise InputError(f"validation_fraction: must be in (0, 1), got {validation_fraction}")
    if n < 2:
        raise InputError(f"validation_fraction: cannot carve a validation split from {n} training sample(s)")
    n_val = min(max(1, round(validation_fraction * n)), n - 1)
    val = stratified_take(labels, n_val, seed)
    return np.setdiff1d(np.arange(n), val), val


def three_way(labels: np.ndarray, validation_fraction: float, test_fraction: float,
              seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train, validation, test) indices of one labelled set: test first, then validation from the rest."""
    if not (0 < test_fraction < 1 and validation_fraction + test_fraction < 1):
        raise InputError("test_fraction: must be in (0, 1) with validation_fraction + test_fraction below 1, "
                         f"got {test_fraction} and {validation_fraction}")
    rest, test = carve_validation(labels, test_fraction, seed)
    share = validation_fraction / (1.0 - test_fraction)
    train, val = carve_validation(labels[rest], share, seed)
    return rest[train], rest[val], test
