"""What the chat proxy reads and changes in OpenAI chat messages, as plain functions.

It finds the last user message (the recall query), puts the recalled block into the system
message (a new one first when there is none), and reads the assistant's reply back out of a
completion or a stream of ``chat.completion.chunk`` events, to remember the exchange.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from mnemoweave.errors import ValidationError

#: The roles OpenAI accepts for the instructions message ("developer" on newer models).
SYSTEM_ROLES = ("system", "developer")


def check_request(body: Any) -> dict[str, Any]:
    """The request body if it is shaped like a chat completion request, else a clear error."""
    if not isinstance(body, dict):
        raise ValidationError("the request body must be a JSON object (a chat completion request)")
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise ValidationError("model: a non-empty string is required")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ValidationError("messages: a non-empty list of messages is required")
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise ValidationError(f"messages[{i}]: each message needs a string 'role'")
    if "stream" in body and not isinstance(body["stream"], bool):
        raise ValidationError("stream: must be true or false")
    user = body.get("user")
    if user is not None and (not isinstance(user, str) or not user.strip()):
        raise ValidationError("user: must be a non-empty string (the user_id to recall for)")
    return body


def text_of(content: Any) -> str:
    """The text of a message's content (a string, or the text parts of multi-part content)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [
            p.get("text") for p in content if isinstance(p, Mapping) and p.get("type") == "text"
        ]
        return "\n".join(t for t in parts if isinstance(t, str))
    return ""


def last_user_text(messages: Sequence[Mapping[str, Any]]) -> str:
    """The text of the last user message ('' when there is none)."""
    for message in reversed(messages):
        if message.get("role") == "user":
            return text_of(message.get("content")).strip()
    return ""


def inject(messages: Sequence[Mapping[str, Any]], block: str) -> list[dict[str, Any]]:
    """``messages`` with ``block`` appended to the leading system message (or in a new one)."""
    out = [dict(m) for m in messages]
    if not block:
        return out
    first = out[0]
    if first.get("role") in SYSTEM_ROLES:
        content = first.get("content")
        if isinstance(content, list):
            first["content"] = [*content, {"type": "text", "text": block}]
        else:
            text = content if isinstance(content, str) else ""
            first["content"] = f"{text}\n\n{block}" if text else block
        return out
    return [{"role": "system", "content": block}, *out]


def completion_text(body: bytes) -> str:
    """The assistant text of a (non-streamed) chat completion ('' if it has none)."""
    try:
        data = json.loads(body)
        return text_of(data["choices"][0]["message"].get("content"))
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return ""


class StreamText:
    """Collects the assistant text of a streamed reply from its raw SSE bytes, chunk by chunk
    (events may be split anywhere across network chunks)."""

    def __init__(self) -> None:
        self._buffer = b""
        self._parts: list[str] = []
        self.done = False

    def feed(self, data: bytes) -> None:
        self._buffer += data.replace(b"\r\n", b"\n")
        while b"\n\n" in self._buffer:
            event, self._buffer = self._buffer.split(b"\n\n", 1)
            self._event(event)

    def _event(self, event: bytes) -> None:
        payload = b"\n".join(
            line[5:].lstrip(b" ") for line in event.split(b"\n") if line.startswith(b"data:")
        )
        if not payload:
            return
        if payload.strip() == b"[DONE]":
            self.done = True
            return
        try:
            choices = json.loads(payload).get("choices") or []
            delta = choices[0].get("delta") or {} if choices else {}
        except (ValueError, AttributeError, TypeError):
            return
        content = delta.get("content") if isinstance(delta, dict) else None
        if isinstance(content, str):
            self._parts.append(content)

    @property
    def text(self) -> str:
        return "".join(self._parts)
