"""The reranking stage of ``search(rerank=True)``: reorder the first stage's best candidates.

The first stage (dense + keyword, fused) is cheap and exact over the scope; a reranker is a
slower, sharper judge of relevance that looks only at the ``rerank_top_k`` candidates it
returned, so it never sees a row outside the caller's scope and filters. Three kinds are
configured with ``reranker=``: a Python callable ``(query, texts) -> scores``,
``{"provider": "llm"}`` (one chat call through the configured LLM), and
``{"provider": "endpoint", "url": ..., "model": ...}`` (any Cohere/Jina/vLLM-shaped
``/rerank`` endpoint). Failures raise :class:`~mnemoweave.errors.RerankError`; only
``rerank_fallback=True`` turns them into a warning and the first-stage order.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from .errors import ConfigurationError, RerankError, ValidationError
from .types import MemoryItem

__all__ = [
    "CallableReranker",
    "Reranker",
    "apply_rerank",
    "build_reranker",
    "checked_scores",
    "rerank_pool",
]

logger = logging.getLogger("mnemoweave")

RerankFunction = Callable[[str, list[str]], Sequence[float]]


class Reranker(Protocol):
    """Scores texts against a query; a higher score means more relevant."""

    provider: str

    def score(self, query: str, texts: list[str]) -> list[float]:
        """One finite score per text, in order; raises ``RerankError`` when it cannot."""
        ...

    def close(self) -> None:
        """Release connections (called by ``Memory.close``)."""
        ...


def checked_scores(values: Any, count: int, provider: str) -> list[float]:
    """``values`` as ``count`` finite floats, or a ``RerankError`` saying what is wrong."""
    if isinstance(values, str | bytes | Mapping):
        raise RerankError(
            f"the {provider} reranker returned {type(values).__name__}, not a list of scores",
            provider=provider,
            raw=values,
        )
    try:
        scores = [float(v) for v in values]
    except (TypeError, ValueError) as exc:
        raise RerankError(
            f"the {provider} reranker returned scores that are not numbers: {exc}",
            provider=provider,
            raw=values,
        ) from exc
    if len(scores) != count:
        raise RerankError(
            f"the {provider} reranker returned {len(scores)} scores for {count} texts",
            provider=provider,
            raw=values,
        )
    if not all(math.isfinite(s) for s in scores):
        raise RerankError(
            f"the {provider} reranker returned a score that is not finite", provider=provider
        )
    return scores


class CallableReranker:
    """A user function ``(query, texts) -> scores`` (a list, tuple or numpy array)."""

    provider = "callable"

    def __init__(self, function: RerankFunction) -> None:
        self.function = function

    def __repr__(self) -> str:
        return f"CallableReranker({self.function!r})"

    def score(self, query: str, texts: list[str]) -> list[float]:
        try:
            values = self.function(query, list(texts))
        except RerankError:
            raise
        except Exception as exc:
            raise RerankError(
                f"the reranker callable raised {type(exc).__name__}: {exc}", provider="callable"
            ) from exc
        return checked_scores(values, len(texts), "callable")

    def close(self) -> None:
        """Nothing to release."""


def build_reranker(spec: Any, llm: Any) -> Reranker | None:
    """The reranker a ``reranker=`` config value names (``None`` stays ``None``).

    ``llm`` is the store's LLM client, used by ``{"provider": "llm"}`` unless the spec
    carries its own ``"llm"`` config. Raises ``ConfigurationError`` naming what is wrong.
    """
    if spec is None:
        return None
    if isinstance(spec, Mapping):
        provider = spec.get("provider")
        options = {k: v for k, v in spec.items() if k != "provider"}
        if provider == "llm":
            from ._rerank_llm import LLMReranker

            return LLMReranker.from_options(options, llm)
        if provider == "endpoint":
            from ._rerank_http import EndpointReranker

            return EndpointReranker.from_options(options)
        raise ConfigurationError(
            f"reranker provider {provider!r} is unknown: use {{'provider': 'llm'}}, "
            "{'provider': 'endpoint', 'url': ..., 'model': ...}, or a callable "
            "(query, texts) -> scores"
        )
    if hasattr(spec, "score") and hasattr(spec, "provider") and hasattr(spec, "close"):
        return spec  # a ready Reranker object
    if callable(spec):
        return CallableReranker(spec)
    raise ConfigurationError(
        "reranker must be a callable (query, texts) -> scores or a dict with 'provider' "
        f"'llm' or 'endpoint'; got {type(spec).__name__}"
    )


def rerank_pool(reranker: Reranker | None, rerank: Any, limit: int, top_k: int) -> int:
    """How many first-stage candidates to take: ``limit``, or ``max(limit, top_k)`` to rerank.

    Validates the ``rerank`` flag: asking for it without a configured reranker is a
    ``ConfigurationError`` (never a silent first-stage answer).
    """
    if not isinstance(rerank, bool):
        raise ValidationError(f"rerank must be True or False, got {rerank!r}")
    if not rerank:
        return limit
    if reranker is None:
        raise ConfigurationError(
            "search(rerank=True) needs a reranker: pass reranker=<callable (query, texts) -> "
            "scores>, {'provider': 'llm'} or {'provider': 'endpoint', 'url': ..., "
            "'model': ...} to Memory(...)"
        )
    return max(limit, top_k)


def apply_rerank(
    reranker: Reranker | None,
    query: str,
    items: list[MemoryItem],
    limit: int,
    fallback: bool,
) -> list[MemoryItem]:
    """Reorder first-stage ``items`` by the reranker's scores and keep the best ``limit``.

    Each kept item's ``score`` becomes its rerank score (ties keep the first-stage order);
    with ``explain`` on, ``explain["rerank"]`` holds it next to the first-stage components.
    On a ``RerankError`` with ``fallback`` the first-stage order is kept, with a warning.
    """
    if reranker is None or not items:
        return items[:limit]
    try:
        scores = reranker.score(query, [item.memory for item in items])
        scores = checked_scores(scores, len(items), reranker.provider)
    except RerankError as exc:
        if not fallback:
            raise
        logger.warning("mnemoweave: reranking failed, keeping the first-stage order: %s", exc)
        return items[:limit]
    order = sorted(range(len(items)), key=lambda i: -scores[i])[:limit]
    out = []
    for i in order:
        item = items[i]
        item.score = scores[i]
        if item.explain is not None:
            item.explain["rerank"] = scores[i]
        out.append(item)
    return out
