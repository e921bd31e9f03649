"""What every route shares: the server context, the request's Memory, and its API key.

Other parts of the service (the MCP server, the OpenAI-compatible proxy) mount on the same app
and use the same three dependencies: ``Depends(get_memory)``, ``Depends(authenticate)`` and
``Principal.scope(...)`` to keep each key inside the users it may touch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from mnemoweave import Memory, MemoryItem
from mnemoweave.errors import (
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    StorageError,
)

from ._keys import ApiKey, KeyStore
from ._limits import RateLimiter
from ._metrics import Metrics
from ._settings import ServerSettings
from ._webhooks import Dispatcher, WebhookStore


@dataclass(slots=True)
class ServerContext:
    """One worker's server: settings, the store, keys, limits, metrics and webhooks."""

    settings: ServerSettings
    memory: Memory
    keys: KeyStore
    metrics: Metrics
    limiter: RateLimiter
    webhooks: WebhookStore
    dispatcher: Dispatcher


def context_of(request: Request) -> ServerContext:
    ctx = getattr(request.app.state, "context", None)
    if ctx is None:
        raise StorageError("the server is still starting (the store is not open yet)")
    assert isinstance(ctx, ServerContext)
    return ctx


def get_memory(request: Request) -> Memory:
    """The ``Memory`` this request works on (a FastAPI dependency)."""
    return context_of(request).memory


def _token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() in ("bearer", "token") and value.strip():
            return value.strip()
        return None
    key = request.headers.get("x-api-key")
    return key.strip() if key and key.strip() else None


def plain_filter_id(filters: Any, key: str) -> Any:
    """A scope id given as a plain top-level filter (or inside a top-level AND), else ``None``.

    Ids under ``OR`` or ``NOT`` never count: they could reach beyond one tenant.
    """
    if not isinstance(filters, Mapping):
        return None
    value = filters.get(key)
    if isinstance(value, Mapping) and set(value) == {"eq"}:
        value = value["eq"]
    if isinstance(value, str):
        return value
    parts = filters.get("AND")
    for part in parts if isinstance(parts, list) else ():
        found = plain_filter_id(part, key)
        if found is not None:
            return found
    return None


@dataclass(frozen=True, slots=True)
class Principal:
    """The API key a request came with, and the checks every route applies with it."""

    key: ApiKey

    def require_write(self) -> None:
        if self.key.read_only:
            raise PermissionDeniedError("this API key is read-only")

    def require_admin(self) -> None:
        if not self.key.admin:
            raise PermissionDeniedError("this operation needs an admin API key")

    def scope(
        self, user_id: Any, agent_id: Any, run_id: Any, filters: Any = None
    ) -> dict[str, Any]:
        """The scope ids to give core: unchanged for an unrestricted key; else the user is
        required (as ``user_id`` or a plain filter), must be one the key may touch, and is
        passed explicitly so no filter can widen the scope."""
        ids = {"user_id": user_id, "agent_id": agent_id, "run_id": run_id}
        if not self.key.restricted:
            return ids
        user = user_id if user_id is not None else plain_filter_id(filters, "user_id")
        if not isinstance(user, str) or not user:
            raise PermissionDeniedError(
                "this API key is bound to particular users: pass user_id with every call"
            )
        if not self.key.allows_user(user):
            raise PermissionDeniedError(f"this API key may not access user_id {user!r}")
        return {**ids, "user_id": user}

    def owned(self, memory: Memory, memory_id: Any) -> MemoryItem:
        """The memory ``memory_id`` if this key may see it; else the store's own not-found
        error, so another tenant's ids look exactly like ids that never existed."""
        item = memory.get(memory_id)
        if not self.key.allows_user(item.user_id):
            raise NotFoundError(f"no memory with id {memory_id!r}", memory_id=memory_id)
        return item


async def authenticate(request: Request) -> Principal:
    """The request's API key (401 without a valid one; 429 over the key's rate limit)."""
    ctx = context_of(request)
    token = _token(request)
    if token is None:
        raise AuthenticationError("missing API key: send 'Authorization: Bearer <key>'", status=401)
    key = ctx.keys.authenticate(token)
    if key is None:
        raise AuthenticationError("unknown or revoked API key", status=401)
    wait = ctx.limiter.take(key.id)
    if wait is not None:
        ctx.metrics.count("rate_limited")
        raise RateLimitError(
            f"rate limit of {ctx.settings.rate_limit:g} requests/s for this key exceeded",
            retry_after=wait,
        )
    return Principal(key)
