"""Shared fixtures for the core tests: a fresh store per test on the deterministic embedder."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mnemoweave import AsyncMemory, Memory
from mnemoweave.testing import ScriptedOpenAIServer


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def mem(store_dir: Path) -> Iterator[Memory]:
    memory = Memory(store_dir, embedder="hash")
    yield memory
    memory.close()


class BlockingAsync:
    """An ``AsyncMemory`` driven from sync test code: each coroutine runs to completion."""

    def __init__(self, memory: Memory) -> None:
        self._async = AsyncMemory.wrap(memory)
        self._loop = asyncio.new_event_loop()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._async, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            out = attr(*args, **kwargs)
            return self._loop.run_until_complete(out) if inspect.isawaitable(out) else out

        return call

    def run(self, coroutine: Any) -> Any:
        return self._loop.run_until_complete(coroutine)

    def close_loop(self) -> None:
        self._loop.close()


@pytest.fixture(params=["sync", "async"])
def api(request: pytest.FixtureRequest, mem: Memory) -> Iterator[Any]:
    """The same store through ``Memory`` and through ``AsyncMemory`` (one test run each)."""
    if request.param == "sync":
        yield mem
        return
    driver = BlockingAsync(mem)
    yield driver
    driver.close_loop()


@pytest.fixture
def server() -> Iterator[ScriptedOpenAIServer]:
    """A scripted OpenAI-compatible server on 127.0.0.1 (an empty script)."""
    with ScriptedOpenAIServer() as srv:
        yield srv
