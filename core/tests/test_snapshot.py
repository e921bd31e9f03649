"""The vector snapshot is only trusted when it is bound to this store's current state.

A snapshot from another store, an older save of this one, a flipped byte, or a file left by a
crash in the middle of a save or a delete is rejected, scrubbed and rebuilt from SQLite; and
erased vectors never outlive the delete that erased them in any file of the store.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from mnemoweave import Memory
from mnemoweave.embed import HashEmbedder, embed_texts

SECRET = "My locker code is quokkazebra7731"


def _texts(tag: str, n: int) -> list[str]:
    return [f"{tag} fact {i} about {tag}thing{i}" for i in range(n)]


def _vector(text: str) -> bytes:
    return embed_texts(HashEmbedder(), [text])[0].tobytes()


def _files(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(path.iterdir()) if p.is_file())


def _fill(path: Path, texts: list[str]) -> list[str]:
    with Memory(path, embedder="hash") as mem:
        return [mem.add(text, user_id="u").results[0].id for text in texts]


def _assert_serves(path: Path, ids: list[str], texts: list[str], gone: bytes = b"") -> None:
    """The store passes verify() and finds every row by dense search for its own text.

    ``gone`` (a vector's bytes) must not be in any file while the store is open: a rejected
    snapshot is scrubbed at open, not only replaced at the next close.
    """
    with Memory(path, embedder="hash") as mem:
        assert mem.verify()["vectors_checked"] == len(ids)
        for mid, text in zip(ids, texts):
            hit = mem.search(text, user_id="u", limit=1, keyword_weight=0.0).results[0]
            assert (hit.id, hit.memory) == (mid, text)
        if gone:
            assert gone not in _files(path)


def test_another_stores_snapshot_of_the_same_size_is_rejected(tmp_path: Path) -> None:
    mine, other = tmp_path / "mine", tmp_path / "other"
    texts = _texts("apple", 6)
    ids = _fill(mine, texts)
    _fill(other, _texts("pear", 6))
    size = (mine / "vectors.faiss").stat().st_size
    assert (other / "vectors.faiss").stat().st_size == size
    shutil.copy(other / "vectors.faiss", mine / "vectors.faiss")
    _assert_serves(mine, ids, texts, gone=_vector(_texts("pear", 6)[2]))


def test_an_older_snapshot_of_the_same_store_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "store"
    texts = [*_texts("plum", 5), SECRET]
    ids = _fill(path, texts)
    older = tmp_path / "older.faiss"
    shutil.copy(path / "vectors.faiss", older)
    with Memory(path, embedder="hash") as mem:
        mem.update(ids[2], "plum fact renewed about zebras")
        mem.delete(ids[5])
    assert (path / "vectors.faiss").stat().st_size == older.stat().st_size
    shutil.copy(older, path / "vectors.faiss")  # e.g. a backup restored over the new file
    texts[2] = "plum fact renewed about zebras"
    # The restored file held the erased memory's vector: it leaves the disk again at open.
    _assert_serves(path, ids[:5], texts[:5], gone=_vector(SECRET))


@pytest.mark.parametrize("where", ["vector", "header"])
def test_a_flipped_byte_in_the_snapshot_is_detected(tmp_path: Path, where: str) -> None:
    path = tmp_path / "store"
    texts = _texts("fig", 5)
    ids = _fill(path, texts)
    index_file = path / "vectors.faiss"
    data = bytearray(index_file.read_bytes())
    vector = _vector(texts[3])
    at = data.index(vector) + 17 if where == "vector" else 40
    data[at] ^= 0x10
    index_file.write_bytes(bytes(data))
    _assert_serves(path, ids, texts)


def test_a_crash_during_delete_never_damages_the_snapshot(tmp_path: Path, crash: Any) -> None:
    """Killed right after the snapshot was patched, before the delete committed."""
    path = tmp_path / "store"
    texts = _texts("kiwi", 8)
    ids = _fill(path, texts)
    code, log = crash.run(path, [["delete", ids[3]], ["close"]], kill_after="fsync")
    assert (code, log) == (-9, [])
    # The delete did not commit: every row is still there, whole, through reopen and close.
    _assert_serves(path, ids, texts)
    texts.append("kiwi fact written after the crash")
    with Memory(path, embedder="hash") as mem:
        ids.append(mem.add(texts[-1], user_id="u").results[0].id)
    _assert_serves(path, ids, texts)
    # And a delete that does commit erases the vector from the saved file too.
    code, log = crash.run(path, [["delete", ids[3]], ["crash"]])
    assert (code, log[0].split()[:2]) == (-9, ["done", "0"])
    assert _vector(texts[3]) not in _files(path)
    _assert_serves(path, ids[:3] + ids[4:], texts[:3] + texts[4:])


def test_erased_vectors_do_not_survive_two_crashes(tmp_path: Path, crash: Any) -> None:
    """A crash during a save, then a delete, then another crash: no erased byte stays."""
    path = tmp_path / "store"
    secret_id = _fill(path, [SECRET, *_texts("lime", 3)])[0]
    many = _texts("bulk", 1500)  # enough rows that the next save has a different size
    code, _ = crash.run(path, [["batch_add", many, "u"], ["close"]], kill_after="replace")
    assert code == -9  # the new snapshot is in place, its binding never committed
    code, log = crash.run(path, [["delete", secret_id], ["crash"]])
    assert (code, log[0].split()[:2]) == (-9, ["done", "0"])
    assert _vector(SECRET) not in _files(path)
    assert b"quokkazebra7731" not in _files(path)
    with Memory(path, embedder="hash") as mem:
        assert mem.verify()["memories"] == 3 + len(many)
