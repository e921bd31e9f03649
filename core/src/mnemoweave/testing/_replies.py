"""Scripted chat replies and helpers that wrap JSON the way real models misbehave.

A reply is a ``str`` (the assistant content verbatim), a ``dict``/``list`` (sent as its JSON),
a :class:`ChatReply` (content plus a finish reason), or a :class:`~mnemoweave.testing.Fault`.
The helpers return strings, for testing tolerant parsers against fenced, chatty or
"thinking" models.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ._faults import Fault

__all__ = [
    "ChatReply",
    "Reply",
    "fenced",
    "operations",
    "prose_wrapped",
    "reply_content",
    "with_think",
]


@dataclass(frozen=True)
class ChatReply:
    """An assistant reply with an explicit ``finish_reason`` (e.g. ``"length"`` for truncation).

    For ``stream=true`` requests, ``chunks`` are the content pieces to send (default: one
    per word; they should join to ``content``) and ``after_chunk(i)`` runs after piece ``i``
    was sent, so a test can hold the stream open mid-reply.
    """

    content: str
    finish_reason: str = "stop"
    chunks: Sequence[str] | None = None
    after_chunk: Callable[[int], None] | None = None


Reply = str | dict[str, Any] | list[Any] | ChatReply | Fault
"""What a script entry or a handler may give the server for one chat request."""


def _json_text(obj: Any) -> str:
    """``obj`` as JSON text; a string is taken to be JSON (or whatever text) already."""
    return obj if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False)


def reply_content(reply: str | dict[str, Any] | list[Any] | ChatReply) -> ChatReply:
    """Normalise a non-fault reply into a :class:`ChatReply`."""
    if isinstance(reply, ChatReply):
        return reply
    if isinstance(reply, str | dict | list):
        return ChatReply(_json_text(reply))
    raise TypeError(
        "a scripted reply must be a str, dict, list, ChatReply or Fault; "
        f"got {type(reply).__name__}"
    )


def operations(*items: tuple[str, int | None, str | None]) -> dict[str, Any]:
    """A reply in mnemoweave's own extraction schema, one ``(op, id, text)`` per operation::

    server.script(operations(("ADD", None, "Likes tea"), ("DELETE", 0, None)))
    """
    return {"operations": [{"op": op, "id": ident, "text": text} for op, ident, text in items]}


def fenced(obj: Any, lang: str = "json") -> str:
    """``obj``'s JSON inside a Markdown code fence (```json ... ```), as chatty models send it."""
    return f"```{lang}\n{_json_text(obj)}\n```"


def prose_wrapped(
    obj: Any,
    before: str = "Sure! Here are the operations you asked for:",
    after: str = "Let me know if you need anything else.",
) -> str:
    """``obj``'s JSON with a sentence of prose before and after it."""
    return f"{before}\n\n{_json_text(obj)}\n\n{after}"


def with_think(obj: Any, thought: str = "The user stated a preference; I should store it.") -> str:
    """``obj``'s JSON after a ``<think>...</think>`` block, as reasoning models emit."""
    return f"<think>\n{thought}\n</think>\n\n{_json_text(obj)}"
