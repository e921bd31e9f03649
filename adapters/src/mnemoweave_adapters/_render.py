"""Rendering recalled memories for a prompt: core's one delimited block of quoted data.

The block lives in :mod:`mnemoweave.llm.memory_block` so the memory server (MCP tools, the
OpenAI-compatible proxy) renders exactly what the adapters do; the kit re-exports it.
"""

from __future__ import annotations

from mnemoweave.llm.memory_block import (
    CLOSE_TAG,
    OPEN_TAG,
    PREAMBLE,
    approx_tokens,
    count_tokens,
    fit_memories,
    quote,
    render_line,
    render_memories,
    tiktoken_counter,
    unquote_block,
    unquote_block_ids,
)

__all__ = [
    "CLOSE_TAG",
    "OPEN_TAG",
    "PREAMBLE",
    "approx_tokens",
    "count_tokens",
    "fit_memories",
    "quote",
    "render_line",
    "render_memories",
    "tiktoken_counter",
    "unquote_block",
    "unquote_block_ids",
]
