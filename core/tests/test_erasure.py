"""Delete really deletes: erased text is gone from every table and from the files' bytes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mnemoweave import Memory
from mnemoweave.embed import embed_texts

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
        conn = mem._store.conn
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


def _wal(path: Path) -> bytes:
    wal = path / "mnemoweave.db-wal"
    return wal.read_bytes() if wal.exists() else b""
