"""The async side of a collection: async connections bound to one event loop, and a reader
whose statements run on them without a worker thread.

An async connection belongs to the loop that opened it, and an application may run several
loops (``asyncio.run`` per request, a loop per thread). The pool serves the loop that read
first; :meth:`AsyncPool.serves` is false on any other loop while that one runs, and those reads
take the sync pool in a worker thread, so every loop gets correct results.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import numpy as np
import psycopg
from pgvector.psycopg import register_vector_async
from psycopg import sql

from ...errors import StorageError
from ...types import HistoryEntry, MemoryItem
from ..base import Scored, Selection
from . import _reads as reads
from ._plans import arun

if TYPE_CHECKING:
    from ._backend import PostgresBackend
    from ._keys import Target


class AsyncPostgresReader:
    """One ``REPEATABLE READ, READ ONLY`` transaction on an async connection."""

    def __init__(self, conn: psycopg.AsyncConnection, backend: PostgresBackend) -> None:
        self.conn = conn
        self._backend = backend

    async def score(self, selection: Selection, query: np.ndarray, terms: np.ndarray) -> Scored:
        return await arun(self.conn, reads.score_plan(self._backend.bound, selection, query, terms))

    async def items(self, keys: Sequence[int], versions: Sequence[int] | None) -> list[MemoryItem]:
        return await arun(self.conn, reads.items_plan(keys, versions))

    async def item(self, memory_id: str) -> MemoryItem | None:
        return await arun(self.conn, reads.item_plan(memory_id))

    async def page(
        self, selection: Selection, limit: int, offset: int
    ) -> tuple[list[MemoryItem], int]:
        return await arun(self.conn, reads.page_plan(selection, limit, offset))

    async def history(self, memory_id: str) -> list[HistoryEntry]:
        return await arun(self.conn, reads.history_plan(memory_id))


class AsyncPool:
    """Up to ``pool_max`` async connections for the loop that first reads, kept between reads.

    No background tasks (``psycopg_pool.AsyncConnectionPool`` runs workers on the loop, which
    die noisily when a caller's loop closes before the pool does): a read takes an idle
    connection or opens one, and gives it back afterwards. When the owning loop has closed,
    the next loop to read drops its connections and takes over.
    """

    def __init__(self, target: Target, schema: str, timeout: float) -> None:
        self._target = target
        self._schema = schema
        self._timeout = timeout
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots: asyncio.Semaphore | None = None
        self._idle: list[psycopg.AsyncConnection] = []
        #: Connections opened so far (for tests and stats).
        self.opened = 0

    def serves(self) -> bool:
        """Whether the running loop may use this pool (it is the pool's, or none is yet)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._loop is not None and self._loop is not loop and self._loop.is_closed():
                self.drop()
            if self._loop is None:
                self._loop, self._slots = loop, asyncio.Semaphore(self._target.pool_max)
            return self._loop is loop

    def drop(self) -> None:
        """Close the idle connections at once (no loop needed) and forget the owning loop."""
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.pgconn.finish()
        self._loop = self._slots = None

    async def _connect(self) -> psycopg.AsyncConnection:
        conn = await psycopg.AsyncConnection.connect(
            self._target.conninfo, autocommit=True, connect_timeout=max(1, int(self._timeout))
        )
        await conn.execute(
            sql.SQL("SET search_path TO {}, public").format(sql.Identifier(self._schema))
        )
        await register_vector_async(conn)
        self.opened += 1
        return conn

    @asynccontextmanager
    async def read(
        self, backend: PostgresBackend, error: Callable[[psycopg.Error, str], Exception]
    ) -> AsyncIterator[AsyncPostgresReader]:
        if not self.serves():
            raise StorageError(
                f"the async connections of {backend.location} belong to another event loop; "
                "read from that loop, or through the sync Memory"
            )
        slots = self._slots
        assert slots is not None
        try:
            await asyncio.wait_for(slots.acquire(), self._timeout)
        except TimeoutError:
            raise StorageError(
                f"PostgreSQL failed reading at {backend.location}: no connection free within "
                f"{self._timeout:g}s (pool_max={self._target.pool_max})"
            ) from None
        conn: psycopg.AsyncConnection | None = None
        try:
            while self._idle and conn is None:
                conn = self._idle.pop()
                if conn.closed or conn.broken:
                    conn = None
            if conn is None:
                conn = await self._connect()
            async with conn.transaction():
                await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                yield AsyncPostgresReader(conn, backend)
            self._idle.append(conn)
            conn = None
        except psycopg.Error as exc:
            raise error(exc, "reading") from exc
        finally:
            if conn is not None:  # a failed read's connection is not reused
                conn.pgconn.finish()
            slots.release()

    async def close(self) -> None:
        """Close the connections (a later async read opens new ones)."""
        with self._lock:
            self.drop()
