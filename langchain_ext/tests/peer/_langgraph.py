"""LangGraph's own store tests (langgraph-checkpoint-sqlite's sync and async files) on our store.

The files come from the pinned sdist (see ``_suites.py``); the only change is that
``SqliteStore`` / ``AsyncSqliteStore`` build a MnemoweaveStore on a fresh data directory
(the hash embedder, or the test's own ``index["embed"]``). Deliberate differences are
strict xfails with their reason; docs/langchain.md lists them with the pass counts.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path
from typing import Any

from mnemoweave import Memory
from mnemoweave_langchain import MnemoweaveStore

_spec = spec_from_file_location("peer_suites", Path(__file__).with_name("_suites.py"))
assert _spec is not None
assert _spec.loader is not None
suites = module_from_spec(_spec)
_spec.loader.exec_module(suites)

DIST, VERSION = "langgraph-checkpoint-sqlite", "3.1.2"


class PeerStore(MnemoweaveStore):
    """Our store plus the no-op ``setup()`` the suite's fixtures call on SqliteStore."""

    def setup(self) -> None:
        return None


class AsyncPeerStore(MnemoweaveStore):
    async def setup(self) -> None:
        return None


def _build(cls: type[MnemoweaveStore], directory: str, index: Any) -> MnemoweaveStore:
    if index is not None and index.get("embed") is not None:
        return cls(Path(directory) / "store", index=index)
    return cls(Memory(Path(directory) / "store", embedder="hash"), index=index)


class SqliteStoreShim:
    """Stands in for ``SqliteStore``: ``from_conn_string`` yields a fresh MnemoweaveStore."""

    @staticmethod
    @contextmanager
    def from_conn_string(conn_string: str, *, index: Any = None, **_: Any) -> Iterator[Any]:
        with tempfile.TemporaryDirectory() as directory:
            store = _build(PeerStore, directory, index)
            try:
                yield store
            finally:
                store.memory.close()


class AsyncSqliteStoreShim:
    @staticmethod
    @asynccontextmanager
    async def from_conn_string(
        conn_string: str, *, index: Any = None, **_: Any
    ) -> AsyncIterator[Any]:
        with tempfile.TemporaryDirectory() as directory:
            store = _build(AsyncPeerStore, directory, index)
            try:
                yield store
            finally:
                store.memory.close()


PER_FIELD = (
    "asserts cosine-like scores (> 0.9 for a field equal to the query) per indexed field: "
    "several index fields are embedded as one joined text, not one vector per field with "
    "max-pooled scores"
)
SYNC_DIFFERENCES = {
    "test_scores[poisson]": (
        "scores are in [0, 1]: a negative cosine (the query 'poisson' against 'aaa') scores 0; "
        "every other query's score equals the cosine, as the test asserts"
    ),
    "test_embed_with_path": PER_FIELD,
    "test_sql_injection_vulnerability": (
        "any filter key is accepted and matched literally (never spliced into SQL), as "
        "InMemoryStore does, so the hostile key matches nothing instead of raising"
    ),
}
SYNC_NOT_APPLICABLE = {
    "test_vector_store_initialization": "reads SqliteStore's own tables through store.conn",
    "test_nonnull_migrations": "checks SqliteStore.MIGRATIONS",
    "test_escape_glob_literal": "unit test of a SqliteStore SQL helper",
    "test_namespace_match_pattern": "unit test of a SqliteStore SQL helper",
    "test_list_namespaces_prefix_uses_indexable_condition": "inspects SqliteStore's SQL",
}
ASYNC_DIFFERENCES = {
    "test_no_running_loop": (
        "one MnemoweaveStore serves sync and async code: sync calls on the event loop's "
        "thread run (blocking) instead of raising InvalidStateError as AsyncSqliteStore does"
    ),
    "test_embed_with_path": PER_FIELD,
}

sync_suite = suites.load_suite(
    suites.suite_file(DIST, VERSION, "tests/test_store.py"),
    "peer_langgraph_sqlite_test_store",
    replace={"SqliteStore": SqliteStoreShim},
)
async_suite = suites.load_suite(
    suites.suite_file(DIST, VERSION, "tests/test_async_store.py"),
    "peer_langgraph_sqlite_test_async_store",
    replace={"AsyncSqliteStore": AsyncSqliteStoreShim},
    provides={
        "tests": suites.package("tests", test_store=sync_suite),
        "tests.test_store": sync_suite,
    },
)
