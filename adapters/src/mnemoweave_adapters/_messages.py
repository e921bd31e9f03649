"""Turning framework messages into ``{"role", "content"}`` dicts mnemoweave's ``add`` accepts.

Each adapter maps its own message types to plain values first (objects with ``role`` /
``type`` and ``content`` attributes also work); these helpers do the rest: role aliases,
multi-part content, and skipping empty turns. Images (and mem0 document parts) are kept:
a message that carries any comes out with OpenAI content parts (its text first), which
``add`` sends to a vision LLM in the extraction call (see ``_parts.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ._parts import media_parts

ROLE_ALIASES = {
    "human": "user",
    "user": "user",
    "ai": "assistant",
    "assistant": "assistant",
    "bot": "assistant",
    "model": "assistant",
    "chatbot": "assistant",
    "system": "system",
    "developer": "system",
    "tool": "tool",
    "function": "tool",
}


def text_of(content: Any) -> str:
    """Plain text of message content: a string, or the text parts of a multi-part list."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Mapping):
        value = content.get("text", content.get("content", ""))
        return value if isinstance(value, str) else ""
    if isinstance(content, Sequence) and not isinstance(content, bytes | bytearray):
        parts = (text_of(part) for part in content)
        return "\n".join(p for p in parts if p)
    text = getattr(content, "text", None)
    return text if isinstance(text, str) else ""


def normalize_role(role: Any, default: str = "user") -> str:
    """Map a framework's role name onto mnemoweave's (``human`` -> ``user``...).

    Message type names work too (``"AssistantMessage"``, ``"HumanMessage"``,
    ``"FunctionExecutionResultMessage"``): the ``Message`` suffix is dropped first.
    """
    if not isinstance(role, str) or not role:
        return default
    key = role.lower()
    if key.endswith("message") and key != "message":
        key = key[: -len("message")]
    if key.endswith(("executionresult", "result", "call")):
        return "tool"
    return ROLE_ALIASES.get(key, default)


def _with_media(text: str, raw: Any) -> str | list[dict[str, Any]]:
    """``text`` alone, or content parts (text first) when ``raw`` holds images or documents."""
    media = media_parts(raw)
    if not media:
        return text
    head = [{"type": "text", "text": text}] if text.strip() else []
    return [*head, *media]


def to_message(obj: Any, *, default_role: str = "user") -> dict[str, Any] | None:
    """One message as ``{"role", "content"[, "name"]}``, or ``None`` when it has no content.

    ``content`` is the message's text, or a list of OpenAI content parts when the message
    also carries images (any framework's spelling) or mem0 document parts.
    """
    name = None
    raw: Any
    if isinstance(obj, str):
        role, raw = default_role, obj
    elif isinstance(obj, Mapping):
        role = obj.get("role", obj.get("type", default_role))
        raw = obj.get("content")
        name = obj.get("name")
    elif isinstance(obj, tuple) and len(obj) == 2:
        role, raw = obj[0], obj[1]
    else:
        role = getattr(obj, "role", None) or getattr(obj, "type", None) or default_role
        raw = getattr(obj, "content", None)
        name = getattr(obj, "name", None)
        blocks = getattr(obj, "blocks", None)  # LlamaIndex ChatMessage: images live there
        if isinstance(blocks, list) and media_parts(blocks):
            raw = blocks
    content = _with_media(text_of(raw), raw)
    if isinstance(content, str) and not content.strip():
        return None
    out = {"role": normalize_role(getattr(role, "value", role), default_role), "content": content}
    if isinstance(name, str) and name:
        out["name"] = name
    return out


def to_messages(objs: Iterable[Any], *, roles: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Normalise many messages, keeping only ``roles`` when given (e.g. ``{"user"}``)."""
    keep = set(roles) if roles is not None else None
    out = []
    for obj in objs:
        msg = to_message(obj)
        if msg is not None and (keep is None or msg["role"] in keep):
            out.append(msg)
    return out


def last_user_text(messages: Iterable[Any]) -> str:
    """The text of the last user message (``""`` when there is none)."""
    last = ""
    for obj in messages:
        msg = to_message(obj)
        if msg is not None and msg["role"] == "user":
            last = text_of(msg["content"])
    return last
