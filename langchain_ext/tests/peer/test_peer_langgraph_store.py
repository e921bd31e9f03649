"""langgraph-checkpoint-sqlite 3.1.2 ``tests/test_store.py`` against MnemoweaveStore."""

from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

import pytest

pytest.importorskip("langgraph.store.sqlite")

_spec = spec_from_file_location("peer_langgraph", Path(__file__).with_name("_langgraph.py"))
assert _spec is not None
assert _spec.loader is not None
peer = module_from_spec(_spec)
_spec.loader.exec_module(peer)

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _fresh_query_vectors() -> None:
    """The suite's fake embeddings share one model id across tests with different vectors;
    the process-wide query-vector cache (keyed by model id and text) must not carry them over."""
    from mnemoweave.embed import clear_query_cache

    clear_query_cache()


peer.suites.export(
    peer.sync_suite,
    globals(),
    differences=peer.SYNC_DIFFERENCES,
    not_applicable=peer.SYNC_NOT_APPLICABLE,
)
