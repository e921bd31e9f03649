"""Fixtures shared by the kit's and the AutoGen adapters' tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mnemoweave import Memory


@pytest.fixture(autouse=True)
def _private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing a test runs may write under the real home directory."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MNEMOWEAVE_HOME", str(tmp_path / "mnemoweave-home"))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Memory]:
    """A fresh store on the deterministic embedder, with no LLM."""
    mem = Memory(tmp_path / "store", embedder="hash")
    yield mem
    mem.close()
