"""The shared kit of mnemoweave's framework adapters.

What every adapter needs lives here once: :class:`MemoryBinding` (a store bound to a scope),
:func:`render_memories` (recall as a quoted, delimited, token-budgeted prompt block),
message normalisation, sync/async bridging, and entry-point :func:`discover`. The contract
suite is :mod:`mnemoweave_adapters.contract`; AutoGen integrations are
:mod:`mnemoweave_adapters.autogen` (AgentChat) and :mod:`mnemoweave_adapters.ag2` (classic).
"""

from __future__ import annotations

from ._binding import ASYNC_STORES, SYNC_STORES, MemoryBinding, async_twin, result_ids
from ._discovery import GROUP, AdapterInfo, discover
from ._messages import last_user_text, normalize_role, text_of, to_message, to_messages
from ._options import BoundStore, StoreLike, bind_store, check_roles, check_token_budget
from ._render import (
    CLOSE_TAG,
    OPEN_TAG,
    approx_tokens,
    fit_memories,
    quote,
    render_memories,
    unquote_block,
    unquote_block_ids,
)
from ._sync import run_async, run_sync
from ._version import __version__

__all__ = [
    "ASYNC_STORES",
    "AdapterInfo",
    "BoundStore",
    "CLOSE_TAG",
    "GROUP",
    "MemoryBinding",
    "OPEN_TAG",
    "SYNC_STORES",
    "StoreLike",
    "__version__",
    "approx_tokens",
    "async_twin",
    "bind_store",
    "check_roles",
    "check_token_budget",
    "discover",
    "fit_memories",
    "last_user_text",
    "normalize_role",
    "quote",
    "render_memories",
    "result_ids",
    "run_async",
    "run_sync",
    "text_of",
    "to_message",
    "to_messages",
    "unquote_block",
    "unquote_block_ids",
]
