"""Shared fixtures for the core tests: a fresh store per test on the deterministic embedder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mnemoweave import Memory


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def mem(store_dir: Path) -> Iterator[Memory]:
    memory = Memory(store_dir, embedder="hash")
    yield memory
    memory.close()
