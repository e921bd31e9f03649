"""The shared kit of mnemoweave's framework adapters.

What every adapter needs lives here once: :class:`MemoryBinding` (a store bound to a scope),
:func:`render_memories` (recall as a quoted, delimited, token-budgeted prompt block),
message normalisation, sync/async bridging, the raw-storage policy (:class:`RawPolicy`:
what adapters store verbatim without an LLM), token counting (:func:`count_tokens`), and
entry-point :func:`discover`. The contract
suite is :mod:`mnemoweave_adapters.contract`; AutoGen integrations are
:mod:`mnemoweave_adapters.autogen` (AgentChat) and :mod:`mnemoweave_adapters.ag2` (classic).
"""

from __future__ import annotations

from ._binding import ASYNC_STORES, SYNC_STORES, MemoryBinding, async_twin, result_ids
from ._discovery import GROUP, AdapterInfo, discover
from ._messages import last_user_text, normalize_role, text_of, to_message, to_messages
from ._options import (
    BoundStore,
    StoreLike,
    bind_store,
    check_roles,
    check_token_budget,
    setting_spec,
)
from ._policy import DEFAULT_RAW_POLICY, SMALL_TALK, RawPolicy, final_answer, task_result
from ._render import (
    CLOSE_TAG,
    OPEN_TAG,
    approx_tokens,
    count_tokens,
    fit_memories,
    quote,
    render_memories,
    tiktoken_counter,
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
    "DEFAULT_RAW_POLICY",
    "GROUP",
    "MemoryBinding",
    "OPEN_TAG",
    "RawPolicy",
    "SMALL_TALK",
    "SYNC_STORES",
    "StoreLike",
    "__version__",
    "approx_tokens",
    "async_twin",
    "bind_store",
    "check_roles",
    "check_token_budget",
    "count_tokens",
    "discover",
    "final_answer",
    "fit_memories",
    "last_user_text",
    "normalize_role",
    "quote",
    "render_memories",
    "result_ids",
    "run_async",
    "run_sync",
    "setting_spec",
    "task_result",
    "text_of",
    "tiktoken_counter",
    "to_message",
    "to_messages",
    "unquote_block",
    "unquote_block_ids",
]
