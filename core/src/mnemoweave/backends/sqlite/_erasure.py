"""Finishing an erasure on disk after its transaction committed.

``secure_delete`` overwrites freed space in the pages a commit writes, but in WAL mode those
pages reach the database file only at a checkpoint, and the older copies (in the database
file, and in WAL frames from before) stay readable until then. A checkpoint cannot pass a
read transaction of another process that still sees the old pages, so an erasure can be
committed (gone from every query) while its bytes are still on disk. Every erasing
transaction therefore also sets a marker row; the marker is cleared only after a checkpoint
that folded and truncated the whole log. Until then a background thread of every process that
knows of the marker retries, and each open of the store retries as well.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import weakref
from collections.abc import Callable

from ._storage_errors import is_busy

logger = logging.getLogger("mnemoweave")

MARKER = "erasure_pending"
_FIRST_DELAY = 0.05
_MAX_DELAY = 2.0


def mark(conn: sqlite3.Connection) -> None:
    """Record, inside the erasing transaction, that its bytes may still be on disk."""
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, '1') ON CONFLICT (key)"
        " DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)",
        (MARKER,),
    )


def pending(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM meta WHERE key = ?", (MARKER,)).fetchone() is not None


def fold(conn: sqlite3.Connection, *, wait: float, busy_timeout: float) -> bool:
    """Checkpoint and truncate the WAL, waiting at most ``wait`` s for readers; True if done.

    The caller holds the store's lock with no transaction open. On success the marker read
    before the checkpoint is cleared (a later erasure has bumped it, and keeps it).
    """
    marker = conn.execute("SELECT value FROM meta WHERE key = ?", (MARKER,)).fetchone()
    conn.execute(f"PRAGMA busy_timeout = {int(wait * 1000)}")
    try:
        busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        if busy:
            return False
        if marker is not None:
            try:
                conn.execute("DELETE FROM meta WHERE key = ? AND value = ?", (MARKER, marker[0]))
            except sqlite3.OperationalError as exc:
                if not is_busy(exc):
                    raise
                # The bytes are gone; a writer holds the lock, so the marker stays a while.
    finally:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
    return True


class Finisher:
    """A daemon thread that retries ``attempt`` with backoff until it returns True or stops.

    It holds ``attempt`` (a bound method of the store) weakly, so a store nobody uses any more
    is freed at once instead of waiting for the cycle collector.
    """

    def __init__(self, attempt: Callable[[], bool]) -> None:
        self._attempt = weakref.WeakMethod(attempt)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._guard = threading.Lock()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        with self._guard:
            if self.running or self._stop.is_set():
                return
            self._thread = threading.Thread(
                target=self._run, name="mnemoweave-erasure", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _run(self) -> None:
        delay = _FIRST_DELAY
        while not self._stop.wait(delay):
            attempt = self._attempt()
            if attempt is None:
                return
            try:
                if attempt():
                    return
            except Exception as exc:  # the store closed or broke: its owner will hear of it
                logger.debug("pending erasure: retry failed: %s", exc)
                return
            delay = min(delay * 2, _MAX_DELAY)
