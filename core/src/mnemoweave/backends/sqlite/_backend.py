"""``SQLiteBackend``: the :class:`~mnemoweave.backends.base.Backend` over one data directory."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ._reads import SQLiteReader
from ._store import Store
from ._writes import SQLiteWriter


class SQLiteBackend:
    """SQLite (source of truth) + FAISS and term indexes derived from it, in ``directory``."""

    def __init__(
        self, directory: str | Path, *, durability: str = "normal", busy_timeout: float = 30.0
    ) -> None:
        self.store = Store(Path(directory), durability=durability, busy_timeout=busy_timeout)
        self.location = str(self.store.directory)

    @property
    def directory(self) -> Path:
        return self.store.directory

    @contextmanager
    def read(self) -> Iterator[SQLiteReader]:
        with self.store.read() as conn:
            yield SQLiteReader(self.store, conn)

    @contextmanager
    def write(self) -> Iterator[SQLiteWriter]:
        with self.store.write() as tx:
            yield SQLiteWriter(self.store, tx)

    def bind_model(self, model: str, dim: int) -> None:
        store = self.store
        if store.dim != dim or store.index is None or store.model_name != model:
            store.bind_model(model, dim)

    def stats(self) -> dict[str, Any]:
        """Counts, sizes, the model and the schema version (for ``mnemoweave stats``)."""
        with self.store.read() as conn:
            total, active = conn.execute(
                "SELECT count(*), coalesce(sum(status = 0), 0) FROM memories"
            ).fetchone()
            versions = conn.execute("SELECT count(*) FROM memory_versions").fetchone()[0]
            events = conn.execute("SELECT count(*) FROM history").fetchone()[0]
            schema = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()[0]
        files = [f for f in self.directory.rglob("*") if f.is_file()]
        return {
            "backend": "sqlite",
            "location": self.location,
            "memories": int(total),
            "active": int(active),
            "versions": int(versions),
            "history_events": int(events),
            "bytes_on_disk": sum(f.stat().st_size for f in files),
            "model": self.store.model_name,
            "dim": self.store.dim,
            "schema_version": schema,
        }

    def verify(self) -> dict[str, Any]:
        return self.store.verify()

    def checkpoint(self) -> None:
        self.store.checkpoint()

    def close(self) -> None:
        self.store.close()

    def __repr__(self) -> str:
        return f"SQLiteBackend({self.location!r})"
