"""Which embedding model a store's vectors come from, decided once and checked on every write.

The binding is a ``meta`` row naming an ``embedding_models`` row. It is read and written only
inside transactions, so of two instances with different embedders on one new store, the first
to write a memory wins and the other gets :class:`DimensionMismatchError` (other size) or
:class:`ConfigurationError` (same size, other model). An empty store may be re-bound.
"""

from __future__ import annotations

import sqlite3

from ...errors import ConfigurationError, DimensionMismatchError, EmbeddingError, StorageError

#: ``(embedding_models.id, model name, dimension)``
Bound = tuple[int, str, int]


def read(conn: sqlite3.Connection) -> Bound | None:
    row = conn.execute(
        "SELECT e.id, e.model, e.dim FROM meta"
        " JOIN embedding_models e ON e.id = CAST(meta.value AS INTEGER)"
        " WHERE meta.key = 'embedding_model'"
    ).fetchone()
    return (int(row[0]), str(row[1]), int(row[2])) if row else None


def mismatch(bound: Bound, model: str, dim: int) -> ConfigurationError | EmbeddingError:
    """The error for an embedder ``(model, dim)`` on a store bound to ``bound``."""
    _, bound_model, bound_dim = bound
    if bound_dim != dim:
        return DimensionMismatchError(
            f"this store holds {bound_dim}-d vectors from {bound_model!r}, but the "
            f"configured embedder {model!r} makes {dim}-d vectors: configure the "
            f"same embedder, or use a new data directory",
            expected=bound_dim,
            got=dim,
        )
    return ConfigurationError(
        f"this store's vectors come from {bound_model!r}, but the configured "
        f"embedder is {model!r}: mixing models makes search meaningless; configure "
        f"the same embedder, or use a new data directory"
    )


def _has_rows(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM memories LIMIT 1").fetchone() is not None


def _record(conn: sqlite3.Connection, row: int) -> None:
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('embedding_model', ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (str(row),),
    )


def bind(conn: sqlite3.Connection, model: str, dim: int) -> Bound:
    """Bind the store to ``(model, dim)`` unless it holds another model's memories."""
    bound = read(conn)
    if bound is not None and bound[1:] == (model, dim):
        return bound
    if bound is not None and _has_rows(conn):
        raise mismatch(bound, model, dim)
    conn.execute("INSERT OR IGNORE INTO embedding_models (model, dim) VALUES (?, ?)", (model, dim))
    row = conn.execute(
        "SELECT id FROM embedding_models WHERE model = ? AND dim = ?", (model, dim)
    ).fetchone()[0]
    _record(conn, int(row))
    return (int(row), model, dim)


def claim(conn: sqlite3.Connection, mine: Bound) -> None:
    """Before inserting: take the binding back if another instance re-bound the empty store."""
    bound = read(conn)
    if bound is not None and bound[0] == mine[0]:
        return
    if bound is not None and _has_rows(conn):
        raise mismatch(bound, mine[1], mine[2])
    _record(conn, mine[0])


def check(conn: sqlite3.Connection, mine: Bound) -> None:
    """Before reading: the store's memories must come from ``mine`` (no-op if it is empty)."""
    bound = read(conn)
    if bound is not None and bound[0] != mine[0] and _has_rows(conn):
        raise mismatch(bound, mine[1], mine[2])


def check_single_model(conn: sqlite3.Connection) -> None:
    """For ``verify``: every stored vector comes from the bound model."""
    models = conn.execute(
        "SELECT DISTINCT e.model, e.dim FROM (SELECT model_id FROM memories UNION"
        " SELECT model_id FROM memory_versions) AS u"
        " JOIN embedding_models e ON e.id = u.model_id"
    ).fetchall()
    bound = read(conn)
    if len(models) > 1 or (models and (bound is None or tuple(models[0]) != bound[1:])):
        raise StorageError(
            f"the store mixes vectors of several embedding models {sorted(models)}"
            f" (bound to {bound[1:] if bound else None}): search across them is "
            "meaningless; re-add the memories with one embedder into a new store"
        )
