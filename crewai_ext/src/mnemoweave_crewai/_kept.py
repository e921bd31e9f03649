"""Vectors a caller made with its own embedder, kept with the record and searched exactly.

mnemoweave embeds every record's text with its own model (for its hybrid search and for
every other framework on the store). A ``MemoryRecord.embedding`` made by *another*
embedder (CrewAI's ``Memory`` with ``embedder=`` something else than ``storage.embedder``)
is not thrown away: it is kept in the record's metadata, and a query vector of the same
size is scored by exact cosine against the kept vectors of the scope. Within one storage
scope all kept vectors have one size, as in CrewAI's LanceDB store: a vector of another
size raises :class:`~mnemoweave_crewai.EmbeddingDimensionMismatchError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from mnemoweave import MemoryItem

from . import _scopes as sc
from ._errors import EmbeddingDimensionMismatchError

HINT = (
    "this storage already keeps vectors of another size for its scope; reset it "
    "(storage.reset()) or keep using the same embedder"
)


def check_sizes(stored: int | None, vectors: Iterable[Sequence[float]]) -> int | None:
    """The one size of ``vectors`` (and of ``stored``), or a mismatch error."""
    size = stored
    for vector in vectors:
        n = len(vector)
        if size is None:
            size = n
        elif n != size:
            raise EmbeddingDimensionMismatchError(size, n, HINT)
    return size


def scored(
    items: Iterable[MemoryItem], query: Sequence[float], limit: int, min_score: float
) -> list[tuple[MemoryItem, float]]:
    """Items with a kept vector, by exact cosine to ``query``, best first."""
    rows = [
        (item, vector)
        for item in items
        if isinstance(vector := item.metadata.get(sc.EMBEDDING_KEY), list)
        and len(vector) == len(query)
    ]
    if not rows:
        return []
    matrix = np.asarray([vector for _, vector in rows], dtype=np.float32)
    q = np.asarray(query, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1) * float(np.linalg.norm(q))
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = np.where(norms > 0, (matrix @ q) / norms, 0.0)
    order = np.argsort(-scores, kind="stable")[:limit]
    return [(rows[i][0], float(scores[i])) for i in order if float(scores[i]) >= min_score]
