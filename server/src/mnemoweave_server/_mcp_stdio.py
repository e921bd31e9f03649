"""MCP over stdio: one process per session, its scope fixed by whoever started it.

Desktop assistants and editors start ``mnemoweave-server mcp --user-id alice ...`` and talk
MCP on its stdin/stdout. The store is a local directory (``Memory``) or a memory server
(``mnemoweave.remote.MemoryClient``, whose key the server checks as for any client).
:func:`run_mcp_stdio` is the library form the ``mnemoweave mcp`` command wraps.
"""

from __future__ import annotations

from typing import Any

import anyio
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server

from ._mcp_tools import build_server, fixed_scope


def mcp_server(
    store: Any,
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
    run_id: str | None = None,
) -> Server[Any, Any]:
    """An MCP server (``mcp``'s low-level ``Server``) with the memory tools, every call in
    the given scope of ``store`` (a ``Memory`` or a ``MemoryClient``; at least one id)."""
    scope = fixed_scope(store, user_id=user_id, agent_id=agent_id, run_id=run_id)
    return build_server(lambda request: scope)


async def run_mcp_stdio_async(
    store: Any,
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
    run_id: str | None = None,
) -> None:
    """Serve the memory tools over this process's stdin/stdout until the client hangs up."""
    server = mcp_server(store, user_id=user_id, agent_id=agent_id, run_id=run_id)
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


def run_mcp_stdio(
    store: Any,
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
    run_id: str | None = None,
) -> None:
    """Blocking form of :func:`run_mcp_stdio_async` (the store stays open; the caller owns it)."""
    anyio.run(lambda: run_mcp_stdio_async(store, user_id=user_id, agent_id=agent_id, run_id=run_id))
