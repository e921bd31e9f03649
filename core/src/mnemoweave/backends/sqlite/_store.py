"""The SQLite store (the source of truth) and the FAISS index derived from it.

One connection per store object, guarded by a re-entrant lock; every write is a
``BEGIN IMMEDIATE`` transaction so concurrent processes queue on SQLite's write lock (with a
busy timeout) instead of failing. The vector index is brought up to date from SQLite inside the
same transaction snapshot a search or write reads, so it never disagrees with the rows it serves.
SQLite and file-system failures leave here as :class:`StorageError` saying what to do.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..._ids import scope_key
from ..._keywords import TermIndex
from ...errors import ConfigurationError, EmbeddingError, StorageError
from ..base import NewRow
from . import _binding as binding
from . import _erasure as erasure
from ._connection import connect
from ._derived import Derived, Owner
from ._migrations import migrate
from ._storage_errors import from_os, from_sqlite, is_busy
from ._vectors import VectorIndex

logger = logging.getLogger("mnemoweave")

DB_NAME = "mnemoweave.db"
#: The database file name before the rename; an existing one is opened in place.
LEGACY_DB_NAME = "memweave.db"
INDEX_NAME = "vectors.faiss"
# How many in-place change records to keep; a process further behind rebuilds its index.
CHANGE_LOG_KEEP = 200_000

ITEM_COLUMNS = (
    "id, memory, hash, metadata, categories, user_id, agent_id, run_id, actor_id, role, "
    "memory_type, immutable, created_at, updated_at, valid_from, valid_to, recorded_at, "
    "expired_at, expires_at"
)


@dataclass(slots=True)
class Txn:
    """Index work to apply once the surrounding SQLite transaction has committed."""

    conn: sqlite3.Connection
    puts: list[tuple[np.ndarray, np.ndarray, list[bytes]]] = field(default_factory=list)
    clears: list[int] = field(default_factory=list)
    #: The snapshot file was patched for this transaction's erasure (void if it rolls back).
    patched: bool = False
    #: The transaction erases data (see :meth:`Store.mark_erasure`).
    erased: bool = False
    #: After commit: whether the erased bytes are already gone from the files, or pending.
    erased_on_disk: bool | None = None


class Store:
    """SQLite database + derived FAISS index for one data directory."""

    def __init__(self, directory: Path, *, durability: str = "normal", busy_timeout: float = 30.0):
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigurationError(f"cannot create data directory {directory}: {exc}") from exc
        self.directory = directory
        self.db_path = directory / DB_NAME
        legacy = directory / LEGACY_DB_NAME
        if not self.db_path.exists() and legacy.exists():
            self.db_path = legacy
        if not os.access(directory, os.W_OK):  # SQLite would only say so after busy_timeout
            raise from_os(PermissionError(13, "not writable"), self.db_path, "opening the store")
        self.lock = threading.RLock()
        self._busy_timeout = busy_timeout
        self.conn = connect(self.db_path, durability=durability, busy_timeout=busy_timeout)
        self.derived = Derived(directory / INDEX_NAME)
        self.model_row: int | None = None
        self.dim: int | None = None
        self.model_name: str | None = None
        self.store_id = ""
        self._closed = False
        self._finisher = erasure.Finisher(self._finish_quietly)
        try:
            with self.write() as tx:
                migrate(tx.conn)
                tx.conn.execute(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES ('store_id', ?)",
                    (uuid.uuid4().hex,),
                )
                self._file_op(self.derived.clean_temp, "cleaning up after an interrupted save")
            with self.read() as conn:
                self.store_id = conn.execute(
                    "SELECT value FROM meta WHERE key = 'store_id'"
                ).fetchone()[0]
                collection = binding.read(conn)
                unfinished = erasure.pending(conn)
        except BaseException:
            self.conn.close()
            raise
        if collection:
            self.model_row, self.model_name, self.dim = collection
        if unfinished:  # an erasure a reader or a crash kept from reaching the files
            self._finish_erasure_soon(wait=0)

    @property
    def index(self) -> VectorIndex | None:
        return self.derived.index

    @property
    def terms(self) -> TermIndex:
        return self.derived.terms

    # -- transactions ----------------------------------------------------------------------
    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: one consistent snapshot, index caught up to it."""
        with self.lock:
            self._check_open()
            conn = self.conn
            try:
                conn.execute("BEGIN")
                try:
                    self._catch_up()
                    yield conn
                finally:
                    if conn.in_transaction:
                        conn.execute("COMMIT")
            except sqlite3.Error as exc:
                raise from_sqlite(exc, self.db_path, "reading the store") from exc
            self._after_transaction()

    @contextmanager
    def write(self) -> Iterator[Txn]:
        """A write transaction holding SQLite's write lock; index work applies after commit."""
        with self.lock:
            self._check_open()
            conn = self.conn
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                if is_busy(exc):
                    raise StorageError(
                        f"could not take the write lock on {self.db_path} within "
                        f"{self._busy_timeout:.0f}s: {exc}"
                    ) from exc
                raise from_sqlite(exc, self.db_path, "starting a write") from exc
            tx = Txn(conn)
            try:
                self._catch_up()
                yield tx
                rid_top, seq_top = self._sequences()
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    try:
                        conn.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass  # SQLite already rolled back (e.g. after a full disk)
                if tx.patched:
                    # The saved index was patched for rows that now still exist: drop it.
                    self.derived.path.unlink(missing_ok=True)
                if isinstance(exc, sqlite3.Error):
                    raise from_sqlite(exc, self.db_path, "writing the store") from exc
                raise
            self.derived.apply(tx.puts, tx.clears, rid_top, seq_top)
            if tx.erased:
                tx.erased_on_disk = self._finish_erasure_soon(wait=min(self._busy_timeout, 1.0))
            self._after_transaction()

    def _check_open(self) -> None:
        if self._closed:
            raise StorageError("this memory store is closed")

    def _sequences(self) -> tuple[int, int]:
        rows = dict(self.conn.execute("SELECT name, seq FROM sqlite_sequence").fetchall())
        return int(rows.get("memories", 0)), int(rows.get("changes", 0))

    def _file_op(self, op: Any, action: str) -> Any:
        try:
            return op()
        except OSError as exc:
            raise from_os(exc, self.derived.path, action) from exc

    def _after_transaction(self) -> None:
        """Scrub a snapshot rejected during the transaction (that needs the write lock).

        The transaction itself has committed, so a failure here is logged, not raised; the
        file stays rejected, and the next open or erasure tries again.
        """
        if self.derived.rejected is not None:
            try:
                with self.write() as tx:
                    self._file_op(
                        lambda: self.derived.discard_rejected(tx.conn), "removing a stale snapshot"
                    )
            except StorageError as exc:
                logger.warning("mnemoweave: could not remove a stale vector snapshot: %s", exc)

    def _finish_erasure_soon(self, *, wait: float) -> bool:
        """Fold the WAL now if readers allow (True), else keep retrying in the background."""
        try:
            if self.finish_erasure(wait=wait):
                return True
        except StorageError as exc:  # the erasure committed; finishing it on disk is retried
            logger.warning("mnemoweave: erasing deleted data from disk is pending: %s", exc)
        self._finisher.start()
        return False

    # -- embedding model and the vector index ----------------------------------------------
    def _bound(self) -> binding.Bound:
        assert self.model_row is not None
        assert self.model_name is not None
        assert self.dim is not None
        return (self.model_row, self.model_name, self.dim)

    def bind_model(self, model: str, dim: int) -> None:
        """Record (or check) which embedding model this store's vectors come from.

        Checked and written inside one write transaction (see :mod:`._binding`): an empty
        store may be re-bound; once it holds a memory, only its model may write to it.
        """
        if (self.model_name, self.dim) == (model, dim):
            with self.read() as conn:  # opens the index without holding the write lock
                bound = binding.read(conn)
            if bound is not None and bound[0] == self.model_row:
                return
        with self.write() as tx:
            bound = binding.bind(tx.conn, model, dim)
            if (self.model_row, self.model_name, self.dim) != bound:
                self.derived.drop()
            self.model_row, self.model_name, self.dim = bound
            if self.derived.index is None:
                self._catch_up()

    def _catch_up(self) -> None:
        """Bring the index up to the current snapshot (caller holds a transaction)."""
        if self.dim is None:
            return
        derived = self.derived
        rid_top, seq_top = self._sequences()
        if derived.index is not None and (rid_top, seq_top) == (
            derived.known_rid,
            derived.known_seq,
        ):
            return
        binding.check(self.conn, self._bound())
        assert self.model_name is not None
        owner = Owner(self.store_id, self.dim, self.model_name)
        self._file_op(
            lambda: derived.catch_up(self.conn, rid_top, seq_top, owner),
            "reading the vector snapshot",
        )
        if not self._finisher.running and erasure.pending(self.conn):
            self._finisher.start()  # another process erased: help finish it on disk

    # -- erasure on disk ---------------------------------------------------------------------
    def mark_erasure(self, tx: Txn) -> None:
        """Note that ``tx`` erases data: after commit its bytes are overwritten on disk."""
        erasure.mark(tx.conn)
        tx.erased = True

    def finish_erasure(self, *, wait: float) -> bool:
        """Fold the WAL into the database and truncate it, so erased bytes leave the files.

        Waits at most ``wait`` seconds for other processes' readers; returns False if one
        still holds a snapshot that needs the old pages (the erasure stays pending).
        """
        with self.lock:
            if self._closed:
                return False
            try:
                return erasure.fold(self.conn, wait=wait, busy_timeout=self._busy_timeout)
            except sqlite3.Error as exc:
                raise from_sqlite(exc, self.db_path, "erasing deleted data from disk") from exc

    def _finish_quietly(self) -> bool:
        return self._closed or self.finish_erasure(wait=0)

    def save_index(self) -> None:
        """Persist the index under the write lock, fully caught up, and record what it holds."""
        if self.derived.index is None or self.dim is None:
            return
        with self.write() as tx:
            assert self.model_name is not None
            owner = Owner(self.store_id, self.dim, self.model_name)
            self._file_op(lambda: self.derived.save(tx.conn, owner), "saving the vector snapshot")

    # -- writes ----------------------------------------------------------------------------
    def insert(self, tx: Txn, rows: Sequence[NewRow], *, event: str = "ADD") -> list[int]:
        """Insert memories with explicit, consecutive row ids (we hold the write lock)."""
        if not rows:
            return []
        conn = tx.conn
        binding.claim(conn, self._bound())
        rid_top, _ = self._sequences()
        rids = list(range(rid_top + 1, rid_top + 1 + len(rows)))
        model = self.model_row
        conn.executemany(
            "INSERT INTO memories (rid, id, memory, hash, user_id, agent_id, run_id, actor_id,"
            " role, metadata, categories, memory_type, immutable, created_at, updated_at,"
            " valid_from, recorded_at, expires_at, terms, embedding, model_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    rid,
                    r.id,
                    r.memory,
                    r.hash,
                    r.user_id,
                    r.agent_id,
                    r.run_id,
                    r.actor_id,
                    r.role,
                    r.metadata,
                    r.categories,
                    r.memory_type,
                    r.immutable,
                    r.recorded_at,
                    r.recorded_at,
                    r.timestamp,
                    r.recorded_at,
                    r.expires_at,
                    r.terms,
                    r.vector.tobytes(),
                    model,
                )
                for rid, r in zip(rids, rows)
            ],
        )
        conn.executemany(
            "INSERT INTO history (rid, memory_id, event, new_memory, actor_id, role, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (rid, r.id, event, r.memory, r.actor_id, r.role, r.recorded_at)
                for rid, r in zip(rids, rows)
            ],
        )
        vectors = np.stack([r.vector for r in rows]) if len(rows) > 1 else rows[0].vector[None, :]
        tx.puts.append((np.array(rids, dtype=np.int64), vectors, [r.terms for r in rows]))
        return rids

    def _log_change(self, tx: Txn, rid: int) -> None:
        cur = tx.conn.execute("INSERT INTO changes (rid) VALUES (?)", (rid,))
        seq = cur.lastrowid or 0
        if seq % 10_000 == 0:
            tx.conn.execute("DELETE FROM changes WHERE seq <= ?", (seq - CHANGE_LOG_KEEP,))

    def replace_text(
        self,
        tx: Txn,
        rid: int,
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
        """Give a memory new text, keeping its id; the old text becomes a version row."""
        conn = tx.conn
        old = conn.execute(
            "SELECT id, memory, hash, metadata, categories, created_at, updated_at, valid_from,"
            " recorded_at, terms, embedding, model_id FROM memories WHERE rid = ?",
            (rid,),
        ).fetchone()
        memory_id, old_text = old[0], old[1]
        ended = max(valid_from, old[7])
        conn.execute(
            "INSERT INTO memory_versions (rid, memory, hash, metadata, categories, created_at,"
            " updated_at, valid_from, valid_to, recorded_at, expired_at, terms, embedding,"
            " model_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                rid,
                old[1],
                old[2],
                old[3],
                old[4],
                old[5],
                old[6],
                old[7],
                ended,
                old[8],
                now,
                old[9],
                old[10],
                old[11],
            ),
        )
        conn.execute(
            "UPDATE memories SET memory = ?, hash = ?, terms = ?, embedding = ?, model_id = ?,"
            " updated_at = ?, valid_from = ?, recorded_at = ?, metadata = coalesce(?, metadata)"
            " WHERE rid = ?",
            (text, hash_, terms, vector.tobytes(), self.model_row, now, ended, now, metadata, rid),
        )
        conn.execute(
            "INSERT INTO history (rid, memory_id, event, old_memory, new_memory, actor_id, role,"
            " created_at) VALUES (?, ?, 'UPDATE', ?, ?, ?, ?, ?)",
            (rid, memory_id, old_text, text, actor_id, role, now),
        )
        self._log_change(tx, rid)
        tx.puts.append((np.array([rid], dtype=np.int64), vector[None, :], [terms]))
        return old_text

    def set_metadata(self, tx: Txn, rid: int, metadata: str, now: float) -> None:
        tx.conn.execute(
            "UPDATE memories SET metadata = ?, updated_at = ? WHERE rid = ?", (metadata, now, rid)
        )

    def retire(
        self,
        tx: Txn,
        rid: int,
        *,
        now: float,
        valid_to: float,
        actor_id: str | None = None,
        role: str | None = None,
    ) -> str:
        """Mark a memory as no longer true (LLM DELETE): hidden from search, kept for history."""
        row = tx.conn.execute(
            "SELECT id, memory, valid_from FROM memories WHERE rid = ?", (rid,)
        ).fetchone()
        tx.conn.execute(
            "UPDATE memories SET status = 1, valid_to = ?, expired_at = ?, updated_at = ?"
            " WHERE rid = ?",
            (max(valid_to, row[2]), now, now, rid),
        )
        tx.conn.execute(
            "INSERT INTO history (rid, memory_id, event, old_memory, actor_id, role, created_at)"
            " VALUES (?, ?, 'DELETE', ?, ?, ?, ?)",
            (rid, row[0], row[1], actor_id, role, now),
        )
        return str(row[1])

    def erase(self, tx: Txn, rids: Sequence[int], now: float) -> int:
        """Erase memories completely: rows, versions, vectors, and the text in their history."""
        if not rids:
            return 0
        conn = tx.conn
        erased = 0
        for start in range(0, len(rids), 500):
            chunk = list(rids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            rows = conn.execute(
                "SELECT id, memory, user_id, agent_id, run_id, rid FROM memories"
                f" WHERE rid IN ({marks})",
                chunk,
            ).fetchall()
            # A raw memory is also a message in its scope's window: erase that copy too.
            versions = conn.execute(
                "SELECT NULL, v.memory, m.user_id, m.agent_id, m.run_id FROM memory_versions v"
                f" JOIN memories m ON m.rid = v.rid WHERE v.rid IN ({marks})",
                chunk,
            ).fetchall()
            conn.executemany(
                "DELETE FROM messages WHERE scope = ? AND content = ?",
                [(scope_key(r[2], r[3], r[4]), r[1]) for r in [*rows, *versions]],
            )
            conn.execute(f"DELETE FROM memory_versions WHERE rid IN ({marks})", chunk)
            erased += conn.execute(f"DELETE FROM memories WHERE rid IN ({marks})", chunk).rowcount
            conn.execute(
                "UPDATE history SET old_memory = NULL, new_memory = NULL, actor_id = NULL"
                f" WHERE rid IN ({marks})",
                chunk,
            )
            conn.executemany(
                "INSERT INTO history (rid, memory_id, event, created_at, is_deleted)"
                " VALUES (?, ?, 'DELETE', ?, 1)",
                [(r[5], r[0], now) for r in rows],
            )
            for rid in chunk:
                self._log_change(tx, rid)
        tx.clears.extend(rids)
        self.mark_erasure(tx)
        patched = self._file_op(
            lambda: self.derived.erase_from_snapshot(conn, rids), "erasing from the vector snapshot"
        )
        tx.patched = tx.patched or patched
        return erased

    def append_messages(
        self,
        tx: Txn,
        scope: tuple[str | None, str | None, str | None],
        messages: Sequence[tuple[str, str, str | None]],
        now: float,
        window: int,
    ) -> list[int]:
        """Add raw messages to a scope's window, drop what falls out of it; returns their ids."""
        key = scope_key(*scope)
        ids = [
            int(
                tx.conn.execute(
                    "INSERT INTO messages (scope, user_id, agent_id, run_id, role, content, name,"
                    " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (key, *scope, role, content, name, now),
                ).lastrowid
                or 0
            )
            for role, content, name in messages
        ]
        tx.conn.execute(
            "DELETE FROM messages WHERE scope = ? AND id <= (SELECT id FROM messages"
            " WHERE scope = ? ORDER BY id DESC LIMIT 1 OFFSET ?)",
            (key, key, window),
        )
        return ids

    def verify(self) -> dict[str, Any]:
        """Check SQLite's integrity, one embedding model, and that the indexes match SQLite."""
        with self.read() as conn:
            integrity = conn.execute("PRAGMA integrity_check").fetchall()
            if integrity != [("ok",)]:
                raise StorageError(f"SQLite integrity check failed: {integrity[:5]}")
            broken = conn.execute("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise StorageError(f"foreign key check failed: {broken[:5]}")
            binding.check_single_model(conn)
            checked = 0
            if self.dim is not None:
                checked = self.derived.check(conn, self.dim)
            memories = conn.execute("SELECT count(*) FROM memories").fetchone()[0]
        return {"ok": True, "memories": int(memories), "vectors_checked": checked}

    def checkpoint(self) -> None:
        """Save the vector snapshot and fold the WAL into the database file, truncating it.

        Raises :class:`StorageError` if another process's read transaction kept the WAL
        from being folded within ``busy_timeout`` (erased bytes may still be on disk then).
        """
        self.save_index()
        if not self.finish_erasure(wait=self._busy_timeout):
            self._finisher.start()
            raise StorageError(
                f"could not fold the write-ahead log of {self.db_path} within "
                f"{self._busy_timeout:.0f}s: another process holds a read transaction; "
                "erased data leaves the disk once it ends (mnemoweave retries in the background)"
            )

    def close(self, *, save_index: bool = True) -> None:
        self._finisher.stop()  # outside the lock: a retry in flight needs it to finish
        with self.lock:
            if self._closed:
                return
            try:
                if save_index and self.derived.index is not None:
                    self.save_index()
            except (ConfigurationError, EmbeddingError) as exc:
                # Another embedder won the store's binding: its snapshot is not ours to save.
                logger.debug("not saving the vector snapshot: %s", exc)
            finally:
                try:
                    if erasure.pending(self.conn) and not self.finish_erasure(wait=0):
                        logger.warning(
                            "mnemoweave: a reader in another process still sees erased data "
                            "in %s; it is overwritten the next time the store is opened",
                            self.db_path,
                        )
                except (sqlite3.Error, StorageError) as exc:
                    logger.debug("pending erasure check on close failed: %s", exc)
                finally:
                    self._closed = True
                    self.conn.close()
                    self.derived = Derived(self.derived.path)  # free the indexes' memory
