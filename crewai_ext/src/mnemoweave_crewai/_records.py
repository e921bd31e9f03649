"""mnemoweave ``MemoryItem`` -> CrewAI ``MemoryRecord``, following the rule in ``_scopes``."""

from __future__ import annotations

from datetime import UTC, datetime

from crewai.memory.types import MemoryRecord

from mnemoweave import MemoryItem

from ._scopes import (
    ACCESSED_KEY,
    EMBEDDING_KEY,
    ID_KEY,
    IMPORTANCE_KEY,
    PRIVATE_KEY,
    ROOT,
    SCOPE_KEY,
    SOURCE_KEY,
    split_metadata,
)

DEFAULT_IMPORTANCE = 0.5


def naive_utc(when: datetime | None) -> datetime:
    """CrewAI compares against ``datetime.utcnow()``, so its timestamps are naive UTC."""
    if when is None:
        return datetime.now(UTC).replace(tzinfo=None)
    if when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    return when


def visible_id(item: MemoryItem) -> str:
    """The id CrewAI knows a memory by: the one CrewAI chose, else mnemoweave's."""
    chosen = item.metadata.get(ID_KEY)
    return chosen if isinstance(chosen, str) and chosen else item.id


def to_record(item: MemoryItem) -> MemoryRecord:
    """The CrewAI view of a stored memory (reserved metadata keys become record fields)."""
    own, reserved = split_metadata(item.metadata)
    importance = reserved.get(IMPORTANCE_KEY, DEFAULT_IMPORTANCE)
    if isinstance(importance, bool) or not isinstance(importance, int | float):
        importance = DEFAULT_IMPORTANCE
    scope = reserved.get(SCOPE_KEY)
    source = reserved.get(SOURCE_KEY)
    vector = reserved.get(EMBEDDING_KEY)
    return MemoryRecord(
        id=visible_id(item),
        content=item.memory,
        scope=scope if isinstance(scope, str) and scope else ROOT,
        categories=list(item.categories),
        metadata=own,
        importance=min(max(float(importance), 0.0), 1.0),
        created_at=naive_utc(item.valid_from or item.created_at),
        last_accessed=_accessed(reserved.get(ACCESSED_KEY), item),
        embedding=[float(x) for x in vector] if isinstance(vector, list) else None,
        source=source if isinstance(source, str) else None,
        private=reserved.get(PRIVATE_KEY) is True,
    )


def _accessed(stamp: object, item: MemoryItem) -> datetime:
    """``crewai_last_accessed`` if set and valid, else when mnemoweave last changed the memory."""
    if isinstance(stamp, str):
        try:
            return naive_utc(datetime.fromisoformat(stamp))
        except ValueError:
            pass
    return naive_utc(item.updated_at or item.created_at)
