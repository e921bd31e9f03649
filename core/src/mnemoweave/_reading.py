"""What a read asks for, checked once for both facades: ``Memory`` runs it on the backend's
sync reader, ``AsyncMemory`` on its async pool when it has one (see ``_searching``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import _validate as check
from ._time import now as _now
from ._time import to_epoch
from .backends.base import Selection
from .config import MemoryConfig


@dataclass(frozen=True, slots=True)
class SearchArgs:
    query: str
    selection: Selection
    limit: int
    threshold: float | None
    keyword_weight: float
    explain: bool
    rerank: bool

    def options(self) -> dict[str, Any]:
        """The keyword arguments of ``_searching.search`` / ``asearch``."""
        return {
            "limit": self.limit,
            "threshold": self.threshold,
            "keyword_weight": self.keyword_weight,
            "explain": self.explain,
            "rerank": self.rerank,
        }


def search_args(
    config: MemoryConfig,
    query: str,
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
    run_id: str | None = None,
    limit: int = 10,
    filters: Mapping[str, Any] | None = None,
    threshold: float | None = None,
    explain: bool = False,
    include_expired: bool = False,
    as_of: Any = None,
    keyword_weight: float | None = None,
    top_k: int | None = None,
    show_expired: bool | None = None,
    rerank: bool = False,
) -> SearchArgs:
    """Check ``Memory.search``'s arguments (see its docstring for their meaning)."""
    query = check.text(query, "query", config.max_text_chars)
    scope = check.scope_ids(user_id, agent_id, run_id, filters=filters)
    limit = check.positive_int(check.alias(limit, 10, top_k, "limit", "top_k"), "limit")
    expired = check.alias(include_expired, False, show_expired, "include_expired", "show_expired")
    floor = check.threshold(threshold)
    check.flag(explain, "explain")
    weight = check.weight(config.keyword_weight if keyword_weight is None else keyword_weight)
    when = None if as_of is None else to_epoch(as_of, name="as_of")
    selection = Selection(
        scope,
        _now(),
        filters=filters,
        include_expired=check.flag(expired, "include_expired"),
        as_of=when,
    )
    return SearchArgs(query, selection, limit, floor, weight, explain, rerank)


def page_args(
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
    run_id: str | None = None,
    filters: Mapping[str, Any] | None = None,
    limit: int = 100,
    offset: int = 0,
    include_expired: bool = False,
    top_k: int | None = None,
    show_expired: bool | None = None,
) -> tuple[Selection, int, int]:
    """Check ``Memory.get_all``'s arguments: the selection, the limit and the offset."""
    scope = check.scope_ids(user_id, agent_id, run_id, filters=filters)
    limit = check.positive_int(check.alias(limit, 100, top_k, "limit", "top_k"), "limit")
    expired = check.alias(include_expired, False, show_expired, "include_expired", "show_expired")
    start = check.offset(offset)
    selection = Selection(
        scope, _now(), filters=filters, include_expired=check.flag(expired, "include_expired")
    )
    return selection, limit, start
