"""``PostgresBackend``: the :class:`~mnemoweave.backends.base.Backend` over one collection.

A collection is one PostgreSQL schema. Reads are ``REPEATABLE READ, READ ONLY`` transactions
(one snapshot each); writes take the collection's writer lock first (see :mod:`._writes`).
Connections come from a ``psycopg_pool.ConnectionPool``; every one has the collection's schema
on its ``search_path`` and pgvector's types registered. ``AsyncMemory``'s reads use async
connections (:mod:`._async_pool`) opened on first use. Database failures leave as
:class:`StorageError` naming the (password-free) location.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from typing import Any

import psycopg
from pgvector.psycopg import register_vector
from psycopg import sql
from psycopg_pool import ConnectionPool

from ...errors import StorageError
from . import _binding as binding
from ._async_pool import AsyncPool, AsyncPostgresReader
from ._keys import Target, lock_key
from ._migrations import migrate
from ._reads import PostgresReader
from ._writes import PostgresWriter

logger = logging.getLogger("mnemoweave")

# The tables that hold memory text (VACUUM FULL of a table rewrites its TOAST table too).
_TEXT_TABLES = ("memories", "memory_versions", "history", "messages")
_TABLES = (
    "memories",
    "memory_versions",
    "history",
    "messages",
    "memory_sources",
    "scope_leases",
    "meta",
    "embedding_models",
)


class PostgresBackend:
    """One collection (schema) of a PostgreSQL database with pgvector, through a pool."""

    def __init__(self, target: Target, *, busy_timeout: float = 30.0) -> None:
        self.location = target.location
        self.schema = target.collection
        self._timeout = busy_timeout
        self._vacuum_erasures = target.erase == "vacuum"
        self._write_key = lock_key("write", self.schema)
        self.bound: binding.Bound | None = None
        self._closed = False
        self._async = AsyncPool(target, self.schema, busy_timeout)
        try:
            with psycopg.connect(
                target.conninfo, autocommit=True, connect_timeout=max(1, int(busy_timeout))
            ) as conn:
                migrate(conn, self.schema)
                self._configure(conn)
                self.bound = binding.read(conn)
        except psycopg.Error as exc:
            raise self._error(exc, "opening the collection") from exc
        self.pool = ConnectionPool(
            target.conninfo,
            min_size=target.pool_min,
            max_size=target.pool_max,
            kwargs={"autocommit": True},
            configure=self._configure,
            # A connection the server dropped (restart, idle timeout) is replaced, not used.
            check=ConnectionPool.check_connection,
            timeout=busy_timeout,
            name=f"mnemoweave-{self.schema}",
            open=True,
        )

    def _configure(self, conn: psycopg.Connection) -> None:
        """Each pooled connection: the collection's schema first, pgvector's types known."""
        conn.execute(sql.SQL("SET search_path TO {}, public").format(sql.Identifier(self.schema)))
        register_vector(conn)

    def _error(self, exc: psycopg.Error, action: str) -> StorageError:
        return StorageError(f"PostgreSQL failed {action} at {self.location}: {exc}".strip())

    def _check_open(self) -> None:
        if self._closed:
            raise StorageError("this memory store is closed")

    # -- transactions ----------------------------------------------------------------------
    @contextmanager
    def read(self) -> Iterator[PostgresReader]:
        self._check_open()
        try:
            with self.pool.connection() as conn, conn.transaction():
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                yield PostgresReader(conn, self)
        except psycopg.Error as exc:
            raise self._error(exc, "reading") from exc

    def serves_async(self) -> bool:
        """Whether :meth:`aread` may run on the running event loop (see ``_async_pool``)."""
        return not self._closed and self._async.serves()

    def aread(self) -> AbstractAsyncContextManager[AsyncPostgresReader]:
        """A read snapshot on the async pool: no worker thread waits on the database."""
        self._check_open()
        return self._async.read(self, self._error)

    async def aclose(self) -> None:
        """Close the async pool (the sync pool closes with :meth:`close`)."""
        await self._async.close()

    @contextmanager
    def write(self) -> Iterator[PostgresWriter]:
        self._check_open()
        try:
            with self.pool.connection() as conn:
                with conn.transaction():
                    conn.execute(f"SET LOCAL lock_timeout = '{int(self._timeout * 1000)}ms'")
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (self._write_key,))
                    writer = PostgresWriter(self, conn)
                    yield writer
                if writer.erased and self._vacuum_erasures:
                    writer.vacuumed = self._vacuum(conn, _TEXT_TABLES)
        except psycopg.errors.LockNotAvailable as exc:
            raise StorageError(
                f"could not take the write lock of {self.location} within "
                f"{self._timeout:.0f}s: {exc}"
            ) from exc
        except psycopg.Error as exc:
            raise self._error(exc, "writing") from exc

    # -- model binding and upkeep ----------------------------------------------------------
    def bind_model(self, model: str, dim: int) -> None:
        """Record (or check) the embedding model; no round trip once bound to the same one."""
        if self.bound is not None and self.bound[1:] == (model, dim):
            return
        with self.write() as w:
            self.bound = binding.bind(w.conn, model, dim)

    def stats(self) -> dict[str, Any]:
        """Counts, table sizes, the model and the schema version (for ``mnemoweave stats``)."""
        with self.read() as r:
            conn = r.conn
            row = conn.execute(
                "SELECT count(*), coalesce(sum((status = 0)::int), 0) FROM memories"
            ).fetchone()
            versions = conn.execute("SELECT count(*) FROM memory_versions").fetchone()
            events = conn.execute("SELECT count(*) FROM history").fetchone()
            schema = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()
            size = conn.execute(
                "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c"
                " JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = %s AND c.relkind = 'r'",
                (self.schema,),
            ).fetchone()
        assert row is not None
        assert versions is not None
        assert events is not None
        assert schema is not None
        assert size is not None
        return {
            "backend": "postgres",
            "location": self.location,
            "memories": int(row[0]),
            "active": int(row[1]),
            "versions": int(versions[0]),
            "history_events": int(events[0]),
            "bytes_on_disk": int(size[0]),
            "model": self.bound[1] if self.bound else None,
            "dim": self.bound[2] if self.bound else None,
            "schema_version": schema[0],
        }

    def verify(self) -> dict[str, Any]:
        """One embedding model, every vector of its dimension."""
        with self.read() as r:
            binding.check_single_model(r.conn)
            found = r.conn.execute(
                "SELECT count(*), count(*) FILTER (WHERE vector_dims(embedding) <> %s)"
                " FROM memories",
                (self.bound[2] if self.bound else 0,),
            ).fetchone()
        assert found is not None
        if self.bound is not None and found[1]:
            raise StorageError(f"{found[1]} vectors are not {self.bound[2]}-dimensional")
        return {"ok": True, "memories": int(found[0]), "vectors_checked": int(found[0])}

    def checkpoint(self) -> None:
        """Nothing to fold: PostgreSQL checkpoints itself (see :meth:`purge` for erasure)."""
        self._check_open()

    def purge(self) -> None:
        """``VACUUM FULL`` the collection's tables: rewrites them, so erased rows' dead tuples
        leave the table files (WAL segments and backups keep them until they are recycled).
        Takes an exclusive lock on each table while it is rewritten."""
        self._check_open()
        try:
            with self.pool.connection() as conn:
                self._vacuum_all(conn, _TABLES)
        except psycopg.Error as exc:
            raise self._error(exc, "vacuuming") from exc

    def _vacuum_all(self, conn: psycopg.Connection, tables: tuple[str, ...]) -> None:
        conn.execute(f"SET lock_timeout = '{int(self._timeout * 1000)}ms'")
        try:
            for table in tables:
                conn.execute(
                    sql.SQL("VACUUM FULL {}.{}").format(
                        sql.Identifier(self.schema), sql.Identifier(table)
                    )
                )
        finally:
            conn.execute("RESET lock_timeout")

    def _vacuum(self, conn: psycopg.Connection, tables: tuple[str, ...]) -> bool:
        """After an erasure committed: rewrite ``tables``; False (logged) if that failed."""
        try:
            self._vacuum_all(conn, tables)
        except psycopg.Error as exc:
            logger.warning("mnemoweave: erased rows stay in %s until purge(): %s", self.schema, exc)
            return False
        return True

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._async.drop()
            self.pool.close()

    def __repr__(self) -> str:
        return f"PostgresBackend({self.location!r})"
