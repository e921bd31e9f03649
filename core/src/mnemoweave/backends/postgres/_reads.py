"""Reads of the PostgreSQL backend: scoring a selection, items, pages, history, scopes, windows.

Scoring is exact and scoped: the selection's rows are found through the btree indexes on
the scope columns, pgvector computes the inner product of each of those rows with the query,
and BM25 runs in Python over the same rows' term blobs (the function the SQLite backend
uses), so both backends give the same scores and thresholds mean the same.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import psycopg

from ..._ids import scope_key
from ..._keywords import bm25
from ..._time import to_datetime
from ..._values import INT_MAX
from ...types import HistoryEntry, MemoryItem, ScopeCount
from ..base import Scope, Scored, Selection
from ..sqlite import _reads as sqlite_reads
from ..sqlite._rows import (
    HISTORY_COLUMNS,
    ITEM_COLUMNS,
    VERSION_COLUMNS,
    history_entry,
    item,
    with_version,
)
from . import _binding as binding
from . import _transfer
from ._filter_sql import compile_filters
from ._plans import Plan, run

if TYPE_CHECKING:
    from ._backend import PostgresBackend

_HISTORY = HISTORY_COLUMNS

# Every version of every memory as one relation: current rows (vid 0) and retired texts.
_ALL_VERSIONS = (
    "SELECT rid, 0::bigint AS vid, id, memory, hash, user_id, agent_id, run_id, actor_id, role,"
    " metadata, categories, memory_type, immutable, status, created_at, updated_at,"
    " valid_from, valid_to, recorded_at, expired_at, expires_at, terms, embedding"
    " FROM memories"
    " UNION ALL"
    " SELECT v.rid, v.vid, p.id, v.memory, v.hash, p.user_id, p.agent_id, p.run_id,"
    " p.actor_id, p.role, v.metadata, v.categories, p.memory_type, p.immutable, 1::smallint,"
    " v.created_at, v.updated_at, v.valid_from, v.valid_to, v.recorded_at, v.expired_at,"
    " p.expires_at, v.terms, v.embedding"
    " FROM memory_versions v JOIN memories p ON p.rid = v.rid"
)
# Columns as text so the shared row decoder (written for SQLite) reads them unchanged.
_ITEM = ITEM_COLUMNS.replace("metadata,", "metadata::text,").replace(
    "categories,", "categories::text,"
)
_VERSION = VERSION_COLUMNS.replace("metadata,", "metadata::text,").replace(
    "categories,", "categories::text,"
)


def scope_sql(scope: Mapping[str, str], alias: str = "m") -> tuple[str, list[str]]:
    """Equality on each given scope id, with psycopg's placeholder."""
    return sqlite_reads.scope_sql(scope, alias, mark="%s")


def exact_scope_sql(ids: Scope, alias: str = "m") -> tuple[str, list[str]]:
    """Match exactly this (user, agent, run), with psycopg's placeholder."""
    return sqlite_reads.exact_scope_sql(ids, alias, mark="%s")


def where(sel: Selection) -> tuple[str, list[Any]]:
    """A selection's condition (the SQLite backend's, in psycopg's and jsonb's dialect)."""
    return sqlite_reads.where(sel, mark="%s", compile_=compile_filters)


def score_plan(
    bound: binding.Bound | None, selection: Selection, query: np.ndarray, terms: np.ndarray
) -> Plan[Scored]:
    cond, params = where(selection)
    if bound is not None:  # another embedder may have re-bound an empty store
        yield from binding.check_plan(bound)
    vector = np.asarray(query, dtype=np.float32)
    if selection.as_of is None:
        source, vid = "memories m", "0"
    else:
        source, vid = f"({_ALL_VERSIONS}) m", "m.vid"
    rows = yield (
        f"SELECT m.rid, {vid}, m.terms, (m.embedding <#> %s) * -1 FROM {source}"
        f" WHERE {cond} ORDER BY m.rid, 2",
        [vector, *params],
    )
    keys = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    dense = np.fromiter((r[3] for r in rows), dtype=np.float32, count=len(rows))
    keyword = bm25([bytes(r[2]) for r in rows], terms)
    versions = None if selection.as_of is None else [int(r[1]) for r in rows]
    return Scored(keys, dense, keyword, versions)


def items_plan(keys: Sequence[int], versions: Sequence[int] | None) -> Plan[list[MemoryItem]]:
    if len(keys) == 0:
        return []
    rows = yield (
        f"SELECT rid, {_ITEM} FROM memories WHERE rid = ANY(%s)",
        ([int(k) for k in keys],),
    )
    by_rid = {row[0]: row[1:] for row in rows}
    wanted = [int(v) for v in (versions or []) if v]
    vrows: dict[int, tuple[Any, ...]] = {}
    if wanted:
        found = yield (
            f"SELECT vid, {_VERSION} FROM memory_versions WHERE vid = ANY(%s)",
            (wanted,),
        )
        vrows = {row[0]: row[1:] for row in found}
    out = []
    for i, key in enumerate(keys):
        one = item(by_rid[int(key)])
        vid = versions[i] if versions else 0
        out.append(with_version(one, vrows[vid]) if vid else one)
    return out


def item_plan(memory_id: str) -> Plan[MemoryItem | None]:
    rows = yield (f"SELECT {_ITEM} FROM memories WHERE id = %s", (memory_id,))
    return item(rows[0]) if rows else None


def page_plan(selection: Selection, limit: int, offset: int) -> Plan[tuple[list[MemoryItem], int]]:
    cond, params = where(selection)
    base = f"FROM memories m WHERE {cond}"
    found = yield (f"SELECT count(*) {base}", params)
    rows = yield (
        f"SELECT {_ITEM} {base} ORDER BY m.created_at DESC, m.rid DESC LIMIT %s OFFSET %s",
        [*params, limit, offset],
    )
    return [item(r) for r in rows], int(found[0][0]) if found else 0


def history_plan(memory_id: str) -> Plan[list[HistoryEntry]]:
    found = yield ("SELECT rid FROM memories WHERE id = %s", (memory_id,))
    if found:
        rows = yield (f"SELECT {_HISTORY} FROM history WHERE rid = %s ORDER BY id", (found[0][0],))
    else:  # erased: only the bare events remain, found by the id they kept
        rows = yield (
            f"SELECT {_HISTORY} FROM history WHERE memory_id = %s ORDER BY id",
            (memory_id,),
        )
    return [history_entry(r) for r in rows]


class PostgresReader:
    """One ``REPEATABLE READ, READ ONLY`` transaction: a consistent snapshot."""

    def __init__(self, conn: psycopg.Connection, backend: PostgresBackend) -> None:
        self.conn = conn
        self._backend = backend

    def score(self, selection: Selection, query: np.ndarray, terms: np.ndarray) -> Scored:
        return run(self.conn, score_plan(self._backend.bound, selection, query, terms))

    def items(self, keys: Sequence[int], versions: Sequence[int] | None) -> list[MemoryItem]:
        return run(self.conn, items_plan(keys, versions))

    def item(self, memory_id: str) -> MemoryItem | None:
        return run(self.conn, item_plan(memory_id))

    def page(self, selection: Selection, limit: int, offset: int) -> tuple[list[MemoryItem], int]:
        return run(self.conn, page_plan(selection, limit, offset))

    def history(self, memory_id: str) -> list[HistoryEntry]:
        return run(self.conn, history_plan(memory_id))

    def scopes(self, now: float) -> list[ScopeCount]:
        rows = self.conn.execute(
            "SELECT user_id, agent_id, run_id, count(*), min(created_at), max(updated_at)"
            " FROM memories WHERE status = 0 AND (expires_at IS NULL OR expires_at > %s)"
            " GROUP BY user_id, agent_id, run_id"
            ' ORDER BY user_id COLLATE "C" NULLS LAST, agent_id COLLATE "C" NULLS LAST,'
            ' run_id COLLATE "C" NULLS LAST',
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
            "SELECT role, content, name, created_at FROM messages WHERE scope = %s AND id < %s"
            " ORDER BY id DESC LIMIT %s",
            (scope_key(*scope), INT_MAX if before is None else before, limit),
        ).fetchall()
        return [(r[0], r[1], r[2], float(r[3])) for r in reversed(rows)]

    def dump(self, embeddings: bool) -> Iterator[dict[str, Any]]:
        return _transfer.dump(self.conn, embeddings)

    def known_ids(self, ids: Sequence[str]) -> set[str]:
        rows = self.conn.execute(
            "SELECT id FROM memories WHERE id = ANY(%s)", (list(ids),)
        ).fetchall()
        return {r[0] for r in rows}
