"""The SQLite store (the source of truth) and the FAISS index derived from it.

One connection per store object, guarded by a re-entrant lock; every write is a
``BEGIN IMMEDIATE`` transaction so concurrent processes queue on SQLite's write lock (with a
busy timeout) instead of failing. The vector index is brought up to date from SQLite inside the
same transaction snapshot a search or write reads, so it never disagrees with the rows it serves.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._filters import canonical_json
from ._keywords import TermIndex
from ._migrations import migrate
from ._vectors import VectorIndex, erase_in_file
from .errors import ConfigurationError, DimensionMismatchError, StorageError

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
class NewRow:
    """A memory about to be inserted (the vector goes to SQLite and to the index)."""

    id: str
    memory: str
    hash: str
    user_id: str | None
    agent_id: str | None
    run_id: str | None
    actor_id: str | None
    role: str | None
    metadata: str
    categories: str
    memory_type: str | None
    immutable: int
    timestamp: float
    recorded_at: float
    expires_at: float | None
    terms: bytes
    vector: np.ndarray


@dataclass(slots=True)
class Txn:
    """Index work to apply once the surrounding SQLite transaction has committed."""

    conn: sqlite3.Connection
    puts: list[tuple[np.ndarray, np.ndarray, list[bytes]]] = field(default_factory=list)
    clears: list[int] = field(default_factory=list)
    erased: list[int] = field(default_factory=list)


def new_ids(n: int) -> list[str]:
    """``n`` random uuid4 strings, made in one batch (bulk inserts create many at once)."""
    raw = np.frombuffer(os.urandom(16 * n), dtype=np.uint8).reshape(n, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    h = raw.tobytes().hex()
    return [
        f"{h[i : i + 8]}-{h[i + 8 : i + 12]}-{h[i + 12 : i + 16]}-{h[i + 16 : i + 20]}-"
        f"{h[i + 20 : i + 32]}"
        for i in range(0, 32 * n, 32)
    ]


def text_hash(text: str) -> str:
    """The content hash (md5, as mem0 uses) that spots identical memories in a scope."""
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def scope_key(user_id: str | None, agent_id: str | None, run_id: str | None) -> str:
    """Canonical text key of an exact scope, used for the message window."""
    return json.dumps([user_id, agent_id, run_id], separators=(",", ":"))


def scope_sql(scope: dict[str, str], alias: str = "m") -> tuple[str, list[str]]:
    """Equality on each given scope id (the caller guarantees at least one)."""
    parts = [f"{alias}.{key} = ?" for key in scope]
    return " AND ".join(parts), list(scope.values())


def exact_scope_sql(
    ids: tuple[str | None, str | None, str | None], alias: str = "m"
) -> tuple[str, list[str]]:
    """Match exactly this (user, agent, run): given ids equal, absent ones NULL."""
    parts, params = [], []
    for key, value in zip(("user_id", "agent_id", "run_id"), ids):
        if value is None:
            parts.append(f"{alias}.{key} IS NULL")
        else:
            parts.append(f"{alias}.{key} = ?")
            params.append(value)
    return " AND ".join(parts), params


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
        self.index_path = directory / INDEX_NAME
        self.lock = threading.RLock()
        self._busy_timeout = busy_timeout
        self.conn = self._connect(durability, busy_timeout)
        self.index: VectorIndex | None = None
        self.terms = TermIndex()
        self.model_row: int | None = None
        self.dim: int | None = None
        self.model_name: str | None = None
        self._known_rid = 0  # highest memory rid reflected in the index
        self._known_seq = 0  # highest change seq reflected in the index
        self._closed = False
        with self.write() as tx:
            migrate(tx.conn)
            tx.conn.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('store_id', ?)",
                (uuid.uuid4().hex,),
            )
        self._stray_cleanup()
        collection = self.conn.execute(
            "SELECT e.id, e.model, e.dim FROM meta"
            " JOIN embedding_models e ON e.id = CAST(meta.value AS INTEGER)"
            " WHERE meta.key = 'embedding_model'"
        ).fetchone()
        if collection:
            self.model_row, self.model_name, self.dim = collection

    # -- connection and transactions -----------------------------------------------------
    def _connect(self, durability: str, busy_timeout: float) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self.db_path, isolation_level=None, check_same_thread=False, timeout=busy_timeout
            )
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open {self.db_path}: {exc}") from exc
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        deadline = time.monotonic() + busy_timeout
        while True:  # switching to WAL needs a moment of exclusive access on a new file
            try:
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                break
            except sqlite3.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        if str(mode).lower() != "wal":
            raise StorageError(f"{self.db_path} cannot use WAL journaling (got {mode!r})")
        conn.execute(f"PRAGMA synchronous = {'FULL' if durability == 'full' else 'NORMAL'}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA secure_delete = ON")
        conn.execute("PRAGMA cache_size = -65536")
        conn.execute("PRAGMA mmap_size = 1073741824")
        conn.execute("PRAGMA temp_store = MEMORY")
        conn.create_function("mw_fold", 1, _fold, deterministic=True)
        conn.create_function("mw_json", 1, canonical_json, deterministic=True)
        return conn

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: one consistent snapshot, index caught up to it."""
        with self.lock:
            self._check_open()
            conn = self.conn
            conn.execute("BEGIN")
            try:
                self._catch_up()
                yield conn
            finally:
                if conn.in_transaction:
                    conn.execute("COMMIT")

    @contextmanager
    def write(self) -> Iterator[Txn]:
        """A write transaction holding SQLite's write lock; index work applies after commit."""
        with self.lock:
            self._check_open()
            conn = self.conn
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise StorageError(
                    f"could not take the write lock on {self.db_path} within "
                    f"{self._busy_timeout:.0f}s: {exc}"
                ) from exc
            tx = Txn(conn)
            try:
                self._catch_up()
                yield tx
                rid_top, seq_top = self._sequences()
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if tx.erased:
                    # The saved index was patched for rows that now still exist: drop it.
                    self.index_path.unlink(missing_ok=True)
                raise
            self._apply(tx, rid_top, seq_top)

    def _check_open(self) -> None:
        if self._closed:
            raise StorageError("this memory store is closed")

    def _sequences(self) -> tuple[int, int]:
        rows = dict(self.conn.execute("SELECT name, seq FROM sqlite_sequence").fetchall())
        return int(rows.get("memories", 0)), int(rows.get("changes", 0))

    # -- embedding model and the vector index ----------------------------------------------
    def bind_model(self, model: str, dim: int) -> None:
        """Record (or check) which embedding model this store's vectors come from."""
        if self.model_name == model and self.dim == dim:
            if self.index is None:
                with self.read():
                    pass
            return
        with self.write() as tx:
            conn = tx.conn
            count = conn.execute("SELECT count(*) FROM memories").fetchone()[0]
            if self.model_name is not None and count:
                if self.dim != dim:
                    raise DimensionMismatchError(
                        f"this store holds {self.dim}-d vectors from {self.model_name!r}, but the "
                        f"configured embedder {model!r} makes {dim}-d vectors: configure the "
                        f"same embedder, or use a new data directory",
                        expected=self.dim,
                        got=dim,
                    )
                raise ConfigurationError(
                    f"this store's vectors come from {self.model_name!r}, but the configured "
                    f"embedder is {model!r}: mixing models makes search meaningless; configure "
                    f"the same embedder, or use a new data directory"
                )
            conn.execute(
                "INSERT OR IGNORE INTO embedding_models (model, dim) VALUES (?, ?)", (model, dim)
            )
            row = conn.execute(
                "SELECT id FROM embedding_models WHERE model = ? AND dim = ?", (model, dim)
            ).fetchone()[0]
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('embedding_model', ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(row),),
            )
            self.model_row, self.model_name, self.dim = row, model, dim
            self.index = None

    def _catch_up(self) -> None:
        """Bring the index up to the current snapshot (caller holds a transaction)."""
        if self.dim is None:
            return
        rid_top, seq_top = self._sequences()
        if self.index is not None and rid_top == self._known_rid and seq_top == self._known_seq:
            return
        if self.index is None:
            self._open_index(rid_top, seq_top)
            return
        oldest = self.conn.execute("SELECT min(seq) FROM changes").fetchone()[0]
        oldest = seq_top + 1 if oldest is None else oldest
        if self._known_seq < oldest - 1:
            self._rebuild(rid_top, seq_top)  # the change log no longer reaches back to us
            return
        self._load_rows(
            "SELECT rid, embedding, terms FROM memories WHERE rid > ?", (self._known_rid,)
        )
        changed = self.conn.execute(
            "SELECT DISTINCT c.rid, m.embedding, m.terms FROM changes c"
            " LEFT JOIN memories m ON m.rid = c.rid WHERE c.seq > ? AND c.rid <= ?",
            (self._known_seq, self._known_rid),
        ).fetchall()
        gone = [row[0] for row in changed if row[1] is None]
        present = [row for row in changed if row[1] is not None]
        assert self.index is not None
        self.index.clear(np.array(gone, dtype=np.int64))
        self.terms.clear(gone)
        self._put_blobs(present)
        self._known_rid, self._known_seq = rid_top, seq_top
        self.index.grow(rid_top + 1)
        self.terms.grow(rid_top + 1)

    def _open_index(self, rid_top: int, seq_top: int) -> None:
        snap = self.conn.execute("SELECT value FROM meta WHERE key = 'vector_snapshot'").fetchone()
        if snap and self.dim is not None:
            info = json.loads(snap[0])
            loaded = None
            if (
                info.get("dim") == self.dim
                and info.get("model") == self.model_name
                and "rid" in info
            ):
                loaded = VectorIndex.load(self.index_path, self.dim, int(info["ntotal"]))
            if loaded is not None:
                self.index = loaded
                self.terms = TermIndex()
                known = int(info["rid"])
                cursor = self.conn.execute(
                    "SELECT rid, terms FROM memories WHERE rid <= ?", (known,)
                )
                while chunk := cursor.fetchmany(8192):
                    self.terms.put([r[0] for r in chunk], [r[1] for r in chunk])
                self._known_rid = known
                self._known_seq = int(info["seq"])
                self._catch_up()
                return
        self._rebuild(rid_top, seq_top)

    def _rebuild(self, rid_top: int, seq_top: int) -> None:
        assert self.dim is not None
        self.index = VectorIndex(self.dim)
        self.terms = TermIndex()
        # Size both once: rows then land in place instead of growing the index step by step.
        self.index.grow(rid_top + 1)
        self.terms.grow(rid_top + 1)
        self._load_rows("SELECT rid, embedding, terms FROM memories", ())
        self._known_rid, self._known_seq = rid_top, seq_top

    def _load_rows(self, sql: str, params: tuple[Any, ...]) -> None:
        cursor = self.conn.execute(sql, params)
        while True:
            chunk = cursor.fetchmany(8192)
            if not chunk:
                break
            self._put_blobs(chunk)

    def _put_blobs(self, rows: Sequence[tuple[int, bytes, bytes]]) -> None:
        """Put ``(rid, embedding, terms)`` rows read from SQLite into the derived indexes."""
        if not rows:
            return
        assert self.index is not None
        assert self.dim is not None
        rids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        flat = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32)
        if flat.size != len(rows) * self.dim:
            raise StorageError(
                f"stored vectors do not match the store's dimension {self.dim}; the database "
                "may have been written by a different embedder"
            )
        self.index.put(rids, flat.reshape(len(rows), self.dim))
        self.terms.put(rids.tolist(), [r[2] for r in rows])

    def _apply(self, tx: Txn, rid_top: int, seq_top: int) -> None:
        if self.index is None:
            return
        for rids, vectors, blobs in tx.puts:
            self.index.put(rids, vectors)
            self.terms.put(rids.tolist(), blobs)
        if tx.clears:
            self.index.clear(np.array(tx.clears, dtype=np.int64))
            self.terms.clear(tx.clears)
        self.index.grow(rid_top + 1)
        self.terms.grow(rid_top + 1)
        self._known_rid, self._known_seq = rid_top, seq_top

    def _erase_snapshot(self, rids: list[int]) -> None:
        """Zero erased vectors in the saved index file too (or drop the file if it looks wrong)."""
        snap = self.conn.execute("SELECT value FROM meta WHERE key = 'vector_snapshot'").fetchone()
        if not snap or not self.index_path.exists() or self.dim is None:
            return
        ntotal = int(json.loads(snap[0])["ntotal"])
        if not erase_in_file(self.index_path, np.array(rids, dtype=np.int64), self.dim, ntotal):
            self.index_path.unlink(missing_ok=True)

    def save_index(self) -> None:
        """Persist the index under the write lock, fully caught up, and record what it holds."""
        if self.index is None or self.dim is None:
            return
        with self.write() as tx:
            info = {
                "ntotal": self.index.ntotal,
                "rid": self._known_rid,
                "seq": self._known_seq,
                "dim": self.dim,
                "model": self.model_name,
            }
            saved = tx.conn.execute(
                "SELECT value FROM meta WHERE key = 'vector_snapshot'"
            ).fetchone()
            if saved and json.loads(saved[0]) == info and self.index_path.exists():
                return  # the file already holds exactly this state: skip rewriting it
            self.index.save(self.index_path)
            tx.conn.execute(
                "INSERT INTO meta (key, value) VALUES ('vector_snapshot', ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (json.dumps(info),),
            )

    def _stray_cleanup(self) -> None:
        tmp = self.index_path.with_name(self.index_path.name + ".tmp")
        tmp.unlink(missing_ok=True)

    # -- writes ----------------------------------------------------------------------------
    def insert(self, tx: Txn, rows: Sequence[NewRow], *, event: str = "ADD") -> list[int]:
        """Insert memories with explicit, consecutive row ids (we hold the write lock)."""
        if not rows:
            return []
        conn = tx.conn
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
        tx.erased.extend(rids)
        # Patch the saved index before commit, so no crash can leave erased vectors on disk.
        self._erase_snapshot(list(rids))
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
        """Check SQLite's integrity and that the index holds exactly each row's stored vector."""
        with self.read() as conn:
            integrity = conn.execute("PRAGMA integrity_check").fetchall()
            if integrity != [("ok",)]:
                raise StorageError(f"SQLite integrity check failed: {integrity[:5]}")
            broken = conn.execute("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise StorageError(f"foreign key check failed: {broken[:5]}")
            checked = 0
            if self.index is not None and self.dim is not None:
                cursor = conn.execute("SELECT rid, embedding, terms FROM memories")
                while chunk := cursor.fetchmany(4096):
                    rids = np.array([r[0] for r in chunk], dtype=np.int64)
                    stored = np.frombuffer(b"".join(r[1] for r in chunk), dtype=np.float32)
                    indexed = self.index.vectors(rids)
                    if not np.array_equal(indexed, stored.reshape(len(chunk), self.dim)):
                        raise StorageError("the vector index disagrees with SQLite")
                    if self.terms.get(rids.tolist()) != [r[2] for r in chunk]:
                        raise StorageError("the keyword index disagrees with SQLite")
                    checked += len(chunk)
            memories = conn.execute("SELECT count(*) FROM memories").fetchone()[0]
        return {"ok": True, "memories": int(memories), "vectors_checked": checked}

    def checkpoint(self) -> None:
        """Copy the WAL into the database file and truncate it (best effort with readers)."""
        with self.lock:
            self._check_open()
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self, *, save_index: bool = True) -> None:
        with self.lock:
            if self._closed:
                return
            try:
                if save_index and self.index is not None:
                    self.save_index()
            finally:
                self._closed = True
                self.conn.close()


def _fold(value: Any) -> str | None:
    return None if value is None else str(value).casefold()
