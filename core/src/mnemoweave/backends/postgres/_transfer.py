"""Export and import of a PostgreSQL collection: whole memories with versions, history, times."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import psycopg

from ..._ids import text_hash
from ..._keywords import terms_blob
from ..sqlite._transfer import _HISTORY_COLUMNS, _HISTORY_NAMES, _VERSION_NAMES

_COLUMNS = (
    "id, memory, user_id, agent_id, run_id, actor_id, role, metadata::text, categories::text,"
    " memory_type, immutable, status, created_at, updated_at, valid_from, valid_to,"
    " recorded_at, expired_at, expires_at, rid, embedding"
)
_NAMES = [c.strip().removesuffix("::text") for c in _COLUMNS.split(",")]
_VERSION_COLUMNS = (
    "memory, metadata::text, categories::text, created_at, updated_at, valid_from, valid_to,"
    " recorded_at, expired_at"
)


def dump(conn: psycopg.Connection, embeddings: bool) -> Iterator[dict[str, Any]]:
    """Every memory (retired ones too) as an export record, in insertion order."""
    rows = conn.execute(f"SELECT {_COLUMNS} FROM memories ORDER BY rid").fetchall()
    for row in rows:
        rec = dict(zip(_NAMES, row))
        rid, vector = rec.pop("rid"), rec.pop("embedding")
        rec["metadata"] = json.loads(rec["metadata"])
        rec["categories"] = json.loads(rec["categories"])
        rec["immutable"] = bool(rec["immutable"])
        rec["versions"] = [
            dict(zip(_VERSION_NAMES, v))
            for v in conn.execute(
                f"SELECT {_VERSION_COLUMNS} FROM memory_versions WHERE rid = %s ORDER BY vid",
                (rid,),
            ).fetchall()
        ]
        for v in rec["versions"]:
            v["metadata"] = json.loads(v["metadata"])
            v["categories"] = json.loads(v["categories"])
        rec["history"] = [
            dict(zip(_HISTORY_NAMES, h))
            for h in conn.execute(
                f"SELECT {_HISTORY_COLUMNS} FROM history WHERE rid = %s ORDER BY id", (rid,)
            ).fetchall()
        ]
        for h in rec["history"]:
            h["is_deleted"] = bool(h["is_deleted"])
        if embeddings:
            rec["embedding"] = np.asarray(vector, dtype=np.float32).tolist()
        yield rec


def restore(
    conn: psycopg.Connection,
    rids: Sequence[int],
    records: Sequence[dict[str, Any]],
    old_vectors: Sequence[np.ndarray],
    model_row: int,
) -> None:
    """Give freshly inserted rows their exported times, status, versions and history."""
    conn.execute("DELETE FROM history WHERE rid = ANY(%s)", (list(rids),))
    at = 0
    for rid, rec in zip(rids, records):
        conn.execute(
            "UPDATE memories SET status = %s, created_at = %s, updated_at = %s,"
            " valid_from = %s, valid_to = %s, recorded_at = %s, expired_at = %s WHERE rid = %s",
            (
                int(rec.get("status", 0)),
                rec["created_at"],
                rec["updated_at"],
                rec["valid_from"],
                rec.get("valid_to"),
                rec["recorded_at"],
                rec.get("expired_at"),
                rid,
            ),
        )
        with conn.cursor() as cur:
            cur.executemany(
                f"INSERT INTO history (rid, memory_id, {_HISTORY_COLUMNS})"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    (
                        rid,
                        rec["id"],
                        h.get("event", "ADD"),
                        h.get("old_memory"),
                        h.get("new_memory"),
                        h.get("actor_id"),
                        h.get("role"),
                        h.get("created_at", rec["created_at"]),
                        int(bool(h.get("is_deleted", False))),
                    )
                    for h in rec.get("history", [])
                ],
            )
        for v in rec.get("versions", []):
            vec = old_vectors[at]
            at += 1
            conn.execute(
                "INSERT INTO memory_versions (rid, memory, hash, metadata, categories,"
                " created_at, updated_at, valid_from, valid_to, recorded_at, expired_at,"
                " terms, embedding, model_id)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    rid,
                    v["memory"],
                    text_hash(v["memory"]),
                    json.dumps(v.get("metadata") or {}, ensure_ascii=False),
                    json.dumps(v.get("categories") or [], ensure_ascii=False),
                    v["created_at"],
                    v["updated_at"],
                    v["valid_from"],
                    v["valid_to"],
                    v["recorded_at"],
                    v["expired_at"],
                    terms_blob(v["memory"]),
                    np.asarray(vec, dtype=np.float32),
                    model_row,
                ),
            )
