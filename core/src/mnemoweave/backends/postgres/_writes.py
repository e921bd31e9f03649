"""Writes of the PostgreSQL backend: one object per write transaction.

Every write transaction first takes the collection's writer lock (a transaction-scoped
advisory lock), so writers of one collection, in any process on any host, run one after
another exactly like SQLite's ``BEGIN IMMEDIATE``: leases, duplicate checks and the
embedding-model binding read what the previous writer committed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import psycopg

from ..._ids import scope_key
from ..base import KEEP, NewRow, Scope, Target
from ..sqlite._writes import FEEDBACK_SQL
from . import _binding as binding
from . import _transfer
from ._reads import exact_scope_sql, scope_sql

if TYPE_CHECKING:
    from ._backend import PostgresBackend

_INSERT_COLUMNS = (
    "rid, id, memory, hash, user_id, agent_id, run_id, actor_id, role, metadata, categories,"
    " memory_type, immutable, created_at, updated_at, valid_from, recorded_at, expires_at,"
    " terms, embedding, model_id"
)
_TARGET = "rid, id, memory, hash, user_id, agent_id, run_id, immutable, status"


def _target(row: Sequence[Any]) -> Target:
    return Target(
        key=int(row[0]),
        id=row[1],
        memory=row[2],
        hash=row[3],
        user_id=row[4],
        agent_id=row[5],
        run_id=row[6],
        immutable=bool(row[7]),
        active=row[8] == 0,
    )


def _load(
    conn: psycopg.Connection, table: str, columns: str, values: Sequence[Sequence[Any]]
) -> None:
    """Insert ``values`` with one prepared statement, pipelined by psycopg's ``executemany``.

    (Text-format COPY measured slower here: the vectors and term blobs go as text there, as
    binary parameters here.)
    """
    if values:
        marks = ", ".join(["%s"] * len(values[0]))
        with conn.cursor() as cur:
            cur.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", values)


class PostgresWriter:
    """A write transaction on one pooled connection, holding the collection's writer lock."""

    def __init__(self, backend: PostgresBackend, conn: psycopg.Connection) -> None:
        self._backend = backend
        self.conn = conn
        self.erased = False
        #: Set after commit when the backend rewrote the tables (``erase=vacuum``).
        self.vacuumed = False

    @property
    def erased_on_disk(self) -> bool | None:
        # Deleted rows stay in the table files as dead tuples until VACUUM FULL (purge()).
        return (self.vacuumed or False) if self.erased else None

    def _bound(self) -> binding.Bound:
        bound = self._backend.bound
        if bound is None:
            raise RuntimeError("bind_model must run before the first write")
        return bound

    def insert(self, rows: Sequence[NewRow], *, event: str = "ADD") -> list[int]:
        if not rows:
            return []
        bound = self._bound()
        binding.claim(self.conn, bound)
        found = self.conn.execute(
            "SELECT nextval(pg_get_serial_sequence('memories', 'rid')) FROM generate_series(1, %s)",
            (len(rows),),
        ).fetchall()
        rids = sorted(int(r[0]) for r in found)
        values = [
            (
                rid,
                r.id,
                r.memory,
                r.hash,
                r.user_id,
                r.agent_id,
                r.run_id,
                r.actor_id,
                r.role,
                r.metadata,
                r.categories,
                r.memory_type,
                int(r.immutable),
                r.recorded_at,
                r.recorded_at,
                r.timestamp,
                r.recorded_at,
                r.expires_at,
                r.terms,
                np.asarray(r.vector, dtype=np.float32),
                bound[0],
            )
            for rid, r in zip(rids, rows)
        ]
        _load(self.conn, "memories", _INSERT_COLUMNS, values)
        _load(
            self.conn,
            "history",
            "rid, memory_id, event, new_memory, actor_id, role, created_at",
            [
                (rid, r.id, event, r.memory, r.actor_id, r.role, r.recorded_at)
                for rid, r in zip(rids, rows)
            ],
        )
        return rids

    def target(self, memory_id: str, scope: Scope | None = None) -> Target | None:
        if scope is None:
            row = self.conn.execute(
                f"SELECT {_TARGET} FROM memories WHERE id = %s", (memory_id,)
            ).fetchone()
        else:
            exact, params = exact_scope_sql(scope)
            row = self.conn.execute(
                f"SELECT {_TARGET} FROM memories m WHERE m.id = %s AND {exact}",
                (memory_id, *params),
            ).fetchone()
        return None if row is None else _target(row)

    def targets(self, keys: Sequence[int]) -> list[Target]:
        rows = self.conn.execute(
            f"SELECT {_TARGET} FROM memories WHERE rid = ANY(%s) ORDER BY rid",
            ([int(k) for k in keys],),
        ).fetchall()
        return [_target(r) for r in rows]

    def duplicate(self, scope: Scope, digest: str) -> Target | None:
        exact, params = exact_scope_sql(scope)
        row = self.conn.execute(
            f"SELECT {_TARGET} FROM memories m WHERE {exact} AND m.status = 0 AND m.hash = %s"
            " ORDER BY m.rid LIMIT 1",
            (*params, digest),
        ).fetchone()
        return None if row is None else _target(row)

    def replace_text(
        self,
        key: int,
        *,
        text: str,
        hash_: str,
        terms: bytes,
        vector: np.ndarray,
        now: float,
        valid_from: float,
        metadata: str | None = None,
        actor_id: str | None = None,
        role: str | None = None,
    ) -> str:
        """New text for a memory, same id; the old text becomes a version row."""
        old = self.conn.execute(
            "SELECT id, memory, valid_from FROM memories WHERE rid = %s FOR UPDATE", (key,)
        ).fetchone()
        assert old is not None
        memory_id, old_text = old[0], old[1]
        ended = max(valid_from, float(old[2]))
        self.conn.execute(
            "INSERT INTO memory_versions (rid, memory, hash, metadata, categories, created_at,"
            " updated_at, valid_from, valid_to, recorded_at, expired_at, terms, embedding,"
            " model_id) SELECT rid, memory, hash, metadata, categories, created_at, updated_at,"
            " valid_from, %s, recorded_at, %s, terms, embedding, model_id"
            " FROM memories WHERE rid = %s",
            (ended, now, key),
        )
        self.conn.execute(
            "UPDATE memories SET memory = %s, hash = %s, terms = %s, embedding = %s,"
            " model_id = %s, updated_at = %s, valid_from = %s, recorded_at = %s,"
            " metadata = coalesce(%s::json, metadata) WHERE rid = %s",
            (
                text,
                hash_,
                terms,
                np.asarray(vector, dtype=np.float32),
                self._bound()[0],
                now,
                ended,
                now,
                metadata,
                key,
            ),
        )
        self.conn.execute(
            "INSERT INTO history (rid, memory_id, event, old_memory, new_memory, actor_id, role,"
            " created_at) VALUES (%s, %s, 'UPDATE', %s, %s, %s, %s, %s)",
            (key, memory_id, old_text, text, actor_id, role, now),
        )
        return str(old_text)

    def set_fields(
        self,
        key: int,
        now: float,
        *,
        metadata: str | None = None,
        categories: str | None = None,
        expires: Any = KEEP,
    ) -> None:
        sets, params = [], []
        if metadata is not None:
            sets.append("metadata = %s")
            params.append(metadata)
        if categories is not None:
            sets.append("categories = %s")
            params.append(categories)
        if expires is not KEEP:
            sets.append("expires_at = %s")
            params.append(expires)
        if sets:
            self.conn.execute(
                f"UPDATE memories SET {', '.join(sets)}, updated_at = %s WHERE rid = %s",
                (*params, now, key),
            )

    def record_feedback(
        self, key: int, memory_id: str, rating: str | None, reason: str | None, now: float
    ) -> None:
        self.conn.execute(FEEDBACK_SQL, (key, memory_id, reason, rating, now))

    def retire(self, key: int, *, now: float, valid_to: float, actor_id: str | None = None) -> str:
        row = self.conn.execute(
            "SELECT id, memory, valid_from FROM memories WHERE rid = %s", (key,)
        ).fetchone()
        assert row is not None
        self.conn.execute(
            "UPDATE memories SET status = 1, valid_to = %s, expired_at = %s, updated_at = %s"
            " WHERE rid = %s",
            (max(valid_to, float(row[2])), now, now, key),
        )
        self.conn.execute(
            "INSERT INTO history (rid, memory_id, event, old_memory, actor_id, created_at)"
            " VALUES (%s, %s, 'DELETE', %s, %s, %s)",
            (key, row[0], row[1], actor_id, now),
        )
        return str(row[1])

    def erase(self, keys: Sequence[int], now: float) -> int:
        """Erase memories: rows, versions, vectors, terms, their window copies, history text."""
        if not keys:
            return 0
        chunk = [int(k) for k in keys]
        conn = self.conn
        # A raw memory is also a message in its scope's window: erase that copy too.
        texts = conn.execute(
            "SELECT memory, user_id, agent_id, run_id FROM memories WHERE rid = ANY(%s)"
            " UNION ALL SELECT v.memory, m.user_id, m.agent_id, m.run_id"
            " FROM memory_versions v JOIN memories m ON m.rid = v.rid WHERE v.rid = ANY(%s)",
            (chunk, chunk),
        ).fetchall()
        with conn.cursor() as cur:
            cur.executemany(
                "DELETE FROM messages WHERE scope = %s AND content = %s",
                [(scope_key(r[1], r[2], r[3]), r[0]) for r in texts],
            )
        ids = conn.execute(
            "DELETE FROM memories WHERE rid = ANY(%s) RETURNING rid, id", (chunk,)
        ).fetchall()
        conn.execute(
            "UPDATE history SET old_memory = NULL, new_memory = NULL, actor_id = NULL"
            " WHERE rid = ANY(%s)",
            (chunk,),
        )
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO history (rid, memory_id, event, created_at, is_deleted)"
                " VALUES (%s, %s, 'DELETE', %s, 1)",
                [(int(r[0]), r[1], now) for r in sorted(ids)],
            )
        self.erased = True
        return len(ids)

    def scope_keys(self, scope: Mapping[str, str]) -> list[int]:
        s_sql, params = scope_sql(scope)
        rows = self.conn.execute(
            f"SELECT m.rid FROM memories m WHERE {s_sql} ORDER BY m.rid", params
        ).fetchall()
        return [int(r[0]) for r in rows]

    def erase_window(self, scope: Mapping[str, str] | Scope) -> int:
        if isinstance(scope, tuple):
            cur = self.conn.execute("DELETE FROM messages WHERE scope = %s", (scope_key(*scope),))
        else:
            s_sql, params = scope_sql(scope)
            cur = self.conn.execute(f"DELETE FROM messages AS m WHERE {s_sql}", params)
        self.erased = True
        return int(cur.rowcount)

    def append_messages(
        self,
        scope: Scope,
        messages: Sequence[tuple[str, str, str | None]],
        now: float,
        window: int,
    ) -> list[int]:
        key = scope_key(*scope)
        ids = []
        for role, content, name in messages:
            row = self.conn.execute(
                "INSERT INTO messages (scope, user_id, agent_id, run_id, role, content, name,"
                " created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                (key, *scope, role, content, name, now),
            ).fetchone()
            assert row is not None
            ids.append(int(row[0]))
        self.conn.execute(
            "DELETE FROM messages WHERE scope = %s AND id <= (SELECT id FROM messages"
            " WHERE scope = %s ORDER BY id DESC LIMIT 1 OFFSET %s)",
            (key, key, window),
        )
        return ids

    def link_sources(self, keys: set[int], message_ids: Sequence[int]) -> None:
        if keys and message_ids:
            self.conn.execute(
                "INSERT INTO memory_sources (rid, message_id)"
                " SELECT r, g.id FROM unnest(%s::bigint[]) AS r, messages g"
                " WHERE g.id = ANY(%s) ON CONFLICT DO NOTHING",
                (sorted(keys), list(message_ids)),
            )

    def erase_sources(self, keys: Sequence[int]) -> int:
        if not keys:
            return 0
        cur = self.conn.execute(
            "DELETE FROM messages WHERE id IN"
            " (SELECT message_id FROM memory_sources WHERE rid = ANY(%s))",
            ([int(k) for k in keys],),
        )
        return int(cur.rowcount)

    def lease_holder(self, scope: str) -> tuple[str, int, str, float] | None:
        row = self.conn.execute(
            "SELECT owner, pid, host, expires_at FROM scope_leases WHERE scope = %s", (scope,)
        ).fetchone()
        return None if row is None else (row[0], int(row[1]), row[2], float(row[3]))

    def put_lease(self, scope: str, owner: str, pid: int, host: str, expires_at: float) -> None:
        self.conn.execute(
            "INSERT INTO scope_leases (scope, owner, pid, host, expires_at)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (scope) DO UPDATE SET"
            " owner = excluded.owner, pid = excluded.pid, host = excluded.host,"
            " expires_at = excluded.expires_at",
            (scope, owner, pid, host, expires_at),
        )

    def drop_lease(self, scope: str, owner: str) -> None:
        self.conn.execute(
            "DELETE FROM scope_leases WHERE scope = %s AND owner = %s", (scope, owner)
        )

    def reset(self) -> None:
        self.conn.execute(
            "TRUNCATE memory_sources, memory_versions, memories, history, messages, scope_leases"
        )
        self.erased = True

    def restore(
        self,
        records: Sequence[dict[str, Any]],
        rows: Sequence[NewRow],
        old_vectors: Sequence[np.ndarray],
    ) -> None:
        rids = self.insert(rows)
        _transfer.restore(self.conn, rids, records, old_vectors, self._bound()[0])
