"""Converting between mnemoweave records and LangChain messages and documents."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from langchain_core.documents import Document
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
)

from mnemoweave import MemoryItem
from mnemoweave_adapters import to_messages

_MESSAGE_TYPES: dict[str, type[BaseMessage]] = {
    "user": HumanMessage,
    "assistant": AIMessage,
    "system": SystemMessage,
}

#: Roles worth keeping from a LangChain conversation (tool traffic stays out of memory).
CONVERSATION_ROLES = frozenset({"user", "assistant", "system"})


def to_langchain(record: Mapping[str, Any]) -> BaseMessage:
    """A mnemoweave window record ``{"role", "content", "name"?}`` as a LangChain message."""
    role, content = record["role"], record["content"]
    name = record.get("name")
    extra = {"name": name} if name else {}
    cls = _MESSAGE_TYPES.get(role)
    if cls is None:
        return ChatMessage(role=role, content=content, **extra)
    return cls(content=content, **extra)


def conversation(messages: Iterable[Any]) -> list[dict[str, Any]]:
    """User, assistant and system turns with content, as mnemoweave message dicts.

    Image content blocks (OpenAI ``image_url`` dicts and LangChain's standard
    ``{"type": "image", ...}`` blocks) are kept as image parts of the content.
    """
    return to_messages(messages, roles=CONVERSATION_ROLES)


def _iso(stamp: datetime | None) -> str | None:
    return stamp.isoformat() if stamp is not None else None


def to_document(item: MemoryItem) -> Document:
    """A recalled memory as a ``Document``: its text, plus id, score, times and scope."""
    meta: dict[str, Any] = {"id": item.id, "score": item.score}
    for field in ("created_at", "updated_at", "valid_from"):
        meta[field] = _iso(getattr(item, field))
    for field in ("user_id", "agent_id", "run_id"):
        if getattr(item, field) is not None:
            meta[field] = getattr(item, field)
    if item.categories:
        meta["categories"] = list(item.categories)
    if item.metadata:
        meta["metadata"] = dict(item.metadata)
    return Document(id=item.id, page_content=item.memory, metadata=meta)
