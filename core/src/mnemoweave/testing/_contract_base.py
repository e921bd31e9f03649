"""Fixtures and helpers shared by the parts of :class:`~mnemoweave.testing.BackendContractTests`.

A backend opts in by providing one fixture, ``memory_config``; everything else reaches the
store through the public ``Memory`` / ``AsyncMemory`` API (and, for the multi-process tests,
through ``python -m mnemoweave.testing._backend_worker`` children opening the same config).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from mnemoweave import AsyncMemory, Memory, NotFoundError

from ._children import Child

WORKER = "mnemoweave.testing._backend_worker"


class ContractBase:
    """The one abstract fixture, the optional hooks, and helpers every contract test uses.

    Flags: ``shared_by_processes`` (several OS processes may open one store at once; off
    skips the concurrent-writers test). ``allowed_overrides`` names contract tests a
    subclass deliberately replaces, each with the reason why.
    """

    shared_by_processes: ClassVar[bool] = True
    allowed_overrides: ClassVar[dict[str, str]] = {}

    # -- what a backend provides ---------------------------------------------------------
    @pytest.fixture
    def memory_config(self) -> dict[str, Any]:
        """A JSON-serialisable dict ``Memory.from_config`` opens: one fresh, empty store.

        Function-scoped: every test gets its own store. Use the deterministic ``"hash"``
        embedder (the suite compares scores with brute force over ``memory.embedder``).
        SQLite: ``{"path": str(tmp_path / "store"), "embedder": "hash"}``.
        """
        raise NotImplementedError(
            "a backend's contract test class must define the memory_config fixture"
        )

    def stored_bytes(self, config: dict[str, Any]) -> bytes:
        """Every byte the backend keeps for the store ``config`` opens (the erase test).

        The default reads every file under ``config["path"]`` (for SQLite: the database,
        its write-ahead log, the vector snapshot). A server backend overrides this with a
        dump of its tables (and anything else it persists).
        """
        path = config.get("path")
        if not isinstance(path, str) or not path:
            raise NotImplementedError(
                "override stored_bytes(config) to return every byte the backend stores"
            )
        chunks = []
        for file in sorted(Path(path).expanduser().rglob("*")):
            try:
                if file.is_file():
                    chunks.append(file.read_bytes())
            except FileNotFoundError:  # a transient file (e.g. a journal) went away
                continue
        return b"".join(chunks)

    # -- fixtures the tests use ----------------------------------------------------------
    @pytest.fixture
    def contract_config(self, memory_config: Any) -> dict[str, Any]:
        """``memory_config`` after a JSON round trip (what a child process receives)."""
        try:
            text = json.dumps(memory_config)
        except (TypeError, ValueError) as exc:
            pytest.fail(f"memory_config must be JSON-serialisable (child processes get it): {exc}")
        config = json.loads(text)
        assert isinstance(config, dict), "memory_config must return a dict"
        return config

    @pytest.fixture
    def contract_memory(self, contract_config: dict[str, Any]) -> Iterator[Memory]:
        """A ``Memory`` on the test's fresh store, closed afterwards."""
        mem = self.open_memory(contract_config)
        yield mem
        mem.close()

    @pytest.fixture
    def contract_children(self) -> Iterator[Callable[..., Child]]:
        """Start worker children (``mode, config, tag, *args``); killed at teardown."""
        started: list[Child] = []

        def start(mode: str, config: dict[str, Any], tag: str, *args: str) -> Child:
            child = Child(["-m", WORKER, mode, json.dumps(config), tag, *args])
            started.append(child)
            return child

        yield start
        for child in started:
            child.kill()

    # -- helpers -------------------------------------------------------------------------
    @staticmethod
    def open_memory(config: dict[str, Any]) -> Memory:
        """``Memory.from_config`` on a copy (so nothing can change the test's config)."""
        return Memory.from_config(copy.deepcopy(config))

    @staticmethod
    def open_async(config: dict[str, Any]) -> AsyncMemory:
        return AsyncMemory.from_config(copy.deepcopy(config))


def exists(mem: Memory, memory_id: str) -> bool:
    """Whether ``get`` finds ``memory_id`` (``NotFoundError`` means no)."""
    try:
        mem.get(memory_id)
    except NotFoundError:
        return False
    return True


def ids_of(items: Any) -> set[str]:
    """The ids of a result list (``SearchResult``/``MemoryList``) or of a list of items."""
    results = items.results if hasattr(items, "results") else items
    return {item.id for item in results}
