"""Normalising what callers pass as ``messages`` into a list of role/content records."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._validate import bounded
from ._values import clean
from .errors import ValidationError

ROLES = frozenset({"user", "assistant", "system", "tool", "developer", "function"})


@dataclass(frozen=True, slots=True)
class Message:
    """One conversation message; ``name`` (the speaker) becomes a memory's ``actor_id``."""

    role: str
    content: str
    name: str | None = None

    def as_dict(self) -> dict[str, str]:
        out = {"role": self.role, "content": self.content}
        if self.name:
            out["name"] = self.name
        return out


def _content_text(content: Any, index: int) -> str:
    if isinstance(content, str):
        return content
    # OpenAI multi-part content: keep the text parts, skip images and audio.
    if isinstance(content, Sequence) and not isinstance(content, bytes | bytearray):
        parts: list[str] = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, Mapping) and part.get("type") == "text":
                text = part.get("text")
                if not isinstance(text, str):
                    raise ValidationError(
                        f"messages[{index}] has a text part without a string 'text'"
                    )
                parts.append(text)
        return "\n".join(parts)
    raise ValidationError(
        f"messages[{index}]['content'] must be a string or a list of content parts, "
        f"not {type(content).__name__}"
    )


def normalize_messages(messages: Any, max_chars: int | None = None) -> list[Message]:
    """Accept a string, one ``{role, content}`` dict, or a list of them (strings count as user).

    Raises :class:`ValidationError` for anything else, for text that cannot be stored or is
    longer than ``max_chars``, and when nothing with content is left, so an add never
    silently stores nothing.
    """
    if isinstance(messages, str | Mapping):
        items: list[Any] = [messages]
    elif isinstance(messages, Sequence) and not isinstance(messages, bytes | bytearray):
        items = list(messages)
    else:
        raise ValidationError(
            "messages must be a string, a {'role', 'content'} dict, or a list of them; "
            f"got {type(messages).__name__}"
        )
    out: list[Message] = []
    for index, item in enumerate(items):
        if isinstance(item, str):
            role, content, name = "user", item, None
        elif isinstance(item, Mapping):
            if "content" not in item:
                raise ValidationError(f"messages[{index}] has no 'content' key")
            role = item.get("role", "user")
            if not isinstance(role, str) or not role:
                raise ValidationError(f"messages[{index}]['role'] must be a non-empty string")
            role = role.lower()
            if role not in ROLES:
                raise ValidationError(
                    f"messages[{index}]['role']={role!r} is not one of {sorted(ROLES)}"
                )
            content = _content_text(item["content"], index)
            name = item.get("name")
            if name is not None and not isinstance(name, str):
                raise ValidationError(f"messages[{index}]['name'] must be a string")
        else:
            raise ValidationError(
                f"messages[{index}] must be a string or a dict, not {type(item).__name__}"
            )
        where = f"messages[{index}]"
        bounded(clean(content, f"{where} content"), f"{where} content", max_chars)
        if name is not None:
            bounded(clean(name, f"{where} name"), f"{where} name", max_chars)
        if content.strip():
            out.append(Message(role=role, content=content, name=name or None))
    if not out:
        raise ValidationError("messages contain no text to remember")
    return out
