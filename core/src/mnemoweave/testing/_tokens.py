"""The deterministic token-count approximation every mnemoweave measurement uses.

Real tokenizers (tiktoken) need downloaded encodings, so tests and benchmarks count tokens
with one documented rule instead; it is close enough to compare systems, and identical for all.

The rule:

* ``count_tokens(text)`` is the number of matches of the regex ``\\w+|[^\\w\\s]`` in ``text``
  (Unicode-aware): every run of word characters is one token, every other non-space
  character is one token, whitespace is free. ``"Hello, world!"`` is 4 tokens.
* A chat prompt costs ``3`` (reply priming) plus, per message, ``4`` (role and framing)
  plus ``count_tokens`` of its text. A message's text is its ``content`` when that is a
  string, or the ``text`` of each text part joined by newlines when it is a list of parts,
  plus its ``name`` if present, plus the JSON of any ``tool_calls``.
* A completion costs ``count_tokens`` of the reply content (no overhead).
* An embeddings request costs ``count_tokens`` of each input string summed, or the number
  of ids for inputs given as token-id lists.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["count_prompt_tokens", "count_tokens", "message_text"]

_TOKEN = re.compile(r"\w+|[^\w\s]")

PER_MESSAGE_OVERHEAD = 4
"""Tokens charged per chat message for its role and framing."""

REPLY_PRIMING = 3
"""Tokens charged once per chat prompt for priming the assistant's reply."""


def count_tokens(text: str) -> int:
    """Count ``text``'s tokens as matches of ``\\w+|[^\\w\\s]`` (see the module docstring)."""
    return len(_TOKEN.findall(text))


def message_text(message: Mapping[str, Any]) -> str:
    """The countable text of one chat message: content (or its text parts), name, tool calls."""
    pieces: list[str] = []
    content = message.get("content")
    if isinstance(content, str):
        pieces.append(content)
    elif isinstance(content, list):
        for part in content:
            if isinstance(part, Mapping) and isinstance(part.get("text"), str):
                pieces.append(part["text"])
    name = message.get("name")
    if isinstance(name, str):
        pieces.append(name)
    tool_calls = message.get("tool_calls")
    if tool_calls:
        pieces.append(json.dumps(tool_calls, ensure_ascii=False, sort_keys=True))
    return "\n".join(pieces)


def count_prompt_tokens(messages: Iterable[Mapping[str, Any]]) -> int:
    """Prompt tokens of a chat request: ``3 + Σ (4 + count_tokens(message_text(m)))``."""
    total = REPLY_PRIMING
    for message in messages:
        total += PER_MESSAGE_OVERHEAD
        if isinstance(message, Mapping):
            total += count_tokens(message_text(message))
    return total
