"""``AsyncMemoryClient``: the asynchronous remote ``Memory`` (see :mod:`mnemoweave.remote`)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from . import _remote_wire as wire
from . import _validate as check
from ._remote_sync import MemoryClient
from .async_memory import AsyncAddHandle
from .config import MemoryConfig
from .memory import AddHandle
from .types import (
    AddResult,
    BatchResult,
    EntityList,
    HistoryEntry,
    MemoryItem,
    MemoryList,
    ScopeList,
    SearchResult,
)


class AsyncMemoryClient:
    """Asynchronous twin of :class:`MemoryClient` (the remote ``AsyncMemory``).

    One ``httpx.AsyncClient`` per event loop, so the client keeps working across
    ``asyncio.run`` calls. ``sync`` is a :class:`MemoryClient` on the same server, used for
    background adds (which outlive the loop that started them, as ``AsyncMemory``'s do).
    """

    def __init__(
        self,
        host: str | None = None,
        *,
        api_key: str | None = None,
        timeout: float = 30.0,
        headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.host, self.api_key = wire.settings(host, api_key)
        self._timeout = timeout
        self._extra_headers = dict(headers or {})
        self._transport = transport
        self._loop: asyncio.AbstractEventLoop | None = None
        self._http: httpx.AsyncClient | None = None
        self._sync: MemoryClient | None = None
        self._owns_sync = True

    @classmethod
    def wrap(cls, client: MemoryClient) -> AsyncMemoryClient:
        """An async client on the same server, key and background pool as ``client``."""
        out = cls(client.host, api_key=client.api_key, timeout=client._timeout)
        out._extra_headers = client._extra_headers
        out._sync = client
        out._owns_sync = False
        return out

    @property
    def sync(self) -> MemoryClient:
        """The synchronous client underneath (created on first use)."""
        if self._sync is None:
            self._sync = MemoryClient(
                self.host, api_key=self.api_key, timeout=self._timeout, headers=self._extra_headers
            )
        return self._sync

    @property
    def path(self) -> None:
        return None

    @property
    def config(self) -> MemoryConfig:
        return self.sync.config

    def _client(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._http is None or self._loop is not loop:
            # A client from a finished loop cannot be closed from this one; drop it.
            self._http = httpx.AsyncClient(
                base_url=self.host,
                headers=wire.headers(self.api_key, self._extra_headers),
                timeout=self._timeout,
                transport=self._transport,
                follow_redirects=False,
            )
            self._loop = loop
        return self._http

    async def _send(self, call: wire.Call) -> Any:
        try:
            response = await self._client().request(
                call.method, call.path, json=call.body, params=call.params
            )
        except httpx.HTTPError as exc:
            raise wire.unreachable(self.host, exc) from exc
        return wire.finish(call, response)

    # -- add -----------------------------------------------------------------------------
    async def add(
        self, messages: Any, *, background: bool = False, **kwargs: Any
    ) -> AddResult | AsyncAddHandle:
        """Like :meth:`mnemoweave.AsyncMemory.add`."""
        if background:
            handle = self.sync.add(messages, background=True, **kwargs)
            assert isinstance(handle, AddHandle)
            return AsyncAddHandle(handle)
        check.legacy(kwargs)
        result: AddResult = await self._send(wire.add(messages, kwargs))
        return result

    async def aflush(self) -> None:
        """Wait until every background add has finished."""
        if self._sync is not None:
            await asyncio.to_thread(self._sync.flush)

    flush = aflush

    # -- the rest mirrors MemoryClient ----------------------------------------------------
    async def search(self, query: str, **kwargs: Any) -> SearchResult:
        check.legacy(kwargs)
        result: SearchResult = await self._send(wire.search(query, kwargs))
        return result

    async def get(self, memory_id: str) -> MemoryItem:
        item: MemoryItem = await self._send(wire.get(memory_id))
        return item

    async def get_all(self, **kwargs: Any) -> MemoryList:
        check.legacy(kwargs)
        listed: MemoryList = await self._send(wire.get_all(kwargs))
        return listed

    async def count(self, **kwargs: Any) -> int:
        return int(await self._send(wire.count(kwargs)))

    async def history(self, memory_id: str) -> list[HistoryEntry]:
        entries: list[HistoryEntry] = await self._send(wire.history(memory_id))
        return entries

    async def scopes(self) -> ScopeList:
        found: ScopeList = await self._send(wire.scopes())
        return found

    async def users(self) -> EntityList:
        return (await self.scopes()).entities()

    async def feedback(
        self,
        memory_id: str,
        feedback: str | None = None,
        *,
        reason: str | None = None,
        feedback_reason: str | None = None,
    ) -> dict[str, Any]:
        why = check.alias(reason, None, feedback_reason, "reason", "feedback_reason")
        result: dict[str, Any] = await self._send(wire.feedback(memory_id, feedback, why))
        return result

    async def delete_users(
        self, *, user_id: str | None = None, agent_id: str | None = None, run_id: str | None = None
    ) -> dict[str, Any]:
        out = await self.delete_all(**check.entity_ids(user_id, agent_id, run_id))
        return {**out, "message": check.ENTITY_DELETED}

    async def update(self, memory_id: str, data: str | None = None, **kwargs: Any) -> MemoryItem:
        item: MemoryItem = await self._send(wire.update(memory_id, {"data": data, **kwargs}))
        return item

    async def delete(self, memory_id: str, *, source: bool = False) -> dict[str, Any]:
        result: dict[str, Any] = await self._send(wire.delete(memory_id, source))
        return result

    async def delete_all(
        self, *, user_id: str | None = None, agent_id: str | None = None, run_id: str | None = None
    ) -> dict[str, Any]:
        result: dict[str, Any] = await self._send(wire.delete_all(user_id, agent_id, run_id))
        return result

    async def batch_add(self, records: Sequence[Mapping[str, Any]]) -> BatchResult:
        result: BatchResult = await self._send(wire.batch("add", records))
        return result

    async def batch_update(self, updates: Sequence[Mapping[str, Any]]) -> BatchResult:
        result: BatchResult = await self._send(wire.batch("update", updates))
        return result

    async def batch_delete(self, memory_ids: Sequence[str], *, source: bool = False) -> BatchResult:
        result: BatchResult = await self._send(wire.batch("delete", memory_ids, source=source))
        return result

    async def get_messages(self, **kwargs: Any) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = await self._send(wire.get_messages(kwargs))
        return messages

    async def append_messages(self, messages: Any, **kwargs: Any) -> None:
        await self._send(wire.append_messages(messages, kwargs))

    async def clear_messages(self, **kwargs: Any) -> int:
        return int(await self._send(wire.clear_messages(kwargs)))

    async def reset(self) -> None:
        await self._send(wire.reset())

    async def close(self) -> None:
        """Finish background adds, then close the connection pools."""
        await self.aflush()
        if self._http is not None and self._loop is asyncio.get_running_loop():
            await self._http.aclose()
        self._http = None
        if self._sync is not None and self._owns_sync:
            await asyncio.to_thread(self._sync.close)

    async def __aenter__(self) -> AsyncMemoryClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"AsyncMemoryClient(host={self.host!r})"
