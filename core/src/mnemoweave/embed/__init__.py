"""Embedders: the ``Embedder`` protocol, a registry of providers, and batched, cached embedding.

``get_embedder("local")`` (the default) runs all-MiniLM-L6-v2 on numpy, offline;
``get_embedder({"provider": "openai", "model": ...})`` calls any OpenAI-compatible endpoint;
mem0's names ``azure_openai``, ``ollama``, ``lmstudio``, ``huggingface`` (a local BERT-family
folder), ``gemini``, ``together`` and ``langchain`` (an ``Embeddings`` object) work too;
``"hash"`` is a deterministic model-free embedder for tests. Importing this package loads no
model and touches no network: providers do that when they are constructed.

mnemoweave itself embeds through four functions: :func:`embed_texts` / :func:`aembed_texts`
(bulk, in batches, validated and L2-normalised) and :func:`embed_query` /
:func:`aembed_query` (one text, through a process-wide LRU cache keyed by model and text).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import ValidationError
from ._base import (
    AsyncEmbedder,
    Embedder,
    aembed_raw,
    available_embedders,
    check_positive_int,
    check_texts,
    check_vectors,
    get_embedder,
    register_embedder,
)
from ._cache import CacheInfo, QueryCache
from ._hashing import HashEmbedder
from ._local import LocalEmbedder
from ._openai import OpenAIEmbedder
from ._providers import (
    AzureOpenAIEmbedder,
    LangChainEmbedder,
    azure_openai_embedder,
    compatible_embedder,
    huggingface_embedder,
    langchain_embedder,
    openai_embedder,
)

__all__ = [
    "AsyncEmbedder",
    "AzureOpenAIEmbedder",
    "CacheInfo",
    "Embedder",
    "HashEmbedder",
    "LangChainEmbedder",
    "LocalEmbedder",
    "OpenAIEmbedder",
    "aembed_query",
    "aembed_texts",
    "available_embedders",
    "clear_query_cache",
    "embed_query",
    "embed_texts",
    "get_embedder",
    "query_cache_info",
    "register_embedder",
    "set_query_cache_size",
]

register_embedder("hash", HashEmbedder)
register_embedder("local", LocalEmbedder)
register_embedder("openai", openai_embedder)
register_embedder("azure_openai", azure_openai_embedder)
register_embedder("huggingface", huggingface_embedder)
register_embedder("langchain", langchain_embedder)
for _name in ("gemini", "lmstudio", "ollama", "together"):
    register_embedder(_name, compatible_embedder(_name))

DEFAULT_BATCH_SIZE = 1024
"""Texts handed to one ``embedder.embed`` call by :func:`embed_texts` unless told otherwise.

Providers batch further inside (the local model by sorted length, 64 per pass; the OpenAI
embedder ``batch_size`` per request); this outer bound keeps memory flat for huge inputs.
"""

_QUERY_CACHE = QueryCache(maxsize=2048)


def _chunk_size(batch_size: int | None) -> int:
    return (
        DEFAULT_BATCH_SIZE if batch_size is None else check_positive_int("batch_size", batch_size)
    )


def embed_texts(
    embedder: Embedder, texts: Sequence[str], *, batch_size: int | None = None
) -> np.ndarray:
    """Embed ``texts`` and return validated, L2-normalised float32 rows ``[len(texts), dim]``.

    ``embedder.embed`` is called once per ``batch_size`` texts (default
    :data:`DEFAULT_BATCH_SIZE`); a bare string or a non-string item is a ``ValidationError``.
    """
    items = check_texts(texts)
    size = _chunk_size(batch_size)
    if not items:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    # The first call comes before reading ``dim``: some providers only learn it from a reply.
    first = check_vectors(embedder.embed(items[:size]), min(size, len(items)), embedder.dim)
    if len(items) <= size:
        return first
    out = np.empty((len(items), first.shape[1]), dtype=np.float32)
    out[:size] = first
    for start in range(size, len(items), size):
        chunk = items[start : start + size]
        out[start : start + len(chunk)] = check_vectors(
            embedder.embed(chunk), len(chunk), out.shape[1]
        )
    return out


async def aembed_texts(
    embedder: Embedder, texts: Sequence[str], *, batch_size: int | None = None
) -> np.ndarray:
    """Async twin of :func:`embed_texts` (native ``aembed`` when offered, else a thread)."""
    items = check_texts(texts)
    size = _chunk_size(batch_size)
    if not items:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    parts = []
    for start in range(0, len(items), size):
        chunk = items[start : start + size]
        raw = await aembed_raw(embedder, chunk)
        parts.append(check_vectors(raw, len(chunk), embedder.dim))
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _query_text(text: str) -> str:
    if not isinstance(text, str):
        raise ValidationError(f"query text must be a str, got {type(text).__name__}")
    return text


def embed_query(embedder: Embedder, text: str) -> np.ndarray:
    """Embed one query text (a 1-d normalised vector), once per process per model and text.

    The result is a fresh array the caller may modify; the cached copy stays intact.
    """
    text = _query_text(text)
    model_id = embedder.model_id
    cached = _QUERY_CACHE.get(model_id, text)
    if cached is not None:
        return cached
    vector: np.ndarray = embed_texts(embedder, [text])[0]
    _QUERY_CACHE.put(model_id, text, vector)
    return vector


async def aembed_query(embedder: Embedder, text: str) -> np.ndarray:
    """Async twin of :func:`embed_query`, sharing the same cache."""
    text = _query_text(text)
    model_id = embedder.model_id
    cached = _QUERY_CACHE.get(model_id, text)
    if cached is not None:
        return cached
    vector: np.ndarray = (await aembed_texts(embedder, [text]))[0]
    _QUERY_CACHE.put(model_id, text, vector)
    return vector


def clear_query_cache() -> None:
    """Forget every cached query vector (and reset the hit/miss counters)."""
    _QUERY_CACHE.clear()


def query_cache_info() -> CacheInfo:
    """Hits, misses, bound and current size of the query-vector cache."""
    return _QUERY_CACHE.info()


def set_query_cache_size(maxsize: int) -> None:
    """Bound the query cache to ``maxsize`` vectors (0 turns caching off)."""
    _QUERY_CACHE.resize(check_positive_int("maxsize", maxsize, minimum=0))
