"""The indexes a process derives from SQLite (vectors and keyword terms) and their snapshot file.

Nothing here is a source of truth. The in-memory indexes follow the database's row ids and
change sequence; the snapshot file only shortens the next open, and is used only when its
stamp matches the binding the database recorded (see :mod:`._snapshot`). Every method runs
inside a transaction the store opened, under its lock.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ..._keywords import TermIndex
from ...errors import StorageError
from . import _snapshot as snapshot
from ._snapshot import Stamp
from ._vectors import VectorIndex

_META_KEY = "vector_snapshot"


class Owner(NamedTuple):
    """Whose indexes these are: the store and the embedding model its vectors come from."""

    store_id: str
    dim: int
    model: str


def recorded_stamp(conn: sqlite3.Connection) -> Stamp | None:
    """The snapshot binding the database holds (``None``: no usable snapshot recorded)."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (_META_KEY,)).fetchone()
    return Stamp.from_json(row[0]) if row else None


def _record(conn: sqlite3.Connection, stamp: Stamp) -> None:
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (_META_KEY, stamp.to_json()),
    )


class Derived:
    """A process's vector index and term index, caught up to a database state ``(rid, seq)``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.index: VectorIndex | None = None
        self.terms = TermIndex()
        self.known_rid = 0  # highest memory rid reflected in the indexes
        self.known_seq = 0  # highest change seq reflected in the indexes
        #: A snapshot file rejected at open, to scrub once we hold the write lock: its identity,
        #: and whether its header matched the recorded stamp (then its contents are bad).
        self.rejected: tuple[tuple[int, int], bool] | None = None

    def drop(self) -> None:
        self.index = None

    # -- catching up -------------------------------------------------------------------------
    def catch_up(self, conn: sqlite3.Connection, rid_top: int, seq_top: int, owner: Owner) -> None:
        """Bring the indexes up to ``(rid_top, seq_top)`` from the database."""
        dim = owner.dim
        if self.index is None:
            self._open(conn, rid_top, seq_top, owner)
            return
        if not _log_reaches(conn, self.known_seq, seq_top):
            self.rebuild(conn, rid_top, seq_top, dim)  # the change log no longer reaches back
            return
        self._load_rows(
            conn, "SELECT rid, embedding, terms FROM memories WHERE rid > ?", (self.known_rid,), dim
        )
        changed = conn.execute(
            "SELECT DISTINCT c.rid, m.embedding, m.terms FROM changes c"
            " LEFT JOIN memories m ON m.rid = c.rid WHERE c.seq > ? AND c.rid <= ?",
            (self.known_seq, self.known_rid),
        ).fetchall()
        gone = [row[0] for row in changed if row[1] is None]
        self.index.clear(np.array(gone, dtype=np.int64))
        self.terms.clear(gone)
        self._put_blobs([row for row in changed if row[1] is not None], dim)
        self._settle_at(rid_top, seq_top)

    def _open(self, conn: sqlite3.Connection, rid_top: int, seq_top: int, owner: Owner) -> None:
        """Start from the snapshot file when it is bound to this state, else rebuild."""
        stamp = recorded_stamp(conn)
        loaded = None
        if (
            stamp is not None
            and (stamp.store_id, stamp.dim, stamp.model) == owner
            and stamp.rid <= rid_top
            and stamp.seq <= seq_top
            and _log_reaches(conn, stamp.seq, seq_top)
        ):
            loaded = snapshot.load(self.path, stamp)
        if loaded is None or stamp is None:
            identity = _identity(self.path)
            if identity is not None:
                intact = stamp is not None and snapshot.read_stamp(self.path) == stamp
                self.rejected = (identity, intact)
            self.rebuild(conn, rid_top, seq_top, owner.dim)
            return
        self.index = loaded
        self.terms = TermIndex()
        cursor = conn.execute("SELECT rid, terms FROM memories WHERE rid <= ?", (stamp.rid,))
        while chunk := cursor.fetchmany(8192):
            self.terms.put([r[0] for r in chunk], [r[1] for r in chunk])
        self.known_rid, self.known_seq = stamp.rid, stamp.seq
        self.catch_up(conn, rid_top, seq_top, owner)

    def rebuild(self, conn: sqlite3.Connection, rid_top: int, seq_top: int, dim: int) -> None:
        self.index = VectorIndex(dim)
        self.terms = TermIndex()
        # Size both once: rows then land in place instead of growing the index step by step.
        self.index.grow(rid_top + 1)
        self.terms.grow(rid_top + 1)
        self._load_rows(conn, "SELECT rid, embedding, terms FROM memories", (), dim)
        self.known_rid, self.known_seq = rid_top, seq_top

    def _load_rows(
        self, conn: sqlite3.Connection, sql: str, params: tuple[Any, ...], dim: int
    ) -> None:
        cursor = conn.execute(sql, params)
        while chunk := cursor.fetchmany(8192):
            self._put_blobs(chunk, dim)

    def _put_blobs(self, rows: Sequence[tuple[int, bytes, bytes]], dim: int) -> None:
        """Put ``(rid, embedding, terms)`` rows read from SQLite into the derived indexes."""
        if not rows:
            return
        assert self.index is not None
        rids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        flat = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32)
        if flat.size != len(rows) * dim:
            raise StorageError(
                f"stored vectors do not match the store's dimension {dim}; the database "
                "may have been written by a different embedder"
            )
        self.index.put(rids, flat.reshape(len(rows), dim))
        self.terms.put(rids.tolist(), [r[2] for r in rows])

    def apply(
        self,
        puts: Sequence[tuple[np.ndarray, np.ndarray, list[bytes]]],
        clears: Sequence[int],
        rid_top: int,
        seq_top: int,
    ) -> None:
        """Apply a committed transaction's own changes (no need to re-read them)."""
        if self.index is None:
            return
        for rids, vectors, blobs in puts:
            self.index.put(rids, vectors)
            self.terms.put(rids.tolist(), blobs)
        if clears:
            self.index.clear(np.array(clears, dtype=np.int64))
            self.terms.clear(clears)
        self._settle_at(rid_top, seq_top)

    def _settle_at(self, rid_top: int, seq_top: int) -> None:
        assert self.index is not None
        self.index.grow(rid_top + 1)
        self.terms.grow(rid_top + 1)
        self.known_rid, self.known_seq = rid_top, seq_top

    # -- the snapshot file (the caller holds the write lock) -----------------------------------
    def save(self, conn: sqlite3.Connection, owner: Owner) -> None:
        """Write the snapshot of the current state and record its stamp (skipped if unchanged).

        The file is complete and fsynced before the stamp is recorded; the caller commits.
        """
        if self.index is None:
            return
        fresh = Stamp(
            store_id=owner.store_id,
            token=snapshot.new_token(),
            rid=self.known_rid,
            seq=self.known_seq,
            dim=owner.dim,
            model=owner.model,
            ntotal=self.index.ntotal,
        )
        stamp = recorded_stamp(conn)
        if (
            stamp is not None
            and stamp == replace(fresh, token=stamp.token)
            and snapshot.read_stamp(self.path) == stamp
        ):
            return  # the file already holds exactly this state: skip rewriting it
        snapshot.save(self.path, self.index, fresh)
        _record(conn, fresh)

    def erase_from_snapshot(self, conn: sqlite3.Connection, rids: Sequence[int]) -> bool:
        """Zero erased rows in the snapshot file before the erasing transaction commits.

        Order, and why it is safe: the bound file is patched in place and fsynced under a new
        token, and the new token is recorded in the same transaction as the erasure. A crash
        before the commit leaves a file whose token the database does not know, so the next
        open rejects, scrubs and rebuilds it (the rows it zeroed are still in SQLite); after
        the commit the file is bound and already free of the erased vectors. A file that is
        not bound to the recorded stamp is scrubbed instead. Returns whether the file was
        patched (the caller must discard it if the transaction then rolls back).
        """
        if not self.path.exists():
            return False
        stamp = recorded_stamp(conn)
        if stamp is not None:
            renewed = stamp.renewed()
            if snapshot.zero_rows(self.path, stamp, np.asarray(rids, dtype=np.int64), renewed):
                _record(conn, renewed)
                return True
        snapshot.scrub(self.path)
        return False

    def discard_rejected(self, conn: sqlite3.Connection) -> None:
        """Scrub the snapshot rejected at open, unless another process replaced it since."""
        rejected, self.rejected = self.rejected, None
        if rejected is None or _identity(self.path) != rejected[0]:
            return
        bad_contents = rejected[1]
        if bad_contents or snapshot.read_stamp(self.path) != recorded_stamp(conn):
            snapshot.scrub(self.path)

    def clean_temp(self) -> None:
        """Scrub a temp file an interrupted save left behind (it may hold erased vectors)."""
        snapshot.scrub(snapshot.temp_path(self.path))

    # -- checking ----------------------------------------------------------------------------
    def check(self, conn: sqlite3.Connection, dim: int) -> int:
        """Compare every row's stored vector and terms with the indexes; returns rows checked."""
        if self.index is None:
            return 0
        checked = 0
        cursor = conn.execute("SELECT rid, embedding, terms FROM memories")
        while chunk := cursor.fetchmany(4096):
            rids = np.array([r[0] for r in chunk], dtype=np.int64)
            stored = np.frombuffer(b"".join(r[1] for r in chunk), dtype=np.float32)
            if stored.size != len(chunk) * dim:
                raise StorageError(
                    f"some stored vectors are not {dim}-d: the store mixes embedders"
                )
            if not np.array_equal(self.index.vectors(rids), stored.reshape(len(chunk), dim)):
                raise StorageError("the vector index disagrees with SQLite")
            if self.terms.get(rids.tolist()) != [r[2] for r in chunk]:
                raise StorageError("the keyword index disagrees with SQLite")
            checked += len(chunk)
        return checked


def _log_reaches(conn: sqlite3.Connection, seq: int, seq_top: int) -> bool:
    """Whether every change after ``seq`` up to ``seq_top`` is still in the change log."""
    if seq >= seq_top:
        return seq == seq_top
    oldest = conn.execute("SELECT min(seq) FROM changes").fetchone()[0]
    return oldest is not None and oldest <= seq + 1


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns)
