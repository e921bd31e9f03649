"""LlamaIndex ``ChatMessage`` helpers: plain records, turn roles, queries, and token trimming.

The kit's ``to_message`` already reads ``ChatMessage`` (it has ``role`` and ``content``);
what is LlamaIndex-specific lives here: spotting tool-call messages, rebuilding messages
from mnemoweave's window, and trimming a history to a token budget without leaving an
assistant or tool message first (a tool result without its call breaks most chat APIs).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from llama_index.core.base.llms.types import (
    ChatMessage,
    ImageBlock,
    MessageRole,
    TextBlock,
    ToolCallBlock,
)

from mnemoweave import ValidationError
from mnemoweave_adapters import last_user_text, to_message

#: Roles that cannot open a history: they answer something that would be cut off.
_REPLY_ROLES = frozenset({MessageRole.ASSISTANT, MessageRole.TOOL, MessageRole.FUNCTION})


def calls_tools(message: ChatMessage) -> bool:
    """Whether an assistant message asks for tool calls (so it is not a final answer)."""
    if any(isinstance(block, ToolCallBlock) for block in message.blocks):
        return True
    return bool(message.additional_kwargs.get("tool_calls"))


def as_record(message: ChatMessage) -> dict[str, Any] | None:
    """``{"role", "content"}`` for mnemoweave, or ``None`` when the message has no content.

    ``ImageBlock``s become image parts of the content (the kit's ``to_message`` reads
    ``message.blocks``), so they reach the extraction call of a vision LLM.
    """
    return to_message(message)


def _block(part: Any) -> TextBlock | ImageBlock | None:
    if not isinstance(part, Mapping):
        return None
    if part.get("type") == "text" and isinstance(part.get("text"), str):
        return TextBlock(text=part["text"])
    inner = part.get("image_url")
    if part.get("type") == "image_url" and isinstance(inner, Mapping):
        return ImageBlock(url=inner.get("url"), detail=inner.get("detail"))
    return None


def from_record(record: Mapping[str, Any]) -> ChatMessage:
    """A ``ChatMessage`` rebuilt from a mnemoweave record (text, or text and image parts)."""
    content = record["content"]
    if isinstance(content, list):
        blocks = [b for b in map(_block, content) if b is not None]
        return ChatMessage(role=MessageRole(record["role"]), blocks=blocks)
    return ChatMessage(role=MessageRole(record["role"]), content=content)


def query_text(input: str | ChatMessage | None, history: Sequence[ChatMessage]) -> str:
    """What recall searches for: ``input`` when given, else the last user message's text."""
    if isinstance(input, ChatMessage):
        return input.content or ""
    if isinstance(input, str):
        return input
    if input is not None:
        raise ValidationError(f"input must be a string or a ChatMessage, got {type(input)!r}")
    return last_user_text(history)


def latest_text(messages: Sequence[ChatMessage]) -> str:
    """The last user message's text, else the last message that has any text."""
    text = last_user_text(messages)
    if text:
        return text
    for message in reversed(messages):
        if message.content:
            return message.content
    return ""


def trim(
    messages: Sequence[ChatMessage], budget: int, count: Callable[[ChatMessage], int]
) -> list[ChatMessage]:
    """The newest messages that fit in ``budget`` tokens, never opening on a reply.

    When not even the last message fits, it is returned alone so the model (not this
    memory) reports the oversized input, as LlamaIndex's own buffers do.
    """
    start, used = len(messages), 0
    for index in range(len(messages) - 1, -1, -1):
        used += count(messages[index])
        if used > budget:
            break
        start = index
    while start < len(messages) and messages[start].role in _REPLY_ROLES:
        start += 1
    kept = list(messages[start:])
    if not kept and messages:
        return [messages[-1]]
    return kept


def with_block_first(message: ChatMessage, text: str) -> ChatMessage:
    """A copy of ``message`` with ``text`` as its first content block."""
    return message.model_copy(update={"blocks": [TextBlock(text=text), *message.blocks]})


def copies(messages: Iterable[ChatMessage]) -> list[ChatMessage]:
    """Deep copies, so callers editing returned messages never edit the stored history."""
    return [message.model_copy(deep=True) for message in messages]


def check_messages(messages: Any, what: str) -> list[ChatMessage]:
    """``messages`` as a list of ``ChatMessage``, or a ``ValidationError`` naming ``what``."""
    if isinstance(messages, ChatMessage) or not isinstance(messages, Iterable):
        raise ValidationError(f"{what} takes a list of ChatMessage, got {type(messages)!r}")
    out = list(messages)
    for index, message in enumerate(out):
        if not isinstance(message, ChatMessage):
            raise ValidationError(
                f"{what}: item {index} is {type(message).__name__}, not a ChatMessage"
            )
    return out
