"""A non-spiking reference on the same splits: tells the user whether the float SNN under-trains.

The SNN baseline's accuracy alone does not say whether a data set is hard or the network learned poorly. A
classical model fitted on the same training split, scored on the same validation and test split, gives the
accuracy the data allows with little effort; an SNN far below it is under-trained (see docs/datasets.md).
Pure function of the splits; scikit-learn only.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field
from functools import lru_cache

import numpy as np

from qsearch.data import Splits
from qsearch.results import pack_correct

#: more samples than this are subsampled (stratified by seed) for the reference fit: it only has to be indicative
MAX_REFERENCE_SAMPLES = 10000


@dataclass(frozen=True)
class ReferenceResult:
    """Accuracies in percent of the reference model chosen on validation accuracy; ``n``: training samples.

    ``validation_correct``: which validation samples it got right (packed bits): the float SNN's check against
    it is paired (:mod:`qsearch.trial._baseline_check`). Not part of :meth:`as_dict` (what is shown)."""

    name: str
    validation: float
    test: float
    n: int
    validation_n: int = 0
    validation_correct: str = field(default="", repr=False)

    def as_dict(self) -> dict:
        shown = asdict(self)
        shown.pop("validation_correct")
        return shown


def _features(x) -> np.ndarray:
    """Samples as flat feature rows; event frames (N, T, ...) summed over time first."""
    array = np.asarray(x, dtype=np.float32)
    return array.reshape(len(array), -1)


def reference_accuracy(data: Splits, seed: int = 0) -> ReferenceResult:
    """Fit logistic regression and a one-hidden-layer MLP on ``data.train``; keep the better on validation."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    def rows(split) -> tuple[np.ndarray, np.ndarray]:
        x = split.x.sum(1) if data.has_time_axis else split.x
        return _features(x), split.y.numpy()

    x_train, y_train = rows(data.train)
    if len(y_train) > MAX_REFERENCE_SAMPLES:
        keep = np.random.default_rng(seed).choice(len(y_train), MAX_REFERENCE_SAMPLES, replace=False)
        x_train, y_train = x_train[keep], y_train[keep]
    x_val, y_val = rows(data.validation)
    x_test, y_test = rows(data.test)
    candidates = {
        "logistic_regression": LogisticRegression(max_iter=2000),
        "mlp_128": MLPClassifier(hidden_layer_sizes=(128,), max_iter=300, early_stopping=True, random_state=seed),
    }
    best: ReferenceResult | None = None
    for name, model in candidates.items():
        pipeline = make_pipeline(StandardScaler(), model)
        # one BLAS thread: these small fits run 10-20x faster than with a thread per core under load
        with warnings.catch_warnings(), threadpool_limits(1):
            warnings.simplefilter("ignore", ConvergenceWarning)
            pipeline.fit(x_train, y_train)
        right = pipeline.predict(x_val) == y_val
        result = ReferenceResult(name, 100 * float(right.mean()), 100 * float(pipeline.score(x_test, y_test)),
                                 len(y_train), validation_n=len(y_val), validation_correct=pack_correct(right))
        if best is None or result.validation > best.validation:
            best = result
    assert best is not None
    return best


@lru_cache(maxsize=4)
def study_reference(spec, timesteps: int, seed: int) -> tuple[float, ReferenceResult]:
    """Chance (the majority class on validation) and the reference of a study's data, fitted once per process
    (the tuning and the baseline trial both judge against it; ``spec`` is a frozen dataset spec: hashable)."""
    from qsearch.trial._input_cache import trial_splits

    splits = trial_splits(spec, timesteps)
    return chance_accuracy(splits.validation.y.numpy()), reference_accuracy(splits, seed=seed)


def chance_accuracy(labels) -> float:
    """Percent accuracy of always answering the most frequent class."""
    counts = np.bincount(np.asarray(labels, dtype=np.int64))
    return 100 * float(counts.max()) / max(int(counts.sum()), 1)


__all__ = ["ReferenceResult", "chance_accuracy", "reference_accuracy", "study_reference"]
