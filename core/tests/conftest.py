"""Shared fixtures for the core tests: a fresh store per test on the deterministic embedder,
and child processes that tests wait on by their output, never by the clock."""

from __future__ import annotations

import asyncio
import inspect
import json
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mnemoweave import AsyncMemory, Memory
from mnemoweave.testing import ScriptedOpenAIServer, shared_postgres_url
from mnemoweave.testing._children import Child

#: Generous upper bound for a child to reach a point it announces (a loaded machine is slow).
DEADLINE = 180.0


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
def pg_server_url(request: pytest.FixtureRequest) -> str:
    """The session's PostgreSQL server with pgvector (see ``mnemoweave.testing._postgres``)."""
    return shared_postgres_url(request.config)


@pytest.fixture
def server() -> Iterator[ScriptedOpenAIServer]:
    """A scripted OpenAI-compatible server on 127.0.0.1 (an empty script)."""
    with ScriptedOpenAIServer() as srv:
        yield srv


@pytest.fixture
def spawn() -> Iterator[Callable[..., Child]]:
    """Start ``python ARGS...`` children; any still running at teardown are killed."""
    children: list[Child] = []

    def start(*args: str | Path, stdin: bool = False) -> Child:
        child = Child([str(a) for a in args], stdin=stdin)
        children.append(child)
        return child

    yield start
    for child in children:
        child.kill()


class CrashServer:
    """Runs plans in writers forked from ``crash_worker.py serve`` (see its docstring)."""

    def __init__(self, child: Child, logs: Path) -> None:
        self.child = child
        self.logs = logs
        self.runs = 0

    def run(self, path: Path, ops: list[list[Any]], **kill: Any) -> tuple[int, list[str]]:
        """Run ``ops`` on the store at ``path``; returns the exit code and the writer's log."""
        self.runs += 1
        out = self.logs / f"writer-{self.runs}.log"
        plan = {"path": str(path), "ops": ops, "out": str(out), **kill}
        self.child.send(json.dumps(plan) + "\n")
        code = int(self.child.expect("exit ", count=self.runs)[-1].split()[1])
        if code not in (0, -signal.SIGKILL):
            raise AssertionError(f"writer failed ({code}):\n{self.child.stderr()}")
        return code, out.read_text().splitlines() if out.exists() else []


@pytest.fixture
def crash(spawn: Callable[..., Child], tmp_path: Path) -> CrashServer:
    logs = tmp_path / "writer-logs"
    logs.mkdir()
    child = spawn(Path(__file__).with_name("crash_worker.py"), "serve", stdin=True)
    child.expect("ready")
    return CrashServer(child, logs)
