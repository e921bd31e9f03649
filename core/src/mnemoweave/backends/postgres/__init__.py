"""The PostgreSQL + pgvector backend: one collection (schema) shared by many processes and hosts.

Needs the ``postgres`` extra (``pip install 'mnemoweave[postgres]'``): psycopg 3, psycopg_pool
and pgvector. See ``docs/postgres.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._backend import PostgresBackend
from ._keys import parse_url

if TYPE_CHECKING:
    from ...config import MemoryConfig

__all__ = ["PostgresBackend", "open_postgres"]


def open_postgres(url: str, config: MemoryConfig) -> PostgresBackend:
    """The collection a ``postgresql://`` URL names (``?collection=`` picks the schema)."""
    return PostgresBackend(parse_url(url), busy_timeout=config.busy_timeout)
