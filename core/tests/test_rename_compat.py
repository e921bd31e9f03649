"""The rename from memweave: stores, homes and environment variables from before keep working."""

from __future__ import annotations

import gzip
import logging
import shutil
from pathlib import Path

import pytest

from mnemoweave import Memory

FIXTURE = Path(__file__).parent / "fixtures" / "store_v011"
#: The memory the fixture's script updated from Paris to Berlin (see fixtures/README.md).
UPDATED_ID = "03b849ab-8adf-42a2-b273-7bd44aa4e16c"


@pytest.fixture
def legacy_store(tmp_path: Path) -> Path:
    """A copy of a store written by memweave 0.1.0 (the commit before the rename)."""
    target = tmp_path / "legacy"
    target.mkdir()
    shutil.copy(FIXTURE / "memweave.db", target / "memweave.db")
    with (
        gzip.open(FIXTURE / "vectors.faiss.gz", "rb") as src,
        open(target / "vectors.faiss", "wb") as dst,
    ):
        shutil.copyfileobj(src, dst)
    return target


def test_a_store_written_before_the_rename_opens_unchanged(legacy_store: Path) -> None:
    with Memory(legacy_store) as mem:
        assert mem.verify()["ok"]
        alice = {m.memory for m in mem.get_all(user_id="alice").results}
        assert alice == {
            "I live in Berlin and work as a nurse.",
            "My cat is called Miso.",
            "Cute name!",
        }
        assert mem.count(user_id="bob") == 2
        item = mem.get(UPDATED_ID)
        assert item.metadata == {"src": "chat", "n": 1}
        assert item.categories == ["home"]
        assert [h.event for h in mem.history(UPDATED_ID)] == ["ADD", "UPDATE"]
        old = mem.search("Where does she live?", user_id="alice", as_of=item.created_at)
        assert old.results[0].memory == "I live in Paris and work as a nurse."
        hit = mem.search("Which city does she live in?", user_id="alice").results[0]
        assert hit.id == UPDATED_ID
        assert mem.search("climbing", user_id="alice").results[0].user_id == "alice"
        assert "Delete me please" not in {m.memory for m in mem.get_all(user_id="alice").results}
        mem.add("Added after the rename", user_id="alice")
    # The old file name is kept in place: no second database appears beside it.
    assert not (legacy_store / "mnemoweave.db").exists()
    with Memory(legacy_store) as mem:
        assert mem.count(user_id="alice") == 4
        assert mem.verify()["ok"]


def test_legacy_home_variable_still_works_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MNEMOWEAVE_HOME", raising=False)
    monkeypatch.setenv("MEMWEAVE_HOME", str(tmp_path / "old-home"))
    with pytest.warns(DeprecationWarning, match="MNEMOWEAVE_HOME") as seen:
        mem = Memory(embedder="hash")
    with mem:
        assert mem.path == tmp_path / "old-home"
    # Attributed to the caller's line, so Python's default filters show it in a script.
    assert [w.filename for w in seen] == [__file__]


def test_new_home_variable_wins_over_the_legacy_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MNEMOWEAVE_HOME", str(tmp_path / "new"))
    monkeypatch.setenv("MEMWEAVE_HOME", str(tmp_path / "old"))
    with Memory(embedder="hash") as mem:
        assert mem.path == tmp_path / "new"


def test_an_existing_legacy_home_dir_is_opened_and_announced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("MNEMOWEAVE_HOME", raising=False)
    monkeypatch.delenv("MEMWEAVE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".memweave").mkdir()
    with caplog.at_level(logging.WARNING, logger="mnemoweave"), Memory(embedder="hash") as mem:
        assert mem.path == tmp_path / ".memweave"
    assert "before the rename" in caplog.text
    caplog.clear()
    (tmp_path / ".mnemoweave").mkdir()
    with Memory(embedder="hash") as mem:
        assert mem.path == tmp_path / ".mnemoweave"


def test_the_default_home_is_dot_mnemoweave(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MNEMOWEAVE_HOME", raising=False)
    monkeypatch.delenv("MEMWEAVE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with Memory(embedder="hash") as mem:
        mem.add("hello", user_id="u")
    assert (tmp_path / ".mnemoweave" / "mnemoweave.db").exists()
