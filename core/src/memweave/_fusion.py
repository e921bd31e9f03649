"""Fusing dense similarity and keyword relevance into one score per candidate.

Each component is min-max normalised over the candidates of the query (the rows of one scope
after filters), then mixed by a weighted sum. On LoCoMo turns this 50/50 mix retrieved better
than either component alone and better than reciprocal-rank fusion.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class Fused:
    """Per-candidate scores: the raw components, their normalised forms, and the mix."""

    dense: np.ndarray
    keyword: np.ndarray
    dense_norm: np.ndarray
    keyword_norm: np.ndarray
    fused: np.ndarray

    def explain(self, i: int) -> dict[str, float]:
        return {
            "dense": float(self.dense[i]),
            "keyword": float(self.keyword[i]),
            "dense_norm": float(self.dense_norm[i]),
            "keyword_norm": float(self.keyword_norm[i]),
            "fused": float(self.fused[i]),
        }


def minmax(values: np.ndarray) -> np.ndarray:
    """Scale to [0, 1]; a constant vector maps to 1 where positive and 0 otherwise."""
    if values.size == 0:
        return values.astype(np.float64)
    lo, hi = float(values.min()), float(values.max())
    if hi - lo <= 1e-12:
        return np.full(values.shape, 1.0 if hi > 0 else 0.0)
    return (values - lo) / (hi - lo)


def fuse(dense: np.ndarray, keyword: np.ndarray, keyword_weight: float) -> Fused:
    """Weighted sum of min-max normalised dense and keyword scores."""
    dense = dense.astype(np.float64)
    keyword = keyword.astype(np.float64)
    dense_norm = minmax(dense)
    keyword_norm = minmax(keyword)
    fused = (1.0 - keyword_weight) * dense_norm + keyword_weight * keyword_norm
    return Fused(dense, keyword, dense_norm, keyword_norm, fused)


def top(scores: np.ndarray, limit: int, threshold: float | None) -> np.ndarray:
    """Indices of the best ``limit`` scores (ties keep input order), at or above ``threshold``."""
    if scores.size == 0:
        return np.zeros(0, dtype=np.int64)
    candidates = np.arange(scores.size)
    if threshold is not None:
        candidates = candidates[scores >= threshold]
    if candidates.size > limit:
        part = np.argpartition(-scores[candidates], limit - 1)[:limit]
        candidates = candidates[part]
    order = np.lexsort((candidates, -scores[candidates]))
    return candidates[order]
