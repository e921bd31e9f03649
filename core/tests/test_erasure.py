"""Delete really deletes: erased text is gone from every table and from the files' bytes.

When another process still reads the old pages, the delete says so and the bytes are
overwritten as soon as that reader lets go, by whichever mnemoweave process gets there first.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mnemoweave import AsyncMemory, Memory, NotFoundError, StorageError
from mnemoweave.embed import embed_texts
from mnemoweave.testing import ScriptedOpenAIServer
from mnemoweave.testing import operations as ops

SECRET = "quokkazebra7731"
SECRET_TEXT = f"My locker code is {SECRET} and my bank is Wexfordia"


def store_bytes(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(path.iterdir()) if p.is_file())


def test_delete_all_erases_text_from_tables_and_files(tmp_path: Path) -> None:
    path = tmp_path / "erase"
    with Memory(path, embedder="hash") as mem:
        mid = mem.add(SECRET_TEXT, user_id="victim", metadata={"note": SECRET}).results[0].id
        mem.update(mid, f"My locker code is still {SECRET}")
        mem.add(f"second secret {SECRET} in a chat", user_id="victim", agent_id="bot")
        keep = mem.add("The sky is blue for the other user", user_id="bystander").results[0].id
        vector = embed_texts(mem.embedder, [f"second secret {SECRET} in a chat"])[0].tobytes()
        old_vector = embed_texts(mem.embedder, [SECRET_TEXT])[0].tobytes()
    # Close and reopen so the vector file on disk holds the secret's vector first.
    assert vector in (path / "vectors.faiss").read_bytes()
    with Memory(path, embedder="hash") as mem:
        assert SECRET.encode() in store_bytes(path) or SECRET.encode() in _wal(path)
        assert mem.delete_all(user_id="victim")["deleted"] == 2
        mem.checkpoint()
        data = store_bytes(path)
        assert SECRET.encode() not in data
        assert b"Wexfordia" not in data
        assert vector not in data
        assert old_vector not in data
        assert mem.get(keep).memory == "The sky is blue for the other user"
        assert [e.event for e in mem.history(mid)] == ["ADD", "UPDATE", "DELETE"]
        assert all(e.old_memory is None and e.new_memory is None for e in mem.history(mid))
        conn = mem._engine.backend.store.conn
        for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            for row in conn.execute(f"SELECT * FROM {table}"):
                assert SECRET not in repr(row), table
    data = store_bytes(path)
    assert SECRET.encode() not in data
    assert vector not in data


def test_single_delete_erases_vector_in_saved_index(tmp_path: Path) -> None:
    path = tmp_path / "one"
    with Memory(path, embedder="hash") as mem:
        mid = mem.add(SECRET_TEXT, user_id="u").results[0].id
        mem.add("harmless", user_id="u")
        vector = embed_texts(mem.embedder, [SECRET_TEXT])[0]
    with Memory(path, embedder="hash") as mem:
        mem.delete(mid)
        mem.checkpoint()
        raw = (path / "vectors.faiss").read_bytes()
        assert vector.tobytes() not in raw
        assert SECRET.encode() not in store_bytes(path)
        assert mem.verify()["ok"]
        # Zeroed rows stay consistent with SQLite after a reopen.
    with Memory(path, embedder="hash") as mem:
        assert mem.verify()["memories"] == 1
        hits = mem.search("locker code", user_id="u")
        assert [h.memory for h in hits.results] == ["harmless"]
        assert np.isfinite(hits.results[0].score)


def test_clearing_a_message_window_erases_it_from_the_files(tmp_path: Path) -> None:
    path = tmp_path / "window"
    with Memory(path, embedder="hash") as mem:
        mem.append_messages([{"role": "user", "content": SECRET_TEXT}], user_id="u")
        mem.add("a memory that stays", user_id="u")
        assert SECRET.encode() in store_bytes(path)
        assert mem.clear_messages(user_id="u") == 2  # the add is in the window too
        assert SECRET.encode() not in store_bytes(path)  # not even in the write-ahead log
        assert mem.get_messages(user_id="u") == []
        assert mem.count(user_id="u") == 1


def _wal(path: Path) -> bytes:
    wal = path / "mnemoweave.db-wal"
    return wal.read_bytes() if wal.exists() else b""


PASSPORT = "PX9931774"


def llm_mem(path: Path, server: ScriptedOpenAIServer) -> Memory:
    llm = {"model": "m", "base_url": server.base_url, "api_key": "k", "max_retries": 0}
    return Memory(path, embedder="hash", llm=llm)


def all_bytes(path: Path) -> bytes:
    """Every file of the store: the database, its WAL and the vector snapshot."""
    names = sorted(p.name for p in path.iterdir() if p.is_file())
    assert "mnemoweave.db" in names
    return b"".join((path / name).read_bytes() for name in names)


def test_delete_with_source_erases_the_message_a_fact_came_from(
    tmp_path: Path, server: ScriptedOpenAIServer
) -> None:
    """The defect: deleting an extracted fact left its source message (the passport) on disk."""
    path = tmp_path / "src"
    with llm_mem(path, server) as mem:
        server.script(ops(("ADD", None, f"Passport number is {PASSPORT}")))
        fact = mem.add(f"My passport number is {PASSPORT}, keep it safe", user_id="u")
        passport_id = fact.results[0].id
        server.script(ops(("UPDATE", 0, f"Passport number is {PASSPORT} (expires 2031)")))
        mem.add(f"Oh and {PASSPORT} expires in 2031", user_id="u")
        server.script(ops(("ADD", None, "Likes sailing")))
        mem.add("I like sailing", user_id="u")
        mem.add("The sky is blue", user_id="u", infer=False)
    with llm_mem(path, server) as mem:  # reopen: the vector snapshot is on disk now
        assert PASSPORT.encode() in all_bytes(path)
        result = mem.delete(passport_id, source=True)
        assert result["sources_deleted"] == 2
        mem.checkpoint()
        assert PASSPORT.encode() not in all_bytes(path)
        assert [m["content"] for m in mem.get_messages(user_id="u")] == [
            "I like sailing",
            "The sky is blue",
        ]
        assert {m.memory for m in mem.get_all(user_id="u").results} == {
            "Likes sailing",
            "The sky is blue",
        }
        assert mem.verify()["ok"]
    assert PASSPORT.encode() not in all_bytes(path)


def test_plain_delete_keeps_the_conversation_and_batch_and_async_take_source(
    tmp_path: Path, server: ScriptedOpenAIServer
) -> None:
    path = tmp_path / "keep"
    with llm_mem(path, server) as mem:
        server.script(ops(("ADD", None, "Has a cat named Miso"), ("ADD", None, "Lives in Porto")))
        first, second = mem.add("My cat Miso and I live in Porto", user_id="u").results
        assert "sources_deleted" not in mem.delete(first.id)
        # The documented default: the memory goes, the conversation it came from stays.
        assert [m["content"] for m in mem.get_messages(user_id="u")] == [
            "My cat Miso and I live in Porto"
        ]
        mem.batch_delete([second.id], source=True)
        assert mem.get_messages(user_id="u") == []
        server.script(ops(("ADD", None, f"Passport number is {PASSPORT}")))
        third = mem.add(f"passport {PASSPORT}", user_id="u").results[0]

    async def forget() -> None:
        amem = AsyncMemory(path, embedder="hash")
        try:
            out = await amem.delete(third.id, source=True)
            assert out["sources_deleted"] == 1
            assert await amem.get_messages(user_id="u") == []
            await amem.batch_delete([], source=True)
        finally:
            await amem.close()

    asyncio.run(forget())
    assert PASSPORT.encode() not in all_bytes(path)


def test_memories_from_before_the_source_links_still_delete(tmp_path: Path) -> None:
    """A store written by 0.1.0 migrates; its memories have no links and delete as before."""
    fixture = Path(__file__).parent / "fixtures" / "store_v011"
    updated_id = "03b849ab-8adf-42a2-b273-7bd44aa4e16c"  # see fixtures/README.md
    target = tmp_path / "legacy"
    target.mkdir()
    shutil.copy(fixture / "memweave.db", target / "memweave.db")
    with Memory(target) as mem:
        assert mem.delete(updated_id, source=True)["sources_deleted"] == 0
        assert mem.verify()["ok"]
        versions = [
            r[0]
            for r in mem._engine.backend.store.conn.execute("SELECT version FROM schema_migrations")
        ]
        assert versions[:2] == [1, 2]


def test_messages_leaving_the_window_take_their_links_along(
    tmp_path: Path, server: ScriptedOpenAIServer
) -> None:
    llm = {"model": "m", "base_url": server.base_url, "api_key": "k", "max_retries": 0}
    with Memory(tmp_path / "w", embedder="hash", llm=llm, message_window=1) as mem:
        server.script(ops(("ADD", None, "Likes tea")), ops(("ADD", None, "Likes jazz")))
        tea = mem.add("I like tea", user_id="u").results[0].id
        jazz = mem.add("I like jazz", user_id="u").results[0].id
        assert [m["content"] for m in mem.get_messages(user_id="u")] == ["I like jazz"]
        assert mem.verify()["ok"]  # includes the foreign key check of the links
        assert mem.delete(tea, source=True)["sources_deleted"] == 0
        assert mem.delete(jazz, source=True)["sources_deleted"] == 1
        assert mem.get_messages(user_id="u") == []
        mem.add("window=False keeps no message", user_id="u", infer=False, window=False)
        server.script(ops(("ADD", None, "Keeps history elsewhere")))
        kept = mem.add("I keep my own history", user_id="u", window=False).results[0].id
        assert mem.delete(kept, source=True)["sources_deleted"] == 0


# A second process holding a read transaction open (plain sqlite3: any reader of the file).
READER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN")
conn.execute("SELECT count(*) FROM memories").fetchone()
print("ready", flush=True)
sys.stdin.readline()
conn.execute("COMMIT")
print("released", flush=True)
sys.stdin.readline()
"""


def _secret_store(path: Path) -> str:
    with Memory(path, embedder="hash") as mem:
        mid = mem.add(SECRET_TEXT, user_id="u").results[0].id
        mem.add("harmless", user_id="u")
    return mid


def _wait_until_erased(path: Path) -> None:
    deadline = time.monotonic() + 120
    while SECRET.encode() in store_bytes(path):
        assert time.monotonic() < deadline, "the pending erasure never finished"
        time.sleep(0.05)


@pytest.fixture
def held(tmp_path: Path, spawn: Callable[..., Any]) -> tuple[Path, str, Any]:
    """A store with the secret, and a plain sqlite3 reader in another process holding it."""
    path = tmp_path / "held"
    mid = _secret_store(path)
    reader = spawn("-c", READER, path / "mnemoweave.db", stdin=True)
    reader.expect("ready")
    return path, mid, reader


def test_delete_under_a_reader_says_pending_then_finishes_on_its_own(
    held: tuple[Path, str, Any],
) -> None:
    path, mid, reader = held
    with Memory(path, embedder="hash", busy_timeout=0.5) as mem:
        result = mem.delete(mid)
        # Gone from every query at once, and the result does not claim more than that.
        assert result["erased_from_disk"] is False
        assert "reader" in result["message"]
        with pytest.raises(NotFoundError):
            mem.get(mid)
        assert SECRET.encode() in store_bytes(path)  # what the flag says: still on disk
        with pytest.raises(StorageError, match="read transaction"):
            mem.checkpoint()
        reader.send("\n")
        reader.expect("released")
        _wait_until_erased(path)  # no call needed: the store finishes it in the background
        assert mem.verify()["memories"] == 1
    assert SECRET.encode() not in store_bytes(path)


def test_a_pending_erasure_survives_close_and_finishes_at_the_next_open(
    held: tuple[Path, str, Any],
) -> None:
    path, mid, reader = held
    with Memory(path, embedder="hash", busy_timeout=0.5) as mem:
        batch = mem.batch_delete([mid])
        assert batch.results[0]["erased_from_disk"] is False
    assert SECRET.encode() in store_bytes(path)
    reader.send("\n")
    reader.expect("released")
    assert reader.finish() == 0
    with Memory(path, embedder="hash") as mem:
        assert SECRET.encode() not in store_bytes(path)  # finished while opening
        assert [m.memory for m in mem.get_all(user_id="u").results] == ["harmless"]


# A mnemoweave process in a long read (e.g. a huge get_all) that then carries on.
SLOW_READER = """
import sys
from mnemoweave import Memory
mem = Memory(sys.argv[1], embedder="hash")
with mem._engine.backend.store.read() as conn:
    conn.execute("SELECT count(*) FROM memories").fetchone()
    print("ready", flush=True)
    sys.stdin.readline()
mem.search("anything", user_id="u")
print("searched", flush=True)
sys.stdin.readline()
mem.close()
"""


def test_the_reader_that_held_old_pages_finishes_the_erasure(
    tmp_path: Path, spawn: Callable[..., Any]
) -> None:
    path = tmp_path / "helper"
    mid = _secret_store(path)
    reader = spawn("-c", SLOW_READER, path, stdin=True)
    reader.expect("ready")
    with Memory(path, embedder="hash", busy_timeout=0.5) as mem:
        assert mem.delete(mid)["erased_from_disk"] is False
    reader.send("\n")
    reader.expect("searched")
    _wait_until_erased(path)  # the deleting process is gone; the reader did it
    reader.send("\n")
    assert reader.finish() == 0
