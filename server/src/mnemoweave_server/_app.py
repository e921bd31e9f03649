"""The app factory: one FastAPI app per worker, owning its store, keys and webhook sender.

``create_app(settings)`` builds the app; the store opens when uvicorn starts it (lifespan)
and closes when it stops, and with it the MCP session manager (``/mcp``) and the chat
proxy's upstream client (``/v1/chat/completions``). More routers mount on the returned app
and reuse ``get_memory`` / ``authenticate`` from ``mnemoweave_server``.
"""

from __future__ import annotations

import asyncio
import inspect
import secrets
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

import mnemoweave
from mnemoweave import Memory
from mnemoweave.errors import ConfigurationError

from . import _errors, _mcp_http, _proxy, _ui
from ._context import ServerContext
from ._keys import KeyStore
from ._limits import BodyLimit, RateLimiter
from ._metrics import Metrics, MetricsMiddleware
from ._routes_mem0 import router as mem0_router
from ._routes_memories import router as memories_router
from ._routes_service import api as service_api
from ._routes_service import router as service_router
from ._settings import ServerSettings
from ._webhooks import Dispatcher, WebhookStore


def open_context(settings: ServerSettings, metrics: Metrics) -> ServerContext:
    """Open everything a worker serves from: keys, webhooks, then the store."""
    store = settings.store_path()
    if store is None:
        raise ConfigurationError(
            f"backend {settings.backend!r}: only store directories (SQLite) are supported by "
            "this version; the PostgreSQL backend is not available yet"
        )
    data = settings.data_path()
    data.mkdir(parents=True, exist_ok=True, mode=0o700)
    keys = KeyStore(settings.keys_path())
    webhooks = WebhookStore(data / "server.db")
    dispatcher = Dispatcher(
        webhooks,
        keys,
        metrics,
        allow_private=settings.webhooks_allow_private,
        timeout=settings.webhook_timeout,
        attempts=settings.webhook_attempts,
        backoff=settings.webhook_backoff,
    )
    try:
        memory = Memory(
            store,
            embedder=settings.embedder,
            llm=settings.llm,
            on_event=dispatcher.submit,
            **settings.memory_options,
        )
    except BaseException:
        dispatcher.close(grace=0)
        webhooks.close()
        raise
    limiter = RateLimiter(settings.rate_limit, settings.rate_burst)
    return ServerContext(settings, memory, keys, metrics, limiter, webhooks, dispatcher)


def close_context(ctx: ServerContext) -> None:
    try:
        ctx.memory.close()
    finally:
        ctx.dispatcher.close()
        ctx.webhooks.close()


def _quiet() -> dict[str, Any]:
    """FastAPI's own OpenTelemetry hooks off (newer FastAPI has them; no telemetry here)."""
    if "telemetry" in inspect.signature(FastAPI.__init__).parameters:
        return {"telemetry": {"tracing": False, "metrics": False, "logs": False}}
    return {}


def create_app(settings: ServerSettings | None = None) -> FastAPI:
    """The server app for ``settings`` (default: from the environment, as workers get them)."""
    settings = settings or ServerSettings.from_env()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ctx = await asyncio.to_thread(open_context, settings, metrics)
        app.state.context = ctx
        try:
            async with AsyncExitStack() as stack:
                await stack.enter_async_context(_mcp_http.running(app))
                await stack.enter_async_context(_proxy.running(app, ctx))
                yield
        finally:
            app.state.context = None
            await asyncio.to_thread(close_context, ctx)

    app = FastAPI(
        title="mnemoweave",
        version=mnemoweave.__version__,
        summary="Long-term memory for LLM agents, as a service.",
        lifespan=lifespan,
        **_quiet(),
    )
    app.state.context = None
    app.state.settings = settings
    app.state.metrics = metrics
    _errors.install(app)
    app.include_router(service_router)
    app.include_router(memories_router)
    app.include_router(service_api)
    app.include_router(mem0_router)
    app.include_router(_proxy.router)
    app.include_router(_ui.router)
    _mcp_http.mount(app)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
        )
    app.add_middleware(MetricsMiddleware, metrics=metrics, worker=secrets.token_hex(4))
    return app


def app_from_env() -> FastAPI:
    """The factory uvicorn workers call (``mnemoweave_server._app:app_from_env``)."""
    return create_app(ServerSettings.from_env())
