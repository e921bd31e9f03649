"""Context ranking (``ranking="context"``): the measured levers of bench/QUALITY_NOTES.md.

Scores every current row of a scope, in add order, with: the dense cosine blended with the
previous row's (a turn read in context), BM25 with ``k1 = 0.9, b = 0.4`` saturated at 20, a
dense path for close semantic matches without shared words, a small boost for rows mentioning
a time on questions about time, a lift toward a better-scoring neighbour row, and keyword
pseudo-relevance feedback. Every step keeps the score in [0, 1], so ``threshold`` still means
the same on every query. List questions ("which cities", "how many") skip the context steps.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ._keywords import bm25, query_terms
from .backends.base import ContextReader, ContextRows, Reader, Selection
from .errors import ConfigurationError

#: Weight of the previous row's vector in the context blend.
CONTEXT_WEIGHT = 0.5
#: BM25 parameters and the BM25 value mapped to 0.5 (tuned on LoCoMo dev half A, held on B).
K1, B, KEYWORD_HALF = 0.9, 0.4, 20.0
#: Cosines mapped linearly to [0, 1] by the dense path (silent at or below the low end).
DENSE_LOW, DENSE_HIGH = 0.65, 0.85
#: Noisy-OR weight of a time mention on a question about time.
TIME_BOOST = 0.05
#: Share of the gap to a better-scoring neighbour row that a row is lifted by.
NEIGHBOUR = 0.5
#: Pseudo-relevance feedback: expansion terms, from how many top rows, at what weight.
PRF_TERMS, PRF_DOCS, PRF_WEIGHT = 5, 5, 0.3

TIME_QUERY = re.compile(
    r"\b(when|how long|how many (days|weeks|months|years)|what (year|month|day|date|time)"
    r"|which (year|month|day|date)|in what (year|month)|since|ago|before|after)\b",
    re.IGNORECASE,
)
LIST_QUERY = re.compile(
    r"^\s*(what|which)\s+(\w+\s+)?(\w+s)\b(?<!\bis)(?<!\bwas)(?<!\bdoes)(?<!\bhas)"
    r"|\bhow many\b|\b(all|both|each|every)\b|\bwhat (are|were) (the|some|her|his|their)\b",
    re.IGNORECASE,
)
# Relative time words, read from a row's keyword terms (no extra column): absolute dates and
# month names are left out, since a stored observation date would make every row match.
_TIME_WORDS = (
    "yesterday today tonight tomorrow recently lately ago weekend "
    "monday tuesday wednesday thursday friday saturday sunday"
)
_TIME_TERMS = query_terms(_TIME_WORDS)


@dataclass(frozen=True, slots=True)
class Ranked:
    """Per-row scores of the context ranking, aligned with ``ContextRows.keys``."""

    score: np.ndarray
    cosine: np.ndarray  # the (blended) cosine: the tie-break
    raw_dense: np.ndarray
    keyword: np.ndarray  # BM25 including the feedback terms
    dense_path: np.ndarray
    time_boost: np.ndarray
    neighbour: np.ndarray  # what the neighbour lift added
    prf: np.ndarray  # the feedback part of ``keyword``

    def explain(self, i: int) -> dict[str, float]:
        return {
            "dense": float(self.raw_dense[i]),
            "context_dense": float(self.cosine[i]),
            "keyword": float(self.keyword[i]),
            "dense_path": float(self.dense_path[i]),
            "time_boost": float(self.time_boost[i]),
            "neighbour": float(self.neighbour[i]),
            "prf": float(self.prf[i]),
            "fused": float(self.score[i]),
        }


def context_rows(reader: Reader, selection: Selection, query: np.ndarray) -> ContextRows:
    """The selection's rows from a backend that can list them in context, else a clear error."""
    if not isinstance(reader, ContextReader):
        raise ConfigurationError(
            f'ranking="context" needs a backend whose reader has context_rows(); '
            f'{type(reader).__name__} does not (use the default ranking="standard")'
        )
    return reader.context_rows(selection, query)


def blend(dense: np.ndarray, prev_dot: np.ndarray, w: float = CONTEXT_WEIGHT) -> np.ndarray:
    """Cosine of the query with ``normalise(v_i + w v_(i-1))``, exactly, from the row cosines."""
    out = dense.astype(np.float64)
    if out.size > 1:
        norm = np.sqrt(np.maximum(1.0 + w * w + 2.0 * w * prev_dot[1:], 1e-12))
        out[1:] = (out[1:] + w * out[:-1]) / norm
    return out


def mentions(blobs: list[bytes]) -> np.ndarray:
    """1.0 for rows whose terms include a relative time word, else 0.0."""
    return _mentions(_Terms(blobs))


def _mentions(flat: _Terms) -> np.ndarray:
    return np.asarray(flat.counts(_TIME_TERMS).any(axis=1), dtype=np.float64)


class _Terms:
    """A scope's term blobs joined once, shared by the time mentions and the feedback pass."""

    def __init__(self, blobs: list[bytes]) -> None:
        self.n = len(blobs)
        self.flat = np.frombuffer(b"".join(blobs), dtype="<i8")
        lengths = np.fromiter((len(blob) >> 3 for blob in blobs), dtype=np.int64, count=self.n)
        self.lengths = lengths
        self.ends = np.cumsum(lengths)

    def counts(self, cand: np.ndarray) -> np.ndarray:
        """``[rows, len(cand)]`` term frequencies of the sorted unique ``cand`` terms."""
        if self.n == 0 or cand.size == 0 or self.flat.size == 0:
            return np.zeros((self.n, cand.size), dtype=np.int64)
        slot = np.searchsorted(cand, self.flat)
        slot[slot == cand.size] = 0
        hit = np.flatnonzero(cand[slot] == self.flat)
        doc = np.searchsorted(self.ends, hit, side="right")
        tf = np.bincount(doc * cand.size + slot[hit], minlength=self.n * cand.size)
        return tf.reshape(self.n, cand.size)


def rank(rows: ContextRows, query: str, terms: np.ndarray, keyword_weight: float) -> Ranked:
    """The context ranking of every row of ``rows`` for ``query`` (``terms`` its term ids)."""
    list_q = bool(LIST_QUERY.search(query))
    raw = rows.dense.astype(np.float64)
    cos = raw if list_q else blend(raw, rows.prev_dot)
    keyword = bm25(rows.blobs, terms, k1=K1, b=B)
    path = np.clip((cos - DENSE_LOW) / (DENSE_HIGH - DENSE_LOW), 0.0, 1.0)
    flat = _Terms(rows.blobs)
    timed = _mentions(flat) if TIME_QUERY.search(query) else np.zeros(raw.size)
    first = _score(cos, keyword, path, timed, keyword_weight, not list_q)
    extra = _feedback(rows.blobs, flat, terms, _best(first[0], cos, PRF_DOCS))
    total = keyword + extra
    score, lift = _score(cos, total, path, timed, keyword_weight, not list_q)
    return Ranked(score, cos, raw, total, path, TIME_BOOST * timed, lift, extra)


def _score(
    cos: np.ndarray,
    keyword: np.ndarray,
    path: np.ndarray,
    timed: np.ndarray,
    keyword_weight: float,
    neighbours: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Fusion with the dense path, then the time boost and the neighbour lift."""
    mixed = (1.0 - keyword_weight) * np.clip(cos, 0.0, 1.0) + keyword_weight * (
        keyword / (keyword + KEYWORD_HALF)
    )
    score = np.maximum(mixed, path)
    score = 1.0 - (1.0 - score) * (1.0 - TIME_BOOST * timed)
    lift = np.zeros_like(score)
    if neighbours and score.size > 1:
        near = np.zeros_like(score)
        near[1:] = score[:-1]
        near[:-1] = np.maximum(near[:-1], score[1:])
        lift = NEIGHBOUR * np.maximum(near - score, 0.0)
        score = score + lift
    return np.clip(score, 0.0, 1.0), lift


def _best(score: np.ndarray, tiebreak: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` best rows by score, then cosine, then add order."""
    order = np.lexsort((np.arange(score.size), -tiebreak, -score))
    return order[:k]


def _feedback(blobs: list[bytes], flat: _Terms, terms: np.ndarray, top: np.ndarray) -> np.ndarray:
    """Keyword pseudo-relevance feedback: BM25 of up to ``PRF_TERMS`` expansion terms.

    Candidates occur in at least two of the ``top`` rows and are not query terms; they are
    ranked by (top rows containing them) x idf over the scope.
    """
    n = len(blobs)
    seen: dict[int, int] = {}
    for i in top.tolist():
        for term in set(np.frombuffer(blobs[i], dtype="<i8").tolist()):
            seen[term] = seen.get(term, 0) + 1
    asked = set(terms.tolist())
    picked = sorted(t for t, c in seen.items() if c >= 2 and t not in asked)
    if not picked:
        return np.zeros(n)
    cand = np.array(picked, dtype=np.int64)
    in_top = np.array([seen[t] for t in picked], dtype=np.float64)
    tf = flat.counts(cand)
    df = np.count_nonzero(tf, axis=0)
    idf = np.log1p((n - df + 0.5) / (df + 0.5))
    best = np.argsort(-(in_top * idf), kind="stable")[:PRF_TERMS]
    tf, idf = tf[:, best], idf[best]
    # BM25 of the chosen terms, as _keywords.bm25 computes it, from the counts already made.
    norm = K1 * (1.0 - B + B * flat.lengths / ((flat.ends[-1] / n) or 1.0))
    gain: np.ndarray = (tf * ((K1 + 1.0) * idf) / (tf + norm[:, None])).sum(axis=1)
    return PRF_WEIGHT * gain
