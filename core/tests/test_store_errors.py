"""Clear errors for a store written by a newer schema or a different embedder.

The embedding model binding is decided in one write transaction: of two instances (or
processes) with different embedders on one new store, the first to write a memory wins.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mnemoweave import (
    ConfigurationError,
    DimensionMismatchError,
    Memory,
    SchemaVersionError,
    StorageError,
)
from mnemoweave.backends.sqlite._migrations import LATEST
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


# -- the model binding is atomic: first writer wins ------------------------------------------
def test_two_embedders_of_one_size_cannot_share_a_new_store(tmp_path: Path) -> None:
    first = Memory(tmp_path, embedder="hash")
    second = Memory(tmp_path, embedder=Renamed())  # same 384-d, another model
    try:
        first.add("written by the first embedder", user_id="u")
        with pytest.raises(ConfigurationError, match="some-other-model"):
            second.add("written by the second embedder", user_id="u")
        with pytest.raises(ConfigurationError, match="some-other-model"):
            second.search("written", user_id="u")
        assert first.verify()["memories"] == 1
    finally:
        first.close()
        second.close()
    with pytest.raises(ConfigurationError):
        Memory(tmp_path, embedder=Renamed())


RACER = """
import sys
from mnemoweave import ConfigurationError, Memory
from mnemoweave.embed import HashEmbedder

class Renamed(HashEmbedder):
    @property
    def model_id(self):
        return "racer-" + sys.argv[2]

mem = Memory(sys.argv[1], embedder=Renamed())
print("ready", flush=True)
sys.stdin.readline()
try:
    for i in range(20):
        mem.add(f"fact {i} from racer {sys.argv[2]}", user_id="u")
    print("wrote", flush=True)
except ConfigurationError as exc:
    print("refused", exc, flush=True)
mem.close()
"""


def test_racing_processes_bind_a_new_store_to_one_model(
    tmp_path: Path, spawn: Callable[..., Any]
) -> None:
    racers = {name: spawn("-c", RACER, tmp_path, name, stdin=True) for name in ("a", "b")}
    for racer in racers.values():
        racer.expect("ready")  # both opened (and bound) the empty store before either writes
    for racer in racers.values():
        racer.send("go\n")
    outcome = {}
    for name, racer in racers.items():
        assert racer.finish() == 0, racer.stderr()
        outcome[name] = racer.completed()[-1]
    winner = next(name for name, line in outcome.items() if line == "wrote")
    loser = "b" if winner == "a" else "a"
    assert outcome[loser].startswith("refused"), outcome
    with Memory(tmp_path, embedder=Racer(winner)) as mem:
        assert mem.verify()["memories"] == 20
    with pytest.raises(ConfigurationError, match=f"racer-{winner}"):
        Memory(tmp_path, embedder=Racer(loser))


class Racer(HashEmbedder):
    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    @property
    def model_id(self) -> str:
        return f"racer-{self.name}"


def test_verify_catches_a_store_that_mixes_models(tmp_path: Path) -> None:
    with Memory(tmp_path, embedder="hash") as mem:
        mem.add("one fact", user_id="u")
        mem.add("another fact", user_id="u")
    with sqlite3.connect(tmp_path / "mnemoweave.db") as conn:  # as an older version could
        conn.execute("INSERT INTO embedding_models (model, dim) VALUES ('intruder', 384)")
        conn.execute(
            "UPDATE memories SET model_id = (SELECT id FROM embedding_models"
            " WHERE model = 'intruder') WHERE rid = 2"
        )
    with (
        Memory(tmp_path, embedder="hash") as mem,
        pytest.raises(StorageError, match="several embedding models"),
    ):
        mem.verify()
