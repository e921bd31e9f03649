"""LangGraph's ``index`` config for :class:`MnemoweaveStore`, and the text an item is stored as.

Accepted keys are LangGraph's ``IndexConfig`` (``embed``, ``dims``, ``fields``) plus the
``text_fields`` spelling of ``SqliteStore`` / ``PostgresStore`` and ``distance_type="cosine"``
(what mnemoweave computes). Without ``fields`` a value's text is its LangMem-style
``content`` when it has one, else the whole value as JSON -- see :func:`item_text`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langgraph.store.base import get_text_at_path, tokenize_path

from mnemoweave import ConfigurationError, ValidationError
from mnemoweave.embed import Embedder

from ._embed import langchain_embedder

_KEYS = {"fields", "text_fields", "dims", "embed", "distance_type"}
WHOLE = "$"


@dataclass
class IndexSpec:
    """A validated ``index`` config: the original dict, field paths and embedder (if any)."""

    config: dict[str, Any] | None
    fields: list[Any] | None  # tokenized paths; None: the default text rule
    embedder: Embedder | None
    embeddings: Any  # what the user passed as ``embed`` (LangGraph stores expose it)


def parse_index(index: Any) -> IndexSpec:
    """Validate LangGraph's ``index`` dict (``None``: the default text, Memory's embedder)."""
    if index is None:
        return IndexSpec(None, None, None, None)
    if not isinstance(index, Mapping):
        raise ConfigurationError(f"index must be a dict like {{'fields': ['text']}}, got {index!r}")
    unknown = set(index) - _KEYS
    if unknown:
        raise ConfigurationError(
            f"unsupported index options {sorted(unknown)}; use {sorted(_KEYS)}"
        )
    distance = index.get("distance_type")
    if distance not in (None, "cosine"):
        raise ConfigurationError(
            f"distance_type={distance!r} is not supported: mnemoweave ranks by cosine similarity"
        )
    if index.get("fields") is not None and index.get("text_fields") is not None:
        raise ConfigurationError("pass index 'fields' or 'text_fields', not both")
    fields = index.get("fields", index.get("text_fields"))
    dims = index.get("dims")
    embed = index.get("embed")
    embedder = None if embed is None else langchain_embedder(embed, dims=dims)
    paths = None if fields is None else tokenize(fields)
    return IndexSpec(dict(index), paths, embedder, embed)


def tokenize(fields: Any) -> list[Any]:
    """LangGraph field paths (``"a.b"``, ``"list[0]"``, ``"$"``) in their parsed form."""
    if isinstance(fields, str) or not isinstance(fields, Sequence) or not fields:
        raise ValidationError(f"index fields must be a non-empty list of paths, got {fields!r}")
    out: list[Any] = []
    for path in fields:
        if not isinstance(path, str) or not path:
            raise ValidationError(f"index field paths must be non-empty strings, got {path!r}")
        out.append(path if path == WHOLE else tokenize_path(path))
    return out


def whole_json(value: Mapping[str, Any]) -> str:
    try:
        return json.dumps(value, sort_keys=True, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"store values must be JSON-serialisable: {exc}") from exc


def content_text(value: Mapping[str, Any]) -> str | None:
    """LangMem's memory text: ``value["content"]``, or ``value["content"]["content"]``."""
    content = value.get("content")
    if isinstance(content, Mapping):
        content = content.get("content")
    return content if isinstance(content, str) and content.strip() else None


def item_text(value: Mapping[str, Any], paths: list[Any] | None) -> str:
    """The text to embed and search for ``value`` ("" when the selected paths hold none).

    ``paths=None`` is the default rule: LangMem-shaped values are stored as their content
    (so other mnemoweave adapters recall readable text), anything else as its JSON.
    """
    if paths is None:
        return content_text(value) or whole_json(value)
    texts = []
    for path in paths:
        if path == WHOLE:
            texts.append(whole_json(value))
        else:
            texts.extend(t for t in get_text_at_path(value, path) if t.strip())
    return "\n".join(texts)
