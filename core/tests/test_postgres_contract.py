"""The PostgreSQL backend runs the backend contract suite, unchanged.

``erase=vacuum`` makes every erasure rewrite the text tables, which the suite's erasure
test demands (``erased_from_disk`` true, no text in ``stored_bytes``).
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from psycopg import sql

from mnemoweave.backends.postgres._keys import parse_url
from mnemoweave.testing import BackendContractTests, postgres_store_url


def _dump(url: str, schema: str) -> bytes:
    """Every row of every table of ``schema``, as text."""
    out = []
    with psycopg.connect(url, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
        ).fetchall()
        for (table,) in tables:
            query = sql.SQL("SELECT t::text FROM {}.{} t").format(
                sql.Identifier(schema), sql.Identifier(table)
            )
            out += [row[0].encode() for row in conn.execute(query).fetchall()]
    return b"\n".join(out)


class TestPostgresBackend(BackendContractTests):
    @pytest.fixture
    def memory_config(self, pg_server_url: str) -> dict[str, Any]:
        url = postgres_store_url(pg_server_url, prefix="c", erase="vacuum")
        return {"backend": url, "embedder": "hash"}

    def stored_bytes(self, config: dict[str, Any]) -> bytes:
        target = parse_url(config["backend"])
        return _dump(target.conninfo, target.collection)
