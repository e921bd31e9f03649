"""The PostgreSQL backend runs the backend contract suite, once ``BackendContractTests`` exists.

The suite lives in ``mnemoweave.testing`` (its own branch); until it is merged this module
defines no test class. ``erase=vacuum`` makes every erasure rewrite the text tables, which
the suite's erasure test demands (``erased_from_disk`` true, no text in ``stored_bytes``).
"""

from __future__ import annotations

import importlib
import uuid
from typing import Any

import psycopg
import pytest
from psycopg import sql

from mnemoweave.backends.postgres._keys import parse_url

# Looked up, not imported: a tree without the suite collects nothing from this module.
_CONTRACT: Any = getattr(
    importlib.import_module("mnemoweave.testing"), "BackendContractTests", None
)


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


if _CONTRACT is not None:

    class TestPostgresBackend(_CONTRACT):
        @pytest.fixture
        def memory_config(self, pg_server_url: str) -> dict[str, Any]:
            sep = "&" if "?" in pg_server_url else "?"
            name = f"c_{uuid.uuid4().hex[:12]}"
            url = f"{pg_server_url}{sep}collection={name}&erase=vacuum"
            return {"backend": url, "embedder": "hash"}

        def stored_bytes(self, config: dict[str, Any]) -> bytes:
            target = parse_url(config["backend"])
            return _dump(target.conninfo, target.collection)
