"""Rows of our own schema turned into result types (validation skipped: we wrote them)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..._time import to_datetime
from ...types import HistoryEntry, MemoryItem

ITEM_COLUMNS = (
    "id, memory, hash, metadata, categories, user_id, agent_id, run_id, actor_id, role, "
    "memory_type, immutable, created_at, updated_at, valid_from, valid_to, recorded_at, "
    "expired_at, expires_at"
)

VERSION_COLUMNS = (
    "memory, hash, metadata, categories, created_at, updated_at, valid_from, valid_to, "
    "recorded_at, expired_at"
)


def item(row: Sequence[Any]) -> MemoryItem:
    """A :class:`MemoryItem` from a row selected with ``ITEM_COLUMNS``."""
    created = to_datetime(row[12])
    updated = created if row[13] == row[12] else to_datetime(row[13])
    return MemoryItem._trusted(
        {
            "id": row[0],
            "memory": row[1],
            "hash": row[2],
            "metadata": {} if row[3] == "{}" else json.loads(row[3]),
            "categories": [] if row[4] == "[]" else json.loads(row[4]),
            "user_id": row[5],
            "agent_id": row[6],
            "run_id": row[7],
            "actor_id": row[8],
            "role": row[9],
            "memory_type": row[10],
            "immutable": bool(row[11]),
            "created_at": created,
            "updated_at": updated,
            # Most rows were valid and recorded when they were created: reuse those objects.
            "valid_from": created if row[14] == row[12] else to_datetime(row[14]),
            "valid_to": to_datetime(row[15]),
            "recorded_at": created if row[16] == row[12] else to_datetime(row[16]),
            "expired_at": to_datetime(row[17]),
            "expiration_date": to_datetime(row[18]),
            "score": None,
            "explain": None,
        }
    )


def with_version(out: MemoryItem, v: Sequence[Any]) -> MemoryItem:
    """``out`` showing an old version's text and times (a row of ``VERSION_COLUMNS``)."""
    out.memory, out.hash = v[0], v[1]
    out.metadata, out.categories = json.loads(v[2]), json.loads(v[3])
    out.created_at, out.updated_at = to_datetime(v[4]), to_datetime(v[5])
    out.valid_from, out.valid_to = to_datetime(v[6]), to_datetime(v[7])
    out.recorded_at, out.expired_at = to_datetime(v[8]), to_datetime(v[9])
    return out


#: The columns :func:`history_entry` decodes, in order.
HISTORY_COLUMNS = (
    "id, memory_id, event, old_memory, new_memory, actor_id, role, created_at, is_deleted"
)


def history_entry(r: Sequence[Any]) -> HistoryEntry:
    """A ``history`` row (:data:`HISTORY_COLUMNS`) as a public entry.

    A ``FEEDBACK`` row keeps its rating in ``new_memory`` and its reason in ``old_memory``
    (so erasing a memory's history text erases the reason too); the entry names them.
    """
    feedback = r[2] == "FEEDBACK"
    return HistoryEntry(
        id=r[0],
        memory_id=r[1],
        event=r[2],
        old_memory=None if feedback else r[3],
        new_memory=None if feedback else r[4],
        actor_id=r[5],
        role=r[6],
        created_at=to_datetime(r[7]),
        is_deleted=bool(r[8]),
        feedback=r[4] if feedback else None,
        feedback_reason=r[3] if feedback else None,
    )
