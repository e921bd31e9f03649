"""MCP over streamable HTTP at ``/mcp``, behind the server's API keys.

Every HTTP request to ``/mcp`` is authenticated like a REST route (401 without a key, 429
over its rate limit) and names its scope like the proxy does (``_session``: the
``X-Mnemoweave-User-Id`` header, ``?user_id=``, or the one user a key is bound to), checked
against the key's users (403 outside) on every request. MCP messages are then handled
statelessly with JSON answers, so any worker can answer any request of a session.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from mnemoweave.errors import MnemoweaveError

from . import _errors
from ._context import authenticate, context_of
from ._mcp_tools import McpScope, build_server
from ._session import request_scope

PATH = "/mcp"
_STATE_KEY = "mnemoweave_mcp_scope"


def _scope_of(request: Any) -> McpScope:
    found = getattr(getattr(request, "state", None), _STATE_KEY, None)
    if not isinstance(found, McpScope):  # only reachable if a request bypassed the endpoint
        raise RuntimeError("MCP request without an authenticated scope")
    return found


class McpEndpoint:
    """The ASGI endpoint at ``/mcp``: authenticate, fix the scope, hand over to MCP."""

    def __init__(self) -> None:
        self.route = Route(PATH, endpoint=self)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["route"] = self.route  # the metrics label this route as /mcp
        request = Request(scope, receive)
        try:
            who = await authenticate(request)
            ctx = context_of(request)
            ids = request_scope(who, request, what="this MCP session")
        except MnemoweaveError as exc:
            response = await _errors.mnemoweave_error(request, exc)
            await response(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        state[_STATE_KEY] = McpScope(ctx.memory, ids, who, ctx.settings.max_text_chars)
        manager: StreamableHTTPSessionManager = request.app.state.mcp_manager
        await manager.handle_request(scope, receive, send)


def mount(app: FastAPI) -> None:
    """Serve MCP at ``/mcp`` on ``app`` (the session manager runs in :func:`running`)."""
    app.router.routes.append(McpEndpoint().route)


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[None]:
    """Run one MCP session manager for the app's lifetime (one per worker process)."""
    manager = StreamableHTTPSessionManager(
        app=build_server(_scope_of),
        json_response=True,
        stateless=True,
        # Every request needs an API key, which a rebinding page does not have; Host checks
        # would only break deployments behind a proxy or a DNS name.
        security_settings=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    app.state.mcp_manager = manager
    async with manager.run():
        yield
