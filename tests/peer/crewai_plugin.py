"""pytest plugin for CrewAI's own memory tests: their stores are built on mnemoweave.

Loaded with ``-p crewai_plugin`` by ``test_crewai_peer.py``. Only the store-building step is
changed: CrewAI's ``LanceDBStorage(path=..., vector_dim=...)`` and every string ``storage=``
spec of its ``Memory`` (through CrewAI's own ``set_memory_storage_factory`` hook) become a
``MnemoweaveStorage`` on a mnemoweave store in that directory (deterministic test embedder, no
LLM). The test files themselves run unchanged.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

os.environ.update(
    {
        "CREWAI_DISABLE_TELEMETRY": "true",
        "OTEL_SDK_DISABLED": "true",
        "CREWAI_TRACING_ENABLED": "false",
    }
)
os.environ.pop("OPENAI_API_KEY", None)

from crewai.memory.storage import factory, lancedb_storage

from mnemoweave import Memory
from mnemoweave_crewai import MnemoweaveStorage

PEER_USER = "crewai-peer"
_opened: list[Memory] = []


def mnemoweave_storage(path: str | None = None, vector_dim: int | None = None, **_: Any) -> Any:
    """What CrewAI's tests get where they build a LanceDB store."""
    directory = path or tempfile.mkdtemp(prefix="crewai-peer-")
    store = Memory(directory, embedder="hash")
    _opened.append(store)
    return MnemoweaveStorage(store, user_id=PEER_USER)


def _from_spec(spec: str) -> Any:
    return mnemoweave_storage(None if spec in ("lancedb", "qdrant-edge") else spec)


def pytest_configure(config: Any) -> None:
    lancedb_storage.LanceDBStorage = mnemoweave_storage  # type: ignore[misc,assignment]
    factory.set_memory_storage_factory(_from_spec)


def pytest_runtest_setup(item: Any) -> None:
    # Some tests reset the factory (test_storage_factory.py); each test starts from ours.
    factory.set_memory_storage_factory(_from_spec)


def pytest_unconfigure(config: Any) -> None:
    for store in _opened:
        try:
            store.close()
        except Exception:
            pass
