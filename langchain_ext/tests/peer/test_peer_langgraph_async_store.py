"""langgraph-checkpoint-sqlite 3.1.2 ``tests/test_async_store.py`` against MnemoweaveStore."""

from __future__ import annotations

import gc
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
def _collect_earlier_tests_objects() -> None:
    """Finalise what earlier tests left to the garbage collector (async clients of loops that
    have closed) before this test's loop starts, so their clean-up cannot run inside it."""
    gc.collect()


peer.suites.export(
    peer.async_suite, globals(), differences=peer.ASYNC_DIFFERENCES, not_applicable={}
)
