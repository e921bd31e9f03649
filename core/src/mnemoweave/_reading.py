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
from .errors import NotFoundError, ValidationError
from .types import HistoryEntry, MemoryItem, MemoryList


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
    version: str | None = None,
    output_format: str | None = None,
) -> SearchArgs:
    """Check ``Memory.search``'s arguments (see its docstring for their meaning)."""
    check.legacy({"version": version, "output_format": output_format})
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


@dataclass(frozen=True, slots=True)
class PageArgs:
    selection: Selection
    limit: int
    offset: int
    page: int | None  # set when the caller paged with page / page_size

    def result(self, items: list[MemoryItem], total: int) -> MemoryList:
        """The ``MemoryList`` of one page (with mem0's pagination fields when paged)."""
        out: dict[str, Any] = {"results": items, "total": total}
        out.update(count=None, next=None, previous=None)
        if self.page is not None:
            out["count"] = total
            out["next"] = self.page + 1 if self.offset + self.limit < total else None
            out["previous"] = self.page - 1 if self.page > 1 else None
        return MemoryList._trusted(out)


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
    page: int | None = None,
    page_size: int | None = None,
    version: str | None = None,
    output_format: str | None = None,
) -> PageArgs:
    """Check ``Memory.get_all``'s arguments (``page``/``page_size`` or ``limit``/``offset``)."""
    check.legacy({"version": version, "output_format": output_format})
    scope = check.scope_ids(user_id, agent_id, run_id, filters=filters)
    limit = check.positive_int(check.alias(limit, 100, top_k, "limit", "top_k"), "limit")
    expired = check.alias(include_expired, False, show_expired, "include_expired", "show_expired")
    start = check.offset(offset)
    number = None
    if page is not None or page_size is not None:
        if limit != 100 or start != 0:
            raise ValidationError(
                "get_all takes page/page_size or limit/offset, not both: "
                "page=2, page_size=50 is limit=50, offset=50"
            )
        number = check.positive_int(1 if page is None else page, "page", maximum=10**9)
        limit = check.positive_int(100 if page_size is None else page_size, "page_size")
        start = check.offset((number - 1) * limit)
    selection = Selection(
        scope, _now(), filters=filters, include_expired=check.flag(expired, "include_expired")
    )
    return PageArgs(selection, limit, start, number)


def found_item(item: MemoryItem | None, memory_id: str) -> MemoryItem:
    """``get``'s answer: the memory, or :class:`NotFoundError`."""
    if item is None:
        raise NotFoundError(f"no memory with id {memory_id!r}", memory_id=memory_id)
    return item


def found_history(entries: list[HistoryEntry], memory_id: str) -> list[HistoryEntry]:
    """``history``'s answer: the events, or :class:`NotFoundError` when there are none."""
    if not entries:
        raise NotFoundError(f"no history for memory id {memory_id!r}", memory_id=memory_id)
    return entries
