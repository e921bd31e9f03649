"""Search orchestration: embed the query, let the backend score the selection, fuse, cut.

The backend returns dense and keyword components for every row of the scope (exactly, never
an approximate global index); fusion, the threshold and the limit are the engine's, so a
score means the same on every backend.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import numpy as np

from ._fusion import Fused, fuse, top
from ._keywords import query_terms
from ._ranking import Ranked, context_rows, rank
from ._rerank import apply_rerank, rerank_pool
from .backends.base import AsyncReads, Scored, Selection
from .types import MemoryItem

if TYPE_CHECKING:
    from ._engine import Engine


def search(
    engine: Engine,
    query: str,
    selection: Selection,
    *,
    limit: int,
    threshold: float | None,
    keyword_weight: float,
    explain: bool,
    rerank: bool = False,
) -> list[MemoryItem]:
    """The best ``limit`` memories of ``selection`` for ``query``, scored, best first.

    With ``rerank`` the best ``rerank_top_k`` first-stage results go to the reranker, which
    orders them (outside the read transaction: it may be a network call).
    """
    pool = rerank_pool(engine.reranker, rerank, limit, engine.config.rerank_top_k)
    qvec = engine.embed_query(query)
    terms = query_terms(query)
    scores: Fused | Ranked
    with engine.backend.read() as reader:
        if engine.config.ranking == "context" and selection.as_of is None:
            rows = context_rows(reader, selection, qvec)
            scores = rank(rows, query, terms, keyword_weight)
            chosen = top(scores.score, pool, threshold, scores.cosine)
            items = reader.items([int(k) for k in rows.keys[chosen]], None)
            final = scores.score
        else:
            scored = reader.score(selection, qvec, terms)
            scores, chosen, keys, versions = _cut(engine, scored, pool, threshold, keyword_weight)
            items = reader.items(keys, versions)
            final = scores.fused
    _annotate(items, chosen, final, scores, explain)
    if rerank:
        items = apply_rerank(engine.reranker, query, items, limit, engine.config.rerank_fallback)
    return items


def native_async(engine: Engine, *, search: bool = False) -> AsyncReads | None:
    """The backend, when its async reads can serve the running loop (for a ``search``: with
    standard ranking; ``ranking="context"`` reads run in a thread)."""
    backend = engine.backend
    if search and engine.config.ranking == "context":
        return None
    if isinstance(backend, AsyncReads) and backend.serves_async():
        return backend
    return None


async def asearch(
    engine: Engine,
    backend: AsyncReads,
    query: str,
    selection: Selection,
    *,
    limit: int,
    threshold: float | None,
    keyword_weight: float,
    explain: bool,
    rerank: bool = False,
) -> list[MemoryItem]:
    """:func:`search` on a backend's async pool (standard ranking; see ``native_async``).

    The statements run on the loop; only a local embedder's or reranker's CPU work goes to
    a thread.
    """
    pool = rerank_pool(engine.reranker, rerank, limit, engine.config.rerank_top_k)
    qvec = await engine.aembed_query(query)
    terms = query_terms(query)
    async with backend.aread() as reader:
        scored = await reader.score(selection, qvec, terms)
        scores, chosen, keys, versions = _cut(engine, scored, pool, threshold, keyword_weight)
        items = await reader.items(keys, versions)
    _annotate(items, chosen, scores.fused, scores, explain)
    if rerank:
        items = await asyncio.to_thread(
            apply_rerank, engine.reranker, query, items, limit, engine.config.rerank_fallback
        )
    return items


def _cut(
    engine: Engine, scored: Scored, pool: int, threshold: float | None, keyword_weight: float
) -> tuple[Fused, np.ndarray, list[int], list[int] | None]:
    """Fuse the components and keep the best ``pool`` above ``threshold``."""
    scores = fuse(scored.dense, scored.keyword, keyword_weight, engine.config.fusion)
    chosen = top(scores.fused, pool, threshold, scores.dense)
    versions = None if scored.versions is None else [scored.versions[i] for i in chosen]
    return scores, chosen, [int(k) for k in scored.keys[chosen]], versions


def _annotate(
    items: list[MemoryItem],
    chosen: np.ndarray,
    final: np.ndarray,
    scores: Fused | Ranked,
    explain: bool,
) -> None:
    for position, item in zip(chosen, items):
        item.score = float(final[position])
        if explain:
            item.explain = scores.explain(int(position))
