"""The embedded backend: SQLite as the source of truth, FAISS and a term index derived from it."""

from __future__ import annotations

from ._backend import SQLiteBackend

__all__ = ["SQLiteBackend"]
