"""Export and import at the SQLite level: whole memories with versions, history and times."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ..._ids import text_hash
from ..._keywords import terms_blob

_COLUMNS = (
    "id, memory, user_id, agent_id, run_id, actor_id, role, metadata, categories, memory_type,"
    " immutable, status, created_at, updated_at, valid_from, valid_to, recorded_at, expired_at,"
    " expires_at, rid, embedding"
)
_NAMES = [c.strip() for c in _COLUMNS.split(",")]
_VERSION_COLUMNS = (
    "memory, metadata, categories, created_at, updated_at, valid_from, valid_to,"
    " recorded_at, expired_at"
)
_VERSION_NAMES = [c.strip() for c in _VERSION_COLUMNS.split(",")]
_HISTORY_COLUMNS = "event, old_memory, new_memory, actor_id, role, created_at, is_deleted"
_HISTORY_NAMES = [c.strip() for c in _HISTORY_COLUMNS.split(",")]


def dump(conn: sqlite3.Connection, embeddings: bool) -> Iterator[dict[str, Any]]:
    """Every memory (retired ones too) as an export record, in insertion order."""
    for row in conn.execute(f"SELECT {_COLUMNS} FROM memories ORDER BY rid"):
        rec = dict(zip(_NAMES, row))
        rid, blob = rec.pop("rid"), rec.pop("embedding")
        rec["metadata"] = json.loads(rec["metadata"])
        rec["categories"] = json.loads(rec["categories"])
        rec["immutable"] = bool(rec["immutable"])
        rec["versions"] = [
            dict(zip(_VERSION_NAMES, v))
            for v in conn.execute(
                f"SELECT {_VERSION_COLUMNS} FROM memory_versions WHERE rid = ? ORDER BY vid",
                (rid,),
            )
        ]
        for v in rec["versions"]:
            v["metadata"] = json.loads(v["metadata"])
            v["categories"] = json.loads(v["categories"])
        rec["history"] = [
            dict(zip(_HISTORY_NAMES, h))
            for h in conn.execute(
                f"SELECT {_HISTORY_COLUMNS} FROM history WHERE rid = ? ORDER BY id", (rid,)
            )
        ]
        for h in rec["history"]:
            h["is_deleted"] = bool(h["is_deleted"])
        if embeddings:
            rec["embedding"] = np.frombuffer(blob, dtype=np.float32).tolist()
        yield rec


def known_ids(conn: sqlite3.Connection, ids: Sequence[str]) -> set[str]:
    """Which of ``ids`` the store holds."""
    return {
        r[0]
        for r in conn.execute(
            "SELECT id FROM memories WHERE id IN (SELECT value FROM json_each(?))",
            (json.dumps(list(ids)),),
        )
    }


def restore(
    conn: sqlite3.Connection,
    rids: Sequence[int],
    records: Sequence[dict[str, Any]],
    old_vectors: Sequence[np.ndarray],
    model_row: int | None,
) -> None:
    """Give freshly inserted rows their exported times, status, versions and history."""
    conn.executemany("DELETE FROM history WHERE rid = ?", [(rid,) for rid in rids])
    at = 0
    for rid, rec in zip(rids, records):
        conn.execute(
            "UPDATE memories SET status = ?, created_at = ?, updated_at = ?, valid_from = ?,"
            " valid_to = ?, recorded_at = ?, expired_at = ? WHERE rid = ?",
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
        conn.executemany(
            f"INSERT INTO history (rid, memory_id, {_HISTORY_COLUMNS})"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                " terms, embedding, model_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
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
                    np.asarray(vec, dtype=np.float32).tobytes(),
                    model_row,
                ),
            )
