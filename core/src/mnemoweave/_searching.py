"""Search orchestration: embed the query, let the backend score the selection, fuse, cut.

The backend returns dense and keyword components for every row of the scope (exactly, never
an approximate global index); fusion, the threshold and the limit are the engine's, so a
score means the same on every backend.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._fusion import Fused, fuse, top
from ._keywords import query_terms
from ._ranking import Ranked, context_rows, rank
from ._rerank import apply_rerank, rerank_pool
from .backends.base import Selection
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
            scores = fuse(scored.dense, scored.keyword, keyword_weight)
            chosen = top(scores.fused, pool, threshold, scores.dense)
            versions = None if scored.versions is None else [scored.versions[i] for i in chosen]
            items = reader.items([int(k) for k in scored.keys[chosen]], versions)
            final = scores.fused
    for position, item in zip(chosen, items):
        item.score = float(final[position])
        if explain:
            item.explain = scores.explain(int(position))
    if rerank:
        items = apply_rerank(engine.reranker, query, items, limit, engine.config.rerank_fallback)
    return items
