"""Input scaling for your own arrays: fitted on the training split only, applied to every split.

Rate and latency encoders read intensities as probabilities in [0, 1]. Images arrive in one common unit
(0..255, 0..16) and keep their relative brightness under one global divisor; tabular features arrive in
unrelated units (wine: proline ~1,000, hue ~1), and one global divisor leaves all but the largest feature
near zero — silent inputs. Per-feature min-max scaling gives each feature the full [0, 1] range. Fitting
on the training split alone keeps the validation and test splits unseen; their values outside the fitted
range are clipped into [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

Scaling = Literal["auto", "feature", "global", "none"]


@dataclass(frozen=True)
class FittedScaling:
    """``(x - low) / span`` clipped to [0, 1]; ``low``/``span`` are scalars (global) or per feature."""

    kind: str
    low: np.ndarray
    span: np.ndarray

    def apply(self, x: np.ndarray) -> np.ndarray:
        if self.kind == "none":
            return np.asarray(x, dtype=np.float32)
        scaled = (np.asarray(x, dtype=np.float64) - self.low) / self.span
        return np.clip(scaled, 0.0, 1.0).astype(np.float32)

    def describe(self) -> dict:
        """What was fitted, for the study's records (per-feature arrays as lists)."""
        return {"kind": self.kind, "low": np.asarray(self.low).tolist(), "span": np.asarray(self.span).tolist()}


def resolve_scaling(kind: Scaling, x_train: np.ndarray) -> str:
    """``auto``: per feature for tabular samples (2-D) whose features are not already in [0, 1], global for
    images (N, C, H, W) and for features already in [0, 1] (a divisor of 1: left as they are)."""
    if kind != "auto":
        return kind
    if x_train.ndim == 2 and x_train.size and (x_train.min() < 0 or x_train.max() > 1):
        return "feature" if _units_differ(x_train) else "global"
    return "global"


def _units_differ(x_train: np.ndarray) -> bool:
    """Whether the features' ranges differ by more than 10x (between their 10th and 90th percentile):
    tabular features in unrelated units; pixels of one image format share one range."""
    spans = x_train.max(0) - x_train.min(0)
    spans = spans[spans > 0]
    if spans.size < 2:
        return False
    low, high = np.percentile(spans, [10, 90])
    return bool(high > 10 * low or x_train.min() < 0)


def fit_scaling(kind: Scaling, x_train: np.ndarray) -> FittedScaling:
    """The scaling of ``kind`` fitted on the training samples ``x_train`` (N, *shape).

    ``global``: divide by the largest training value when it exceeds 1 (shift by the minimum when negative);
    ``feature``: each feature's training min and max map to 0 and 1 (a constant feature becomes 0).
    """
    resolved = resolve_scaling(kind, x_train)
    x = np.asarray(x_train, dtype=np.float64)
    if resolved == "none" or not x.size:
        return FittedScaling("none", np.zeros(()), np.ones(()))
    if resolved == "feature":
        low, high = x.min(0), x.max(0)
        span = np.where(high > low, high - low, 1.0)
        return FittedScaling("feature", low, span)
    low = min(float(x.min()), 0.0)
    high = float(x.max())
    span = high - low if high - low > 1.0 or low < 0 else 1.0
    return FittedScaling("global", np.asarray(low), np.asarray(span if span > 0 else 1.0))


__all__ = ["FittedScaling", "Scaling", "fit_scaling", "resolve_scaling"]
