"""Turn SQLite and OS failures of the store into :class:`StorageError` that say what to do.

A full disk, a read-only directory or a damaged file is not the caller's bug, but it is
something the caller can fix; the raw ``sqlite3``/``OSError`` text rarely says how.
"""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

from ...errors import StorageError

_FULL = "the disk holding {dir} is full (or the file size limit was reached): free space and retry"
_READ_ONLY = (
    "{dir} is not writable: mnemoweave keeps its write-ahead log and vector snapshot beside the "
    "database, so the data directory must be writable; fix its permissions or mount, or copy "
    "the store to a writable place"
)
_CORRUPT = (
    "{db} is not a readable mnemoweave database (damaged, truncated or not SQLite): restore it "
    "from a backup, or move it aside to start a new store; mnemoweave did not modify it"
)
_BUSY = (
    "another process kept {db} locked for longer than busy_timeout: retry, or raise "
    "busy_timeout if long writes are expected"
)
_IO = (
    "reading or writing {dir} failed ({detail}): the disk may be full or failing; free space "
    "or check it, and retry"
)

_BY_CODE = {
    "SQLITE_FULL": _FULL,
    "SQLITE_READONLY": _READ_ONLY,
    "SQLITE_READONLY_DIRECTORY": _READ_ONLY,
    "SQLITE_READONLY_DBMOVED": _READ_ONLY,
    "SQLITE_READONLY_CANTINIT": _READ_ONLY,
    "SQLITE_READONLY_CANTLOCK": _READ_ONLY,
    "SQLITE_READONLY_RECOVERY": _READ_ONLY,
    "SQLITE_CANTOPEN": _READ_ONLY,
    "SQLITE_NOTADB": _CORRUPT,
    "SQLITE_CORRUPT": _CORRUPT,
    "SQLITE_CORRUPT_INDEX": _CORRUPT,
    "SQLITE_CORRUPT_SEQUENCE": _CORRUPT,
    "SQLITE_CORRUPT_VTAB": _CORRUPT,
    "SQLITE_BUSY": _BUSY,
    "SQLITE_BUSY_SNAPSHOT": _BUSY,
    "SQLITE_BUSY_RECOVERY": _BUSY,
    "SQLITE_LOCKED": _BUSY,
}
_BY_ERRNO = {
    errno.ENOSPC: _FULL,
    errno.EDQUOT: _FULL,
    errno.EFBIG: _FULL,
    errno.EROFS: _READ_ONLY,
    errno.EACCES: _READ_ONLY,
    errno.EPERM: _READ_ONLY,
}


def is_busy(exc: sqlite3.Error) -> bool:
    """Whether SQLite failed only because another connection holds a lock (worth retrying)."""
    return _BY_CODE.get(getattr(exc, "sqlite_errorname", "")) is _BUSY or "locked" in str(exc)


def from_sqlite(exc: sqlite3.Error, db: Path, action: str) -> StorageError:
    """A :class:`StorageError` for a failed SQLite call while doing ``action``."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    template = _BY_CODE.get(name)
    if template is None and name.startswith("SQLITE_IOERR"):
        template = _FULL if "full" in str(exc) else _IO
    if template is None:
        template = "SQLite failed on {db} ({detail})"
    text = template.format(dir=db.parent, db=db, detail=f"{name or type(exc).__name__}: {exc}")
    return StorageError(f"{action}: {text} [{exc}]")


def from_os(exc: OSError, path: Path, action: str) -> StorageError:
    """A :class:`StorageError` for a failed file operation on ``path`` while doing ``action``."""
    template = _BY_ERRNO.get(exc.errno or 0, _IO)
    detail = exc.strerror or str(exc)
    text = template.format(dir=path.parent, db=path, detail=detail)
    return StorageError(f"{action}: {text} [{exc}]")
