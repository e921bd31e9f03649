"""Reads of the SQLite backend: scoring a selection, items, pages, history, scopes, windows."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..._ids import scope_key
from ..._keywords import bm25
from ..._time import to_datetime
from ..._values import INT_MAX
from ...errors import StorageError
from ...types import HistoryEntry, MemoryItem, ScopeCount
from ..base import ContextRows, Scope, Scored, Selection
from . import _transfer
from ._filter_sql import compile_filters
from ._rows import HISTORY_COLUMNS, ITEM_COLUMNS, VERSION_COLUMNS, history_entry, item, with_version

if TYPE_CHECKING:
    from ._store import Store

_HISTORY = HISTORY_COLUMNS

# Every version of every memory as one relation: current rows (vid 0) and retired texts.
_ALL_VERSIONS = (
    "SELECT rid, 0 AS vid, id, memory, hash, user_id, agent_id, run_id, actor_id, role,"
    " metadata, categories, memory_type, immutable, status, created_at, updated_at,"
    " valid_from, valid_to, recorded_at, expired_at, expires_at, terms, embedding"
    " FROM memories"
    " UNION ALL"
    " SELECT v.rid, v.vid, p.id, v.memory, v.hash, p.user_id, p.agent_id, p.run_id,"
    " p.actor_id, p.role, v.metadata, v.categories, p.memory_type, p.immutable, 1,"
    " v.created_at, v.updated_at, v.valid_from, v.valid_to, v.recorded_at, v.expired_at,"
    " p.expires_at, v.terms, v.embedding"
    " FROM memory_versions v JOIN memories p ON p.rid = v.rid"
)


def scope_sql(scope: Any, alias: str = "m", mark: str = "?") -> tuple[str, list[str]]:
    """Equality on each given scope id (the caller guarantees at least one).

    ``mark`` is the driver's placeholder (``%s`` for the PostgreSQL backend).
    """
    parts = [f"{alias}.{key} = {mark}" for key in scope]
    return " AND ".join(parts), [scope[key] for key in scope]


def exact_scope_sql(ids: Scope, alias: str = "m", mark: str = "?") -> tuple[str, list[str]]:
    """Match exactly this (user, agent, run): given ids equal, absent ones NULL."""
    parts, params = [], []
    for key, value in zip(("user_id", "agent_id", "run_id"), ids):
        if value is None:
            parts.append(f"{alias}.{key} IS NULL")
        else:
            parts.append(f"{alias}.{key} = {mark}")
            params.append(value)
    return " AND ".join(parts), params


def where(
    sel: Selection,
    mark: str = "?",
    compile_: Callable[[Any], tuple[str, list[Any]]] = compile_filters,
) -> tuple[str, list[Any]]:
    """The SQL condition (over alias ``m``) of a selection's scope, filters and liveness.

    ``mark`` and ``compile_`` let another SQL backend reuse it with its own placeholder and
    filter dialect.
    """
    if sel.exact:
        ids = (sel.scope.get("user_id"), sel.scope.get("agent_id"), sel.scope.get("run_id"))
        s_sql, params = exact_scope_sql(ids, mark=mark)
    else:
        s_sql, params = scope_sql(sel.scope, mark=mark)
    f_sql, f_params = compile_(sel.filters)
    parts: list[Any] = list(params)
    if sel.as_of is not None:
        s_sql += f" AND m.valid_from <= {mark} AND (m.valid_to IS NULL OR m.valid_to > {mark})"
        parts += [sel.as_of, sel.as_of]
        if not sel.include_expired:
            s_sql += f" AND (m.expires_at IS NULL OR m.expires_at > {mark})"
            parts.append(sel.as_of)
    elif not sel.include_expired:
        s_sql += f" AND m.status = 0 AND (m.expires_at IS NULL OR m.expires_at > {mark})"
        parts.append(sel.now)
    return f"{s_sql} AND {f_sql}", [*parts, *f_params]


class SQLiteReader:
    """A read transaction of a :class:`Store` (its index caught up to the snapshot)."""

    def __init__(self, store: Store, conn: sqlite3.Connection) -> None:
        self._store = store
        self.conn = conn

    def score(self, selection: Selection, query: np.ndarray, terms: np.ndarray) -> Scored:
        cond, params = where(selection)
        if selection.as_of is None:
            found = self.conn.execute(f"SELECT m.rid FROM memories m WHERE {cond}", params)
            rows = found.fetchall()
            keys = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            assert self._store.index is not None
            dense = self._store.index.scores(query, keys)
            blobs = self._store.terms.get(keys.tolist())
            return Scored(keys, dense, bm25(blobs, terms))
        vrows = self.conn.execute(
            f"SELECT m.rid, m.vid, m.terms, m.embedding FROM ({_ALL_VERSIONS}) m WHERE {cond}",
            params,
        ).fetchall()
        keys = np.fromiter((r[0] for r in vrows), dtype=np.int64, count=len(vrows))
        if vrows:
            matrix = np.frombuffer(b"".join(r[3] for r in vrows), dtype=np.float32)
            dense = matrix.reshape(len(vrows), -1) @ query
        else:
            dense = np.zeros(0, dtype=np.float32)
        keyword = bm25([r[2] for r in vrows], terms)
        return Scored(keys, dense, keyword, [r[1] for r in vrows])

    def context_rows(self, selection: Selection, query: np.ndarray) -> ContextRows:
        """Current rows in row-id order with their vectors' dot product with the previous row."""
        cond, params = where(selection)
        found = self.conn.execute(
            f"SELECT m.rid FROM memories m WHERE {cond} ORDER BY m.rid", params
        ).fetchall()
        keys = np.fromiter((r[0] for r in found), dtype=np.int64, count=len(found))
        assert self._store.index is not None
        prev_dot = np.zeros(keys.size, dtype=np.float64)
        if keys.size == 0:
            return ContextRows(keys, np.zeros(0, dtype=np.float32), prev_dot, [])
        index = self._store.index
        if int(keys.max()) >= index.ntotal:
            raise StorageError("vector index is behind the database; reopen the store")
        vectors = index.rows(keys)
        dense = vectors @ query
        if keys.size > 1:
            prev_dot[1:] = np.einsum("ij,ij->i", vectors[1:], vectors[:-1])
        return ContextRows(keys, dense, prev_dot, self._store.terms.get(keys.tolist()))

    def items(self, keys: Sequence[int], versions: Sequence[int] | None) -> list[MemoryItem]:
        if len(keys) == 0:
            return []
        # One JSON parameter, not one per row: a large limit stays under SQLite's variable cap.
        by_rid = {
            row[0]: row[1:]
            for row in self.conn.execute(
                f"SELECT rid, {ITEM_COLUMNS} FROM memories"
                " WHERE rid IN (SELECT value FROM json_each(?))",
                (json.dumps([int(k) for k in keys]),),
            )
        }
        wanted = [v for v in (versions or []) if v]
        vrows: dict[int, tuple[Any, ...]] = {}
        if wanted:
            vrows = {
                row[0]: row[1:]
                for row in self.conn.execute(
                    f"SELECT vid, {VERSION_COLUMNS} FROM memory_versions"
                    " WHERE vid IN (SELECT value FROM json_each(?))",
                    (json.dumps(wanted),),
                )
            }
        out = []
        for i, key in enumerate(keys):
            found = item(by_rid[int(key)])
            vid = versions[i] if versions else 0
            out.append(with_version(found, vrows[vid]) if vid else found)
        return out

    def item(self, memory_id: str) -> MemoryItem | None:
        row = self.conn.execute(
            f"SELECT {ITEM_COLUMNS} FROM memories WHERE id = ?", (memory_id,)
        ).fetchone()
        return None if row is None else item(row)

    def page(self, selection: Selection, limit: int, offset: int) -> tuple[list[MemoryItem], int]:
        cond, params = where(selection)
        base = f"FROM memories m WHERE {cond}"
        total = self.conn.execute(f"SELECT count(*) {base}", params).fetchone()[0]
        rows = self.conn.execute(
            f"SELECT {ITEM_COLUMNS} {base} ORDER BY m.created_at DESC, m.rid DESC LIMIT ? OFFSET ?",
            [*params, limit, offset],
        ).fetchall()
        return [item(r) for r in rows], int(total)

    def history(self, memory_id: str) -> list[HistoryEntry]:
        found = self.conn.execute("SELECT rid FROM memories WHERE id = ?", (memory_id,)).fetchone()
        if found is not None:
            rows = self.conn.execute(
                f"SELECT {_HISTORY} FROM history WHERE rid = ? ORDER BY id", found
            ).fetchall()
        else:  # erased: only the bare events remain, found by the id they kept
            rows = self.conn.execute(
                f"SELECT {_HISTORY} FROM history WHERE memory_id = ? ORDER BY id", (memory_id,)
            ).fetchall()
        return [history_entry(r) for r in rows]

    def scopes(self, now: float) -> list[ScopeCount]:
        rows = self.conn.execute(
            "SELECT user_id, agent_id, run_id, count(*), min(created_at), max(updated_at)"
            " FROM memories WHERE status = 0 AND (expires_at IS NULL OR expires_at > ?)"
            " GROUP BY user_id, agent_id, run_id"
            " ORDER BY user_id IS NULL, user_id, agent_id IS NULL, agent_id,"
            " run_id IS NULL, run_id",
            (now,),
        ).fetchall()
        return [
            ScopeCount(
                user_id=r[0],
                agent_id=r[1],
                run_id=r[2],
                count=int(r[3]),
                created_at=to_datetime(r[4]),
                updated_at=to_datetime(r[5]),
            )
            for r in rows
        ]

    def messages(
        self, scope: Scope, limit: int, before: int | None = None
    ) -> list[tuple[str, str, str | None, float]]:
        rows = self.conn.execute(
            "SELECT role, content, name, created_at FROM messages WHERE scope = ? AND id < ?"
            " ORDER BY id DESC LIMIT ?",
            (scope_key(*scope), INT_MAX if before is None else before, limit),
        ).fetchall()
        return [(r[0], r[1], r[2], float(r[3])) for r in reversed(rows)]

    def dump(self, embeddings: bool) -> Iterator[dict[str, Any]]:
        return _transfer.dump(self.conn, embeddings)

    def known_ids(self, ids: Sequence[str]) -> set[str]:
        return _transfer.known_ids(self.conn, ids)
