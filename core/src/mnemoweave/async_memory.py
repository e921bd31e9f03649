"""``AsyncMemory``: the same API as ``Memory`` with ``async def``, never blocking the event loop.

SQLite, FAISS and local embedding run in worker threads; the LLM call uses ``AsyncOpenAI``.
On a backend with an async driver (PostgreSQL) ``search``, ``get``, ``get_all``, ``count``
and ``history`` run their statements on its async pool instead, with no thread waiting.
Adds for the same scope are serialised (so reconciliation never races with itself); adds for
different scopes run concurrently.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Unpack, overload

from . import _adding, _docinfer, _reading, _searching
from . import _validate as check
from ._adding import AddOptions, AddRequest
from ._engine import Engine
from .backends.base import AsyncReads
from .config import MemoryConfig
from .embed import Embedder
from .memory import AddHandle, Memory
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


class AsyncAddHandle:
    """The pending result of ``await mem.add(..., background=True)``: ``await handle.result()``.

    The add runs on the store's worker threads, so it finishes even if the event loop that
    started it ends first.
    """

    def __init__(self, handle: AddHandle) -> None:
        self._handle = handle

    def done(self) -> bool:
        return self._handle.done()

    async def result(self) -> AddResult:
        """Wait for the add and return its result (re-raising its error, if any)."""
        return await asyncio.wrap_future(self._handle._future)

    def __await__(self) -> Any:
        return self.result().__await__()


class AsyncMemory:
    """Asynchronous twin of :class:`mnemoweave.Memory` (same arguments, same results)."""

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        embedder: str | Mapping[str, Any] | Embedder | None = None,
        llm: Any = None,
        config: MemoryConfig | Mapping[str, Any] | None = None,
        **options: Any,
    ) -> None:
        self._sync = Memory(path, embedder=embedder, llm=llm, config=config, **options)

    @classmethod
    def wrap(cls, memory: Memory) -> AsyncMemory:
        """An async front end over an existing ``Memory`` (same store, same lock)."""
        out = cls.__new__(cls)
        out._sync = memory
        return out

    @classmethod
    def from_config(cls, config: Any = None, *, config_dict: Any = None) -> AsyncMemory:
        """Build from a mem0-style config (a dict or ``mnemoweave.configs.MemoryConfig``)."""
        from .config import coerce_config

        return cls(config=coerce_config(config if config is not None else config_dict or {}))

    @property
    def sync(self) -> Memory:
        """The synchronous ``Memory`` underneath (shares the store and its lock)."""
        return self._sync

    @property
    def path(self) -> Path:
        return self._sync.path

    @property
    def config(self) -> MemoryConfig:
        return self._sync.config

    # -- add ---------------------------------------------------------------------------------
    # Overloads: background=True gives the handle, the default an AddResult.
    @overload
    async def add(
        self,
        messages: Any,
        *,
        background: Literal[False] = ...,
        window: bool = ...,
        **options: Unpack[AddOptions],
    ) -> AddResult: ...
    @overload
    async def add(
        self,
        messages: Any,
        *,
        background: Literal[True],
        window: bool = ...,
        **options: Unpack[AddOptions],
    ) -> AsyncAddHandle: ...
    @overload
    async def add(
        self,
        messages: Any,
        *,
        background: bool = ...,
        window: bool = ...,
        **options: Unpack[AddOptions],
    ) -> AddResult | AsyncAddHandle: ...
    async def add(
        self,
        messages: Any,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        infer: bool | None = None,
        timestamp: Any = None,
        expiration_date: Any = None,
        immutable: bool = False,
        memory_type: str | None = None,
        prompt: str | None = None,
        categories: Sequence[str] | None = None,
        includes: str | None = None,
        excludes: str | None = None,
        version: str | None = None,
        output_format: str | None = None,
        background: bool = False,
        window: bool = True,
    ) -> AddResult | AsyncAddHandle:
        """Like :meth:`Memory.add`; ``background=True`` returns an :class:`AsyncAddHandle`."""
        options: dict[str, Any] = {
            "user_id": user_id,
            "agent_id": agent_id,
            "run_id": run_id,
            "metadata": metadata,
            "infer": infer,
            "timestamp": timestamp,
            "expiration_date": expiration_date,
            "immutable": immutable,
            "memory_type": memory_type,
            "prompt": prompt,
            "categories": categories,
            "includes": includes,
            "excludes": excludes,
            "version": version,
            "output_format": output_format,
        }
        req = self._sync._plan(messages, options, window)
        if check.flag(background, "background"):
            return AsyncAddHandle(self._sync._submit(req))
        return await self._run_add(req)

    async def _run_add(self, req: AddRequest) -> AddResult:
        if not req.infer:
            return await asyncio.to_thread(_adding.add_raw, self._sync._engine, req)
        # The same per-scope lock as the sync and background paths, taken without blocking
        # the loop (and without leaking it if this coroutine is cancelled while waiting).
        lock = self._sync._engine.scope_lock(req.key)
        while not lock.acquire(blocking=False):  # noqa: ASYNC110 (a thread lock, not a loop one)
            await asyncio.sleep(0.005)
        try:
            return await _docinfer.arun(self._sync._engine, req)  # one call, or one per chunk
        finally:
            lock.release()

    async def aflush(self) -> None:
        """Wait until every background add has finished (errors stay on their handles)."""
        await asyncio.to_thread(self._sync.flush)

    flush = aflush

    # -- reads: on the backend's async pool when it has one, else in a worker thread ---------
    def _native(self, *, search: bool = False) -> tuple[Engine | None, AsyncReads | None]:
        """The engine and its async-capable backend; (None, None) for a wrapped remote client."""
        engine: Engine | None = getattr(self._sync, "_engine", None)
        if engine is None:
            return None, None
        return engine, _searching.native_async(engine, search=search)

    async def search(self, query: str, **kwargs: Any) -> SearchResult:
        """Like :meth:`Memory.search`."""
        engine, backend = self._native(search=True)
        if engine is None or backend is None:
            return await asyncio.to_thread(self._sync.search, query, **kwargs)
        args = _reading.search_args(self._sync.config, query, **kwargs)
        await engine.aawait_writes(args.selection.scope)
        found = await _searching.asearch(
            engine, backend, args.query, args.selection, **args.options()
        )
        return SearchResult._trusted({"results": found})

    async def get(self, memory_id: str) -> MemoryItem:
        backend = self._native()[1]
        if backend is None:
            return await asyncio.to_thread(self._sync.get, memory_id)
        memory_id = check.memory_id(memory_id)
        async with backend.aread() as reader:
            found = await reader.item(memory_id)
        return _reading.found_item(found, memory_id)

    async def get_all(self, **kwargs: Any) -> MemoryList:
        engine, backend = self._native()
        if engine is None or backend is None:
            return await asyncio.to_thread(self._sync.get_all, **kwargs)
        args = _reading.page_args(**kwargs)
        await engine.aawait_writes(args.selection.scope)
        async with backend.aread() as reader:
            items, total = await reader.page(args.selection, args.limit, args.offset)
        return args.result(items, total)

    async def count(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        include_expired: bool = False,
    ) -> int:
        """Like :meth:`Memory.count`."""
        page = await self.get_all(
            user_id=user_id,
            agent_id=agent_id,
            run_id=run_id,
            limit=1,
            include_expired=include_expired,
        )
        return page.total

    async def history(self, memory_id: str) -> list[HistoryEntry]:
        backend = self._native()[1]
        if backend is None:
            return await asyncio.to_thread(self._sync.history, memory_id)
        memory_id = check.memory_id(memory_id)
        async with backend.aread() as reader:
            entries = await reader.history(memory_id)
        return _reading.found_history(entries, memory_id)

    # -- everything else runs the sync implementation in a worker thread ---------------------
    async def scopes(self) -> ScopeList:
        return await asyncio.to_thread(self._sync.scopes)

    async def users(self) -> EntityList:
        """Like :meth:`Memory.users`."""
        return (await self.scopes()).entities()

    async def feedback(
        self,
        memory_id: str,
        feedback: str | None = None,
        *,
        reason: str | None = None,
        feedback_reason: str | None = None,
    ) -> dict[str, Any]:
        """Like :meth:`Memory.feedback`."""
        return await asyncio.to_thread(
            self._sync.feedback, memory_id, feedback, reason=reason, feedback_reason=feedback_reason
        )

    async def delete_users(
        self, *, user_id: str | None = None, agent_id: str | None = None, run_id: str | None = None
    ) -> dict[str, Any]:
        """Like :meth:`Memory.delete_users`."""
        ids = {"user_id": user_id, "agent_id": agent_id, "run_id": run_id}
        return await asyncio.to_thread(lambda: self._sync.delete_users(**ids))

    async def update(self, memory_id: str, data: str | None = None, **kwargs: Any) -> MemoryItem:
        return await asyncio.to_thread(self._sync.update, memory_id, data, **kwargs)

    async def delete(self, memory_id: str, *, source: bool = False) -> dict[str, Any]:
        """Like :meth:`Memory.delete` (``source=True`` also erases the source messages)."""
        return await asyncio.to_thread(self._sync.delete, memory_id, source=source)

    async def delete_all(self, **kwargs: Any) -> dict[str, Any]:
        return await asyncio.to_thread(self._sync.delete_all, **kwargs)

    async def batch_add(self, records: Sequence[Mapping[str, Any]]) -> BatchResult:
        return await asyncio.to_thread(self._sync.batch_add, records)

    async def batch_update(self, updates: Sequence[Mapping[str, Any]]) -> BatchResult:
        return await asyncio.to_thread(self._sync.batch_update, updates)

    async def batch_delete(self, memory_ids: Sequence[str], *, source: bool = False) -> BatchResult:
        return await asyncio.to_thread(self._sync.batch_delete, memory_ids, source=source)

    async def get_messages(self, **kwargs: Any) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self._sync.get_messages, **kwargs)

    async def append_messages(self, messages: Any, **kwargs: Any) -> None:
        await asyncio.to_thread(self._sync.append_messages, messages, **kwargs)

    async def clear_messages(self, **kwargs: Any) -> int:
        return await asyncio.to_thread(self._sync.clear_messages, **kwargs)

    async def reset(self) -> None:
        await asyncio.to_thread(self._sync.reset)

    async def close(self) -> None:
        """Finish background adds, then save the index and close the store."""
        await self.aflush()
        backend = self._native()[1]
        if backend is not None:  # the async pool is this loop's: close it here
            await backend.aclose()
        closer = getattr(self._sync.llm, "aclose", None)
        if callable(closer):
            await closer()
        await asyncio.to_thread(self._sync.close)

    async def __aenter__(self) -> AsyncMemory:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"Async{self._sync!r}"
