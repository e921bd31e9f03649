"""Clear errors for a store written by a newer schema or a different embedder."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from mnemoweave import ConfigurationError, DimensionMismatchError, Memory, SchemaVersionError
from mnemoweave._migrations import LATEST
from mnemoweave.embed import HashEmbedder


def test_migrations_are_recorded(tmp_path: Path) -> None:
    Memory(tmp_path, embedder="hash").close()
    with sqlite3.connect(tmp_path / "mnemoweave.db") as conn:
        rows = conn.execute("SELECT version, name FROM schema_migrations").fetchall()
        assert rows[-1][0] == LATEST
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    Memory(tmp_path, embedder="hash").close()
    with sqlite3.connect(tmp_path / "mnemoweave.db") as conn:
        conn.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'future', 0)",
            (LATEST + 1,),
        )
    with pytest.raises(SchemaVersionError, match="upgrade mnemoweave"):
        Memory(tmp_path, embedder="hash")


def test_dimension_mismatch_on_reopen(tmp_path: Path) -> None:
    with Memory(tmp_path, embedder="hash") as mem:
        mem.add("a fact", user_id="u")
    with pytest.raises(DimensionMismatchError, match="384-d") as err:
        Memory(tmp_path, embedder=HashEmbedder(dim=64))
    assert err.value.expected == 384
    assert err.value.got == 64


class Renamed(HashEmbedder):
    @property
    def model_id(self) -> str:
        return "some-other-model"


def test_model_mismatch_on_reopen(tmp_path: Path) -> None:
    with Memory(tmp_path, embedder="hash") as mem:
        mem.add("a fact", user_id="u")
    with pytest.raises(ConfigurationError, match="some-other-model"):
        Memory(tmp_path, embedder=Renamed())


def test_empty_store_may_switch_embedder(tmp_path: Path) -> None:
    Memory(tmp_path, embedder="hash").close()
    with Memory(tmp_path, embedder=HashEmbedder(dim=64)) as mem:
        mem.add("a fact", user_id="u")
        assert mem.search("fact", user_id="u").results[0].memory == "a fact"
