"""The async side of a collection: an ``AsyncConnectionPool`` bound to one event loop, and a
reader whose statements run on it without a worker thread.

An asyncio pool belongs to the loop that opened it, and an application may run several loops
(``asyncio.run`` per request, a loop per thread). The pool is opened by the first async read
and serves that loop only; :meth:`AsyncPool.serves` is false on any other loop, whose reads
then take the sync pool in a worker thread, so every loop gets correct results.
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
from psycopg_pool import AsyncConnectionPool

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
    """The collection's async pool, opened on first use by the loop it will serve."""

    def __init__(self, target: Target, schema: str, timeout: float) -> None:
        self._target = target
        self._schema = schema
        self._timeout = timeout
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._opening: asyncio.Future[AsyncConnectionPool] | None = None
        self._pool: AsyncConnectionPool | None = None

    def serves(self) -> bool:
        """Whether the running loop may use this pool (it is the pool's, or none is yet)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._loop is None:
                self._loop = loop
            return self._loop is loop and not loop.is_closed()

    async def _configure(self, conn: psycopg.AsyncConnection) -> None:
        await conn.execute(
            sql.SQL("SET search_path TO {}, public").format(sql.Identifier(self._schema))
        )
        await register_vector_async(conn)

    async def _open(self) -> AsyncConnectionPool:
        pool = AsyncConnectionPool(
            self._target.conninfo,
            min_size=self._target.pool_min,
            max_size=self._target.pool_max,
            kwargs={"autocommit": True},
            configure=self._configure,
            check=AsyncConnectionPool.check_connection,
            timeout=self._timeout,
            name=f"mnemoweave-{self._schema}-async",
            open=False,
        )
        await pool.open()
        return pool

    async def pool(self) -> AsyncConnectionPool:
        if self._pool is not None:
            return self._pool
        if self._opening is None:  # one opening per loop, however many readers start at once
            self._opening = asyncio.ensure_future(self._open())
        try:
            self._pool = await asyncio.shield(self._opening)
        except BaseException:
            self._opening = None if self._opening.done() else self._opening  # retry next time
            raise
        return self._pool

    @asynccontextmanager
    async def read(
        self, backend: PostgresBackend, error: Callable[[psycopg.Error, str], Exception]
    ) -> AsyncIterator[AsyncPostgresReader]:
        try:
            pool = await self.pool()
            async with pool.connection() as conn, conn.transaction():
                await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                yield AsyncPostgresReader(conn, backend)
        except psycopg.Error as exc:
            raise error(exc, "reading") from exc

    async def close(self) -> None:
        """Close the pool (from its own loop); a later async read opens a new one."""
        pool, self._pool, self._opening = self._pool, None, None
        with self._lock:
            self._loop = None
        if pool is not None:
            await pool.close()
