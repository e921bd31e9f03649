"""Writes of the SQLite backend: one object per ``BEGIN IMMEDIATE`` transaction."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..._ids import scope_key
from ..base import KEEP, NewRow, Scope, Target
from . import _transfer
from ._reads import exact_scope_sql, scope_sql

if TYPE_CHECKING:
    from ._store import Store, Txn

_CHUNK = 500
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


# A FEEDBACK history row: the rating in new_memory, the reason in old_memory (_rows.py).
FEEDBACK_SQL = (
    "INSERT INTO history (rid, memory_id, event, old_memory, new_memory, created_at)"
    " VALUES (%s, %s, 'FEEDBACK', %s, %s, %s)"
)


class SQLiteWriter:
    """A write transaction of a :class:`Store`; index work applies after it commits."""

    def __init__(self, store: Store, tx: Txn) -> None:
        self._store = store
        self.tx = tx
        self.conn = tx.conn

    @property
    def erased_on_disk(self) -> bool | None:
        return self.tx.erased_on_disk

    def insert(self, rows: Sequence[NewRow]) -> list[int]:
        return self._store.insert(self.tx, rows)

    def target(self, memory_id: str, scope: Scope | None = None) -> Target | None:
        if scope is None:
            row = self.conn.execute(
                f"SELECT {_TARGET} FROM memories WHERE id = ?", (memory_id,)
            ).fetchone()
        else:
            exact, params = exact_scope_sql(scope)
            row = self.conn.execute(
                f"SELECT {_TARGET} FROM memories m WHERE m.id = ? AND {exact}",
                (memory_id, *params),
            ).fetchone()
        return None if row is None else _target(row)

    def targets(self, keys: Sequence[int]) -> list[Target]:
        rows = self.conn.execute(
            f"SELECT {_TARGET} FROM memories WHERE rid IN (SELECT value FROM json_each(?))"
            " ORDER BY rid",
            (json.dumps([int(k) for k in keys]),),
        ).fetchall()
        return [_target(r) for r in rows]

    def duplicate(self, scope: Scope, digest: str) -> Target | None:
        exact, params = exact_scope_sql(scope)
        row = self.conn.execute(
            f"SELECT {_TARGET} FROM memories m WHERE {exact} AND m.status = 0 AND m.hash = ?",
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
        return self._store.replace_text(
            self.tx,
            key,
            text=text,
            hash_=hash_,
            terms=terms,
            vector=vector,
            now=now,
            valid_from=valid_from,
            metadata=metadata,
            actor_id=actor_id,
            role=role,
        )

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
            sets.append("metadata = ?")
            params.append(metadata)
        if categories is not None:
            sets.append("categories = ?")
            params.append(categories)
        if expires is not KEEP:
            sets.append("expires_at = ?")
            params.append(expires)
        if sets:
            self.conn.execute(
                f"UPDATE memories SET {', '.join(sets)}, updated_at = ? WHERE rid = ?",
                (*params, now, key),
            )

    def retire(self, key: int, *, now: float, valid_to: float, actor_id: str | None = None) -> str:
        return self._store.retire(self.tx, key, now=now, valid_to=valid_to, actor_id=actor_id)

    def erase(self, keys: Sequence[int], now: float) -> int:
        return self._store.erase(self.tx, keys, now)

    def record_feedback(
        self, key: int, memory_id: str, rating: str | None, reason: str | None, now: float
    ) -> None:
        self.conn.execute(FEEDBACK_SQL.replace("%s", "?"), (key, memory_id, reason, rating, now))

    def scope_keys(self, scope: Mapping[str, str]) -> list[int]:
        s_sql, params = scope_sql(scope)
        return [
            r[0] for r in self.conn.execute(f"SELECT m.rid FROM memories m WHERE {s_sql}", params)
        ]

    def erase_window(self, scope: Mapping[str, str] | Scope) -> int:
        if isinstance(scope, tuple):
            count = self.conn.execute(
                "DELETE FROM messages WHERE scope = ?", (scope_key(*scope),)
            ).rowcount
        else:
            s_sql, params = scope_sql(scope)
            count = self.conn.execute(f"DELETE FROM messages AS m WHERE {s_sql}", params).rowcount
        self._store.mark_erasure(self.tx)
        return int(count)

    def append_messages(
        self,
        scope: Scope,
        messages: Sequence[tuple[str, str, str | None]],
        now: float,
        window: int,
    ) -> list[int]:
        return self._store.append_messages(self.tx, scope, messages, now, window)

    def link_sources(self, keys: set[int], message_ids: Sequence[int]) -> None:
        """Record that each memory of ``keys`` came from ``message_ids`` (still in the window)."""
        pairs = [(rid, mid) for rid in sorted(keys) for mid in message_ids]
        if pairs:
            self.conn.executemany(
                "INSERT OR IGNORE INTO memory_sources (rid, message_id)"
                " SELECT ?, id FROM messages WHERE id = ?",
                pairs,
            )

    def erase_sources(self, keys: Sequence[int]) -> int:
        """Delete the window messages the memories ``keys`` came from (before erasing them)."""
        erased = 0
        for start in range(0, len(keys), _CHUNK):
            chunk = list(keys[start : start + _CHUNK])
            marks = ",".join("?" * len(chunk))
            erased += self.conn.execute(
                "DELETE FROM messages WHERE id IN"
                f" (SELECT message_id FROM memory_sources WHERE rid IN ({marks}))",
                chunk,
            ).rowcount
        return erased

    def lease_holder(self, scope: str) -> tuple[str, int, str, float] | None:
        row = self.conn.execute(
            "SELECT owner, pid, host, expires_at FROM scope_leases WHERE scope = ?", (scope,)
        ).fetchone()
        return None if row is None else (row[0], int(row[1]), row[2], float(row[3]))

    def put_lease(self, scope: str, owner: str, pid: int, host: str, expires_at: float) -> None:
        self.conn.execute(
            "INSERT INTO scope_leases (scope, owner, pid, host, expires_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (scope) DO UPDATE SET owner = excluded.owner,"
            " pid = excluded.pid, host = excluded.host, expires_at = excluded.expires_at",
            (scope, owner, pid, host, expires_at),
        )

    def drop_lease(self, scope: str, owner: str) -> None:
        self.conn.execute("DELETE FROM scope_leases WHERE scope = ? AND owner = ?", (scope, owner))

    def reset(self) -> None:
        rids = [r[0] for r in self.conn.execute("SELECT rid FROM memories")]
        self._store.erase(self.tx, rids, 0.0)
        for table in ("messages", "history", "memory_versions", "changes"):
            self.conn.execute(f"DELETE FROM {table}")
        self._store.mark_erasure(self.tx)

    def restore(
        self,
        records: Sequence[dict[str, Any]],
        rows: Sequence[NewRow],
        old_vectors: Sequence[np.ndarray],
    ) -> None:
        rids = self._store.insert(self.tx, rows)
        _transfer.restore(self.conn, rids, records, old_vectors, self._store.model_row)
