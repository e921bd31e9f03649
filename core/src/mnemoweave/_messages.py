"""Normalising what callers pass as ``messages`` into a list of role/content records."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._media import Image, image_from_part
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
    #: Images the message carried; ``content`` holds a reference to each.
    images: tuple[Image, ...] = ()
    #: Where a document chunk came from (type, url or file, sha256, page); ``None`` otherwise.
    source: Mapping[str, Any] | None = None

    def as_dict(self) -> dict[str, str]:
        out = {"role": self.role, "content": self.content}
        if self.name:
            out["name"] = self.name
        return out


_PART_HINT = (
    'content parts are {"type": "text", "text": ...}, {"type": "image_url", "image_url": '
    '{"url": ...}}, or a document {"type": "pdf_url" | "mdx_url" | "txt_url", "pdf_url": '
    '{"url": ...}}'
)


class DocumentChunk(dict[str, Any]):
    """A message made from a chunk of a document part; ``source`` says where it came from.

    Only the document intake makes these, so a caller's own dict can never claim a source.
    """

    def __init__(self, message: Mapping[str, Any], source: Mapping[str, Any]) -> None:
        super().__init__(message)
        self.source = dict(source)


def _content_text(content: Any, index: int, files: Any) -> tuple[str, tuple[Image, ...]]:
    if isinstance(content, str):
        return content, ()
    if isinstance(content, Mapping):  # mem0's single-part shape: content is one part
        content = [content]
    # OpenAI multi-part content: text parts joined, images kept; anything else is an error.
    if isinstance(content, Sequence) and not isinstance(content, bytes | bytearray):
        parts: list[str] = []
        images: list[Image] = []
        for j, part in enumerate(content):
            where = f"messages[{index}] part {j}"
            kind = part.get("type") if isinstance(part, Mapping) else None
            if isinstance(part, str):
                parts.append(part)
            elif kind in ("text", "input_text", "output_text"):
                text = part.get("text")
                if not isinstance(text, str):
                    raise ValidationError(
                        f"messages[{index}] has a text part without a string 'text'"
                    )
                parts.append(text)
            elif kind == "image_url":
                images.append(image_from_part(part, where, files))
                parts.append(images[-1].reference(len(images)))
            else:
                raise ValidationError(f"{where} has unsupported type {kind!r}; {_PART_HINT}")
        return "\n".join(parts), tuple(images)
    raise ValidationError(
        f"messages[{index}]['content'] must be a string or a list of content parts, "
        f"not {type(content).__name__}"
    )


def normalize_messages(
    messages: Any, max_chars: int | None = None, files: Any = None
) -> list[Message]:
    """Accept a string, one ``{role, content}`` dict, or a list of them (strings count as user).

    ``files`` (the store's config) says whether local image paths may be read
    (``allow_files``); without it they are refused.

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
        images: tuple[Image, ...] = ()
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
            content, images = _content_text(item["content"], index, files)
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
            source = item.source if isinstance(item, DocumentChunk) else None
            out.append(
                Message(role=role, content=content, name=name or None, images=images, source=source)
            )
    if not out:
        raise ValidationError("messages contain no text to remember")
    return out
