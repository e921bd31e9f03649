"""Shared fixtures: every test runs offline with its data, home and caches under tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mnemoweave import Memory


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MNEMOWEAVE_HOME", str(tmp_path / "mnemoweave-home"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in ("LANGSMITH_TRACING", "LANGCHAIN_TRACING_V2", "LANGSMITH_API_KEY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def memory(tmp_path: Path) -> Iterator[Memory]:
    """A fresh store on the deterministic hash embedder, with no LLM (raw memories)."""
    mem = Memory(tmp_path / "store", embedder="hash")
    yield mem
    mem.close()
