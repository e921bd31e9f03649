"""Links from memories to the raw messages they came from, and erasing those messages.

An infer add records, for every memory it adds, updates, confirms or retires, the window
messages of that add (not system messages), so ``delete(id, source=True)`` can erase the
conversation a fact was taken from along with the fact. Links vanish with either side
(foreign keys with ``ON DELETE CASCADE``), so a message that left the window is simply gone.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

_CHUNK = 500


def link(conn: sqlite3.Connection, rids: Iterable[int], message_ids: Sequence[int]) -> None:
    """Record that each of ``rids`` came from ``message_ids`` (those still in the window)."""
    pairs = [(rid, mid) for rid in sorted(set(rids)) for mid in message_ids]
    if pairs:
        conn.executemany(
            "INSERT OR IGNORE INTO memory_sources (rid, message_id)"
            " SELECT ?, id FROM messages WHERE id = ?",
            pairs,
        )


def erase_sources(conn: sqlite3.Connection, rids: Sequence[int]) -> int:
    """Delete the window messages the memories ``rids`` came from; returns how many.

    Runs before the memories themselves are erased (which drops the links).
    """
    erased = 0
    for start in range(0, len(rids), _CHUNK):
        chunk = list(rids[start : start + _CHUNK])
        marks = ",".join("?" * len(chunk))
        erased += conn.execute(
            "DELETE FROM messages WHERE id IN"
            f" (SELECT message_id FROM memory_sources WHERE rid IN ({marks}))",
            chunk,
        ).rowcount
    return erased
