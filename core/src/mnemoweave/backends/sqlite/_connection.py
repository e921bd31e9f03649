"""Opening the SQLite connection of a store: WAL, busy timeout, durability, secure delete."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from ...errors import StorageError
from ._filter_sql import canonical_json
from ._storage_errors import from_sqlite, is_busy


def connect(db_path: Path, *, durability: str, busy_timeout: float) -> sqlite3.Connection:
    """A configured connection, or :class:`StorageError` saying why the file cannot serve.

    Only lock contention is retried (within ``busy_timeout``); a read-only directory or a
    damaged file fails at once instead of stalling for the whole timeout.
    """
    try:
        conn = sqlite3.connect(
            db_path, isolation_level=None, check_same_thread=False, timeout=busy_timeout
        )
    except sqlite3.Error as exc:
        raise from_sqlite(exc, db_path, "opening the store") from exc
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        deadline = time.monotonic() + busy_timeout
        while True:  # switching to WAL needs a moment of exclusive access on a new file
            try:
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                break
            except sqlite3.OperationalError as exc:
                if not is_busy(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        if str(mode).lower() != "wal":
            raise StorageError(f"{db_path} cannot use WAL journaling (got {mode!r})")
        conn.execute(f"PRAGMA synchronous = {'FULL' if durability == 'full' else 'NORMAL'}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA secure_delete = ON")
        conn.execute("PRAGMA cache_size = -65536")
        conn.execute("PRAGMA mmap_size = 1073741824")
        conn.execute("PRAGMA temp_store = MEMORY")
        conn.create_function("mw_fold", 1, _fold, deterministic=True)
        conn.create_function("mw_json", 1, canonical_json, deterministic=True)
    except sqlite3.Error as exc:
        conn.close()
        raise from_sqlite(exc, db_path, "opening the store") from exc
    except BaseException:
        conn.close()
        raise
    return conn


def _fold(value: Any) -> str | None:
    return None if value is None else str(value).casefold()
