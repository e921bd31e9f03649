"""What ``add`` does to its ``messages`` first: documents expanded, parts checked, sources kept.

One entry point for the facade, so reading documents and local files (``_documents``,
``_files``) and normalising messages (``_messages``) stay behind one call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._documents import expand_documents
from ._messages import Message, normalize_messages

__all__ = ["SOURCE_KEY", "intake", "with_source"]

#: The metadata key under which a document memory records where it came from.
SOURCE_KEY = "document"


def intake(messages: Any, config: Any) -> list[Message]:
    """``messages`` as validated :class:`Message` records, document parts as sourced chunks."""
    expanded = expand_documents(messages, config)
    return normalize_messages(expanded, config.max_text_chars, files=config)


def with_source(metadata: Mapping[str, Any], source: Mapping[str, Any] | None) -> dict[str, Any]:
    """``metadata`` plus ``{"document": source}`` (a caller's own ``document`` key wins)."""
    out = dict(metadata)
    if source is not None:
        out.setdefault(SOURCE_KEY, dict(source))
    return out
