"""Where a study keeps its finalists' confirmations, and the paired evidence read back from them.

A confirmation (:mod:`qsearch.confirm`) retrains the float baseline and each finalist on every
cross-validation fold. Each (subject, fold) result is one study user attribute, written once as it finishes:
``qsearch_confirm:<protocol>:<subject>:<fold>`` with ``subject`` a trial number or ``baseline`` and
``protocol`` naming the folds (``cv5s0``: 5 folds cut with seed 0). One attribute is one write, so an
interrupted confirmation leaves only whole results, and the next one resumes after them. Study attributes
(unlike a finished trial's) stay writable, and optuna-dashboard lists them with the study.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import optuna

from qsearch.record import keys
from qsearch.record._retry import call_with_retry
from qsearch.results import PairedDrop, fraction_correct, paired_drop_of_fractions

BASELINE_SUBJECT = keys.CONFIRMATION_BASELINE
#: a fold result's status: trained and scored, or the retrained network stopped (scored as all wrong)
OK = "ok"


def protocol_id(folds: int, seed: int) -> str:
    """The name of one way of cutting folds: results of another protocol are never pooled with these."""
    return f"cv{folds}s{seed}"


def fold_key(protocol: str, subject: int | str, fold: int) -> str:
    return f"{keys.CONFIRMATION_PREFIX}:{protocol}:{subject}:{fold}"


def write_fold_result(study: optuna.Study, protocol: str, subject: int | str, fold: int,
                      result: Mapping[str, Any]) -> None:
    """Store one (subject, fold) result: ``correct`` (packed per draw), ``n``, ``status``, ``duration_s``."""
    call_with_retry(study.set_user_attr, fold_key(protocol, subject, fold), dict(result))


def fold_results(attrs: Mapping[str, Any], protocol: str) -> dict[str, dict[int, dict[str, Any]]]:
    """Subject -> fold -> stored result, for one protocol."""
    prefix = f"{keys.CONFIRMATION_PREFIX}:{protocol}:"
    found: dict[str, dict[int, dict[str, Any]]] = {}
    for key, value in attrs.items():
        if not key.startswith(prefix) or not isinstance(value, dict):
            continue
        subject, _, fold = key[len(prefix):].rpartition(":")
        if fold.isdigit():
            found.setdefault(subject, {})[int(fold)] = value
    return found


def _fractions(result: Mapping[str, Any]) -> np.ndarray:
    n = int(result["n"])
    if result.get("status") != OK:  # a retrained network that went silent or diverged: nothing right
        return np.zeros(n)
    return fraction_correct(result["correct"], n)


def confirmed_drops(attrs: Mapping[str, Any], protocol: str, folds: int) -> dict[int, PairedDrop]:
    """Trial number -> its drop pooled over all ``folds`` (only trials with every fold, and a baseline with
    every fold): the samples of all folds together, each paired with the baseline retrained on the same fold."""
    results = fold_results(attrs, protocol)
    baseline = results.get(BASELINE_SUBJECT, {})
    if any(fold not in baseline or baseline[fold].get("status") != OK for fold in range(folds)):
        return {}
    drops: dict[int, PairedDrop] = {}
    for subject, by_fold in results.items():
        if subject == BASELINE_SUBJECT or not subject.isdigit() or any(f not in by_fold for f in range(folds)):
            continue
        if any(int(by_fold[f]["n"]) != int(baseline[f]["n"]) for f in range(folds)):
            continue  # scored other samples than the baseline: not pairable
        float_right = np.concatenate([_fractions(baseline[f]) for f in range(folds)])
        right = np.concatenate([_fractions(by_fold[f]) for f in range(folds)])
        drops[int(subject)] = paired_drop_of_fractions(float_right, right)
    return drops

