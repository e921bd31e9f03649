"""Fusing dense similarity and keyword relevance into one absolute score per candidate.

Both components are mapped to [0, 1] without looking at the other candidates: cosine
similarity is clipped at 0, and BM25 is saturated as ``bm25 / (bm25 + K)`` (K = 7). They are then
combined by a weighted noisy-OR, ``1 - (1 - d)^(2(1-w)) (1 - k)^(2w)`` (``w`` the keyword
weight; at 0.5: ``1 - (1 - d)(1 - k)``), so either signal alone can carry a match: a memory
with cosine 0.8 to the query and no shared word scores 0.8, as mem0 users expect of a
``threshold``, and an unrelated one stays near its low cosine. The score means the same for
every query and scope. ``fusion="weighted_sum"`` keeps the earlier ``(1 - w) d + w k`` with
K = 10 (where such a match scores 0.4). bench/locomo.py compares the two on LoCoMo in one run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: BM25 value that maps to 0.5, per fusion: about the median best keyword score of a relevant
#: match (10, the weighted sum's); the noisy-OR's 7 was the best of 5/7/10/15/20 on LoCoMo dev.
KEYWORD_HALF = {"noisy_or": 7.0, "weighted_sum": 10.0}


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


def fuse(
    dense: np.ndarray, keyword: np.ndarray, keyword_weight: float, mode: str = "noisy_or"
) -> Fused:
    """Clipped cosine similarity and saturated BM25, combined (see the module docstring)."""
    dense = dense.astype(np.float64)
    keyword = keyword.astype(np.float64)
    dense_norm = np.clip(dense, 0.0, 1.0)
    keyword_norm = keyword / (keyword + KEYWORD_HALF[mode])
    if mode == "weighted_sum":
        fused = (1.0 - keyword_weight) * dense_norm + keyword_weight * keyword_norm
    else:
        miss = (1.0 - dense_norm) ** (2.0 * (1.0 - keyword_weight))
        fused = 1.0 - miss * (1.0 - keyword_norm) ** (2.0 * keyword_weight)
    return Fused(dense, keyword, dense_norm, keyword_norm, fused)


def top(
    scores: np.ndarray, limit: int, threshold: float | None, tiebreak: np.ndarray | None = None
) -> np.ndarray:
    """Indices of the best ``limit`` scores at or above ``threshold``.

    Ties are broken by ``tiebreak`` (higher first; the raw dense similarity, which keeps an
    order among candidates whose clipped scores are all 0), then by input order.
    """
    if scores.size == 0:
        return np.zeros(0, dtype=np.int64)
    candidates = np.arange(scores.size)
    if threshold is not None:
        candidates = candidates[scores >= threshold]
    second = np.zeros(scores.size) if tiebreak is None else tiebreak
    order = np.lexsort((candidates, -second[candidates], -scores[candidates]))
    return candidates[order[:limit]]
