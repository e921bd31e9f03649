"""The quality study's ranking: today's engine formula plus each lever, switchable one by one.

A :class:`Scope` holds one scope's rows in add order (stored text, vectors per embedding
variant, keyword blobs); :func:`rank` scores a query against it under a :class:`Levers` setting.
With ``Levers()`` (every lever off) the ranking is the engine's: clipped cosine and
``bm25 / (bm25 + 10)`` mixed 50/50, BM25 from :mod:`mnemoweave._keywords` over the scope's rows,
ties broken by raw cosine then add order.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np

from bench._quality_text import (
    LIST_QUERY,
    TIME_MENTION,
    TIME_QUERY,
    bigram_blob,
    bigram_query,
    query_entities,
    time_blob,
)
from mnemoweave._keywords import bm25, query_terms, terms_blob

CANDIDATES = 50  # rows a reranking stage (MMR, an oracle) looks at


@dataclass
class Scope:
    """One scope's rows in add order, with everything the levers read."""

    ids: list[str]
    texts: list[str]  # what is stored (and keyword-indexed)
    contents: list[str]  # the memory's own words (no observation timestamp), for time mentions
    vectors: dict[str, np.ndarray]  # embedding variant -> [n, dim] unit rows
    blobs: list[bytes] = field(default_factory=list)
    bigrams: list[bytes] = field(default_factory=list)
    timed: list[bytes] = field(default_factory=list)  # blobs + resolved relative dates
    mentions: np.ndarray = field(default_factory=lambda: np.zeros(0))
    prev_dot: np.ndarray = field(default_factory=lambda: np.zeros(0))  # v_i . v_(i-1), "turn"
    # The blobs joined, and where each row ends in them: what BM25's own pass builds, kept so
    # feedback does not rebuild it (an engine port shares them with the first BM25 pass).
    flat: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    ends: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __post_init__(self) -> None:
        if self.blobs and not self.flat.size:
            self.flat = np.frombuffer(b"".join(self.blobs), dtype="<i8")
            self.ends = np.cumsum([len(b) >> 3 for b in self.blobs])

    @classmethod
    def build(
        cls,
        ids: list[str],
        texts: list[str],
        contents: list[str],
        observed: list[datetime | None],
        vectors: dict[str, np.ndarray],
    ) -> Scope:
        blobs = [terms_blob(t) for t in texts]
        turn = vectors["turn"]
        prev_dot = np.zeros(len(texts))
        if len(texts) > 1:
            prev_dot[1:] = np.einsum("ij,ij->i", turn[1:], turn[:-1])
        return cls(
            ids=ids,
            texts=texts,
            contents=contents,
            vectors=vectors,
            blobs=blobs,
            bigrams=[bigram_blob(t) for t in texts],
            timed=[b + time_blob(c, o) for b, c, o in zip(blobs, contents, observed)],
            mentions=np.array([bool(TIME_MENTION.search(c)) for c in contents], dtype=np.float64),
            prev_dot=prev_dot,
        )


@dataclass(frozen=True)
class Levers:
    """One ranking configuration; the defaults reproduce today's engine."""

    embedding: str = "turn"  # which stored-vector variant the dense side reads
    fusion: str = "sum"  # sum | noisy_or | max_bonus
    keyword_weight: float = 0.5
    keyword_half: float = 10.0  # BM25 value mapped to 0.5
    dense_floor: float = 0.0  # cosine mapped to 0 (dense_norm = (cos - floor) / (1 - floor))
    bonus: float = 0.5  # max_bonus: weight of the weaker signal
    dense_path: tuple[float, float] | None = None  # (lo, hi): score >= (cos - lo) / (hi - lo)
    k1: float = 1.2
    b: float = 0.75
    bigrams: float = 0.0  # weight of bigram BM25 added to the keyword score
    entity: float = 1.0  # multiplier on the BM25 of the query's capitalised names
    entity_boost: float = 0.0  # added times the share of the query's names a row contains
    time_boost: float = 0.0  # added to rows mentioning a time, for questions about time
    time_resolve: bool = False  # resolved relative dates join the keyword terms
    prf_terms: int = 0  # keyword pseudo-relevance feedback: expansion terms
    prf_docs: int = 5
    prf_weight: float = 0.3
    prf_dense: bool = False  # feedback rows: the top by cosine (known before BM25) not by score
    dense_prf: float = 0.0  # Rocchio weight of the top prf_docs' mean vector
    neighbour: float = 0.0  # adds neighbour * max(score of previous row, next row)
    neighbour_mode: str = "max"  # max | mean | prev | next: which neighbours' scores
    neighbour_lift: bool = False  # score = max(own, neighbour * theirs) instead of a sum
    neighbour_gap: bool = False  # adds neighbour * (theirs - own) where theirs is higher
    dense_prev: float = 0.0  # search-time blend: cos(q, v_i + w * v_(i-1)), exactly ("turn")
    dense_neighbour: float = 0.0  # cosine smoothing: adds w * max(prev, next) cosine
    recency: float = 0.0  # adds recency * (position in add order / n)
    mmr: float = 1.0  # MMR lambda over the top CANDIDATES (1 = off)
    lists_plain: bool = False  # list questions ("which cities", "how many") skip context levers
    bounded: bool = False  # boosts combine noisy-OR style, keeping scores in [0, 1]

    def but(self, **changes: object) -> Levers:
        return replace(self, **changes)  # type: ignore[arg-type]


def _neighbours(values: np.ndarray, mode: str = "max") -> np.ndarray:
    """For each row, its neighbours' value: the previous, the next, their max or mean (0 past the
    ends)."""
    prev = np.zeros_like(values)
    nxt = np.zeros_like(values)
    if values.size > 1:
        prev[1:] = values[:-1]
        nxt[:-1] = values[1:]
    if mode == "max":
        return np.maximum(prev, nxt)
    if mode == "mean":
        return (prev + nxt) / 2
    if mode == "prev":
        return prev
    if mode == "next":
        return nxt
    raise ValueError(f"unknown neighbour mode {mode!r}")


def normalise(dense: np.ndarray, keyword: np.ndarray, lv: Levers) -> tuple[np.ndarray, np.ndarray]:
    """Both signals in [0, 1], each without looking at the other candidates."""
    d = dense.astype(np.float64)
    if lv.dense_floor:
        d = (d - lv.dense_floor) / (1.0 - lv.dense_floor)
    d = np.clip(d, 0.0, 1.0)
    k = keyword / (keyword + lv.keyword_half)
    return d, k


def fuse(d: np.ndarray, k: np.ndarray, lv: Levers, dense: np.ndarray | None = None) -> np.ndarray:
    """The absolute score from the two normalised signals.

    With ``dense_path`` the score is at least the raw cosine rescaled from (lo, hi) to (0, 1):
    a close semantic match scores high on its own, without shared keywords.
    """
    score = _mix(d, k, lv)
    if lv.dense_path is not None and dense is not None:
        lo, hi = lv.dense_path
        score = np.maximum(score, np.clip((dense - lo) / (hi - lo), 0.0, 1.0))
    return score


def _mix(d: np.ndarray, k: np.ndarray, lv: Levers) -> np.ndarray:
    w = lv.keyword_weight
    if lv.fusion == "sum":
        return (1.0 - w) * d + w * k
    if lv.fusion == "noisy_or":  # 1 - P(neither signal fires); weights as exponents
        return 1.0 - (1.0 - d) ** (2 * (1 - w)) * (1.0 - k) ** (2 * w)
    if lv.fusion == "max_bonus":  # the stronger signal plus a share of the weaker one's headroom
        hi, lo = np.maximum(d, k), np.minimum(d, k)
        return hi + lv.bonus * lo * (1.0 - hi)
    raise ValueError(f"unknown fusion {lv.fusion!r}")


def _keyword(scope: Scope, query: str, qterms: np.ndarray, lv: Levers) -> np.ndarray:
    blobs = scope.timed if lv.time_resolve else scope.blobs
    if lv.entity != 1.0:
        names = np.intersect1d(query_entities(query), qterms)
        rest = np.setdiff1d(qterms, names)
        score = bm25(blobs, rest, k1=lv.k1, b=lv.b)
        if names.size:
            score = score + lv.entity * bm25(blobs, names, k1=lv.k1, b=lv.b)
    else:
        score = bm25(blobs, qterms, k1=lv.k1, b=lv.b)
    if lv.bigrams:
        pairs = bigram_query(query)
        if pairs.size:
            score = score + lv.bigrams * bm25(scope.bigrams, pairs, k1=lv.k1, b=lv.b)
    return score


def _expansion(scope: Scope, top: np.ndarray, qterms: np.ndarray, lv: Levers) -> np.ndarray:
    """Keyword pseudo-relevance feedback: what the keyword side gains, in one pass over the terms.

    Candidates are the terms found in at least two of the top rows (query terms excluded); the
    ``prf_terms`` with the highest (top rows containing it) x idf are scored with BM25 over the
    scope, times ``prf_weight``.
    """
    n = len(scope.blobs)
    seen: dict[int, int] = {}
    for i in top.tolist():
        for term in set(np.frombuffer(scope.blobs[i], dtype="<i8").tolist()):
            seen[term] = seen.get(term, 0) + 1
    query = set(qterms.tolist())
    picked = sorted(t for t, c in seen.items() if c >= 2 and t not in query)
    if not picked:
        return np.zeros(n)
    cand = np.array(picked, dtype=np.int64)
    in_top = np.array([seen[t] for t in picked], dtype=np.float64)
    flat, ends = scope.flat, scope.ends
    slot = np.searchsorted(cand, flat)
    slot[slot == cand.size] = 0
    hit = np.flatnonzero(cand[slot] == flat)
    doc = np.searchsorted(ends, hit, side="right")
    tf = np.bincount(doc * cand.size + slot[hit], minlength=n * cand.size).reshape(n, cand.size)
    df = np.count_nonzero(tf, axis=0)
    idf = np.log1p((n - df + 0.5) / (df + 0.5))
    best = np.argsort(-(in_top * idf), kind="stable")[: lv.prf_terms]
    tf = tf[:, best]
    lengths = np.diff(ends, prepend=0)
    norm = lv.k1 * (1.0 - lv.b + lv.b * lengths / (ends[-1] / n))
    return lv.prf_weight * (tf * ((lv.k1 + 1.0) * idf[best]) / (tf + norm[:, None])).sum(axis=1)


def _share(blobs: list[bytes], terms: np.ndarray) -> np.ndarray:
    """For each row, the fraction of ``terms`` (unique, sorted) it contains."""
    flat = np.frombuffer(b"".join(blobs), dtype="<i8")
    ends = np.cumsum([len(b) >> 3 for b in blobs])
    slot = np.searchsorted(terms, flat)
    slot[slot == terms.size] = 0
    hit = np.flatnonzero(terms[slot] == flat)
    pairs = np.unique(np.searchsorted(ends, hit, side="right") * terms.size + slot[hit])
    return np.bincount(pairs // terms.size, minlength=len(blobs)) / terms.size


def _boosts(score: np.ndarray, scope: Scope, query: str, lv: Levers) -> np.ndarray:
    """Add the optional signals (each in [0, 1], times its weight) to the fused score.

    ``bounded`` adds each one noisy-OR style, ``1 - (1 - score) * (1 - w * signal)``, so the
    score stays in [0, 1] and keeps meaning the same for a threshold.
    """

    def add(score: np.ndarray, weight: float, signal: np.ndarray) -> np.ndarray:
        if lv.bounded:
            return 1.0 - (1.0 - score) * (1.0 - weight * signal)
        return score + weight * signal

    if lv.time_boost and TIME_QUERY.search(query):
        score = add(score, lv.time_boost, scope.mentions)
    if lv.entity_boost:
        names = query_entities(query)
        if names.size:
            score = add(score, lv.entity_boost, _share(scope.blobs, names))
    if lv.neighbour:
        near = _neighbours(score, lv.neighbour_mode)
        if lv.neighbour_lift:
            score = np.maximum(score, lv.neighbour * near)
        elif lv.neighbour_gap:
            score = score + lv.neighbour * np.maximum(near - score, 0.0)
        else:
            score = add(score, lv.neighbour, near)
    if lv.recency and score.size:
        score = add(score, lv.recency, np.arange(score.size) / score.size)
    return score


def score_rows(
    scope: Scope, query: str, qvec: np.ndarray, lv: Levers
) -> tuple[np.ndarray, np.ndarray]:
    """(final score, cosine) for every row of the scope; the cosine is the context-blended one
    when ``dense_prev`` is on, and it is what ties are broken by."""
    if lv.lists_plain and LIST_QUERY.search(query):
        lv = lv.but(neighbour=0.0, embedding="turn", dense_neighbour=0.0, dense_prev=0.0)
    vectors = scope.vectors[lv.embedding]
    dense = vectors @ qvec
    if lv.dense_prev:
        w = lv.dense_prev
        mixed = dense.astype(np.float64)
        mixed[1:] += w * dense[:-1]
        norm = np.sqrt(1.0 + w * w + 2.0 * w * scope.prev_dot)
        norm[0] = 1.0
        dense = (mixed / norm).astype(np.float32)
    if lv.dense_neighbour:
        dense = dense + lv.dense_neighbour * _neighbours(dense)
    qterms = query_terms(query)
    keyword = _keyword(scope, query, qterms, lv)
    score = _boosts(fuse(*normalise(dense, keyword, lv), lv, dense), scope, query, lv)
    if lv.prf_terms or lv.dense_prf:
        top = _best(dense if lv.prf_dense else score, dense, lv.prf_docs)
        if lv.dense_prf:
            shifted = qvec + lv.dense_prf * vectors[top].mean(axis=0)
            dense = vectors @ (shifted / np.linalg.norm(shifted)).astype(np.float32)
        if lv.prf_terms:
            keyword = keyword + _expansion(scope, top, qterms, lv)
        score = _boosts(fuse(*normalise(dense, keyword, lv), lv, dense), scope, query, lv)
    return score, dense


def _best(score: np.ndarray, tiebreak: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` best rows in :func:`order`'s order, without sorting the whole scope."""
    if score.size <= k:
        return order(score, tiebreak)
    part = np.argpartition(-score, k - 1)[:k]
    cut = score[part].min()
    near = np.flatnonzero(score >= cut)  # ties at the cut are settled by the full rule
    return near[order(score[near], tiebreak[near])][:k]


def order(score: np.ndarray, tiebreak: np.ndarray) -> np.ndarray:
    """Row indices by score, then cosine, then add order (the engine's tie rule)."""
    idx = np.arange(score.size)
    return np.lexsort((idx, -tiebreak.astype(np.float64), -score))


def mmr(scope: Scope, ranked: np.ndarray, score: np.ndarray, lv: Levers, k: int) -> np.ndarray:
    """Greedy maximal marginal relevance over the top CANDIDATES: lambda*score - (1-lambda)*sim."""
    pool = ranked[:CANDIDATES]
    vectors = scope.vectors[lv.embedding][pool]
    sims = vectors @ vectors.T
    rel = score[pool]
    chosen: list[int] = []
    closest = np.full(pool.size, -np.inf)
    free = np.ones(pool.size, dtype=bool)
    for _ in range(min(k, pool.size)):
        value = lv.mmr * rel - (1.0 - lv.mmr) * (closest if chosen else 0.0)
        value[~free] = -np.inf
        pick = int(np.argmax(value))
        chosen.append(pick)
        free[pick] = False
        closest = np.maximum(closest, sims[pick])
    picked = pool[chosen]
    return np.concatenate([picked, ranked[~np.isin(ranked, picked)]])


def rank(scope: Scope, query: str, qvec: np.ndarray, lv: Levers, k: int) -> list[str]:
    """The ids of the best ``k`` rows under ``lv``."""
    score, dense = score_rows(scope, query, qvec, lv)
    ranked = order(score, dense)
    if lv.mmr < 1.0:
        ranked = mmr(scope, ranked, score, lv, k)
    return [scope.ids[i] for i in ranked[:k]]
