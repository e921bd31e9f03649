"""The embedding-model binding of a collection, as in :mod:`..sqlite._binding`.

A ``meta`` row names an ``embedding_models`` row; it is read and written inside write
transactions (which hold the collection's writer lock), so of two embedders on one new
collection the first to write a memory wins and the other gets the same errors as on SQLite.
"""

from __future__ import annotations

import psycopg

from ...errors import StorageError
from ..sqlite._binding import Bound, mismatch
from ._plans import Plan, run

__all__ = ["Bound", "bind", "check_plan", "check_single_model", "claim", "read", "read_plan"]


def read_plan() -> Plan[Bound | None]:
    rows = yield (
        "SELECT e.id, e.model, e.dim FROM meta JOIN embedding_models e"
        " ON e.id = meta.value::integer WHERE meta.key = 'embedding_model'",
        (),
    )
    return (int(rows[0][0]), str(rows[0][1]), int(rows[0][2])) if rows else None


def read(conn: psycopg.Connection) -> Bound | None:
    return run(conn, read_plan())


def _has_rows(conn: psycopg.Connection) -> bool:
    return conn.execute("SELECT 1 FROM memories LIMIT 1").fetchone() is not None


def _record(conn: psycopg.Connection, row: int) -> None:
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('embedding_model', %s)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (str(row),),
    )


def bind(conn: psycopg.Connection, model: str, dim: int) -> Bound:
    """Bind the collection to ``(model, dim)`` unless it holds another model's memories."""
    bound = read(conn)
    if bound is not None and bound[1:] == (model, dim):
        return bound
    if bound is not None and _has_rows(conn):
        raise mismatch(bound, model, dim)
    conn.execute(
        "INSERT INTO embedding_models (model, dim) VALUES (%s, %s) ON CONFLICT DO NOTHING",
        (model, dim),
    )
    found = conn.execute(
        "SELECT id FROM embedding_models WHERE model = %s AND dim = %s", (model, dim)
    ).fetchone()
    assert found is not None
    _record(conn, int(found[0]))
    return (int(found[0]), model, dim)


def claim(conn: psycopg.Connection, mine: Bound) -> None:
    """Before inserting: take the binding back if another instance re-bound the empty store."""
    bound = read(conn)
    if bound is not None and bound[0] == mine[0]:
        return
    if bound is not None and _has_rows(conn):
        raise mismatch(bound, mine[1], mine[2])
    _record(conn, mine[0])


def check_plan(mine: Bound) -> Plan[None]:
    """Before reading: the collection's memories must come from ``mine``."""
    bound = yield from read_plan()
    if bound is None or bound[0] == mine[0]:
        return
    if (yield ("SELECT 1 FROM memories LIMIT 1", ())):
        raise mismatch(bound, mine[1], mine[2])


def check_single_model(conn: psycopg.Connection) -> None:
    """For ``verify``: every stored vector comes from the bound model."""
    models = conn.execute(
        "SELECT DISTINCT e.model, e.dim FROM (SELECT model_id FROM memories UNION"
        " SELECT model_id FROM memory_versions) AS u JOIN embedding_models e ON e.id = u.model_id"
    ).fetchall()
    bound = read(conn)
    if len(models) > 1 or (models and (bound is None or tuple(models[0]) != bound[1:])):
        raise StorageError(
            f"the collection mixes vectors of several embedding models {sorted(models)}"
            f" (bound to {bound[1:] if bound else None}): re-add the memories with one embedder"
        )
