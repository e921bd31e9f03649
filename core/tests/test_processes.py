"""Several OS processes on one store, and crash consistency under SIGKILL."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mnemoweave import Memory

WORKER = Path(__file__).with_name("store_worker.py")


@pytest.mark.slow
def test_two_writers_and_a_reader_lose_nothing(tmp_path: Path, spawn: Callable[..., Any]) -> None:
    path = str(tmp_path / "shared")
    Memory(path, embedder="hash").close()  # create the schema once
    reader = spawn(WORKER, "read", path, stdin=True)
    reader.expect("ready")
    writers = {tag: spawn(WORKER, "write", path, tag, "500") for tag in ("a", "b")}
    for writer in writers.values():
        assert writer.finish() == 0, writer.stderr()
        assert "locked" not in writer.stderr()
    assert reader.finish() == 0, reader.stderr()  # closing its stdin ends the reading
    assert int(reader.expect("reads ")[0].split()[1]) > 0
    ids = {tag: [ln for ln in w.completed() if ln != "ready"] for tag, w in writers.items()}
    assert all(len(v) == 500 for v in ids.values())
    with Memory(path, embedder="hash") as mem:
        assert mem.verify()["memories"] == 1000
        for tag, tag_ids in ids.items():
            assert mem.count(user_id=f"user-{tag}") == 500
            for i in (0, 137, 499):
                hit = mem.search(f"marker{tag}x{i}", user_id=f"user-{tag}", limit=1).results[0]
                assert hit.id == tag_ids[i]


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_no_returned_add(
    tmp_path: Path, spawn: Callable[..., Any]
) -> None:
    """The kill moment is counted in returned adds after the child is ready, not in seconds."""
    path = str(tmp_path / "crashy")
    rng = random.Random(1234)
    returned: list[str] = []
    for round_ in range(4):
        child = spawn(WORKER, "crash", path, f"r{round_}")
        child.expect("ready")
        child.expect("", count=1 + rng.randint(5, 25))  # "ready" and that many ids
        time.sleep(rng.uniform(0, 0.02))  # lands the kill anywhere inside the next add
        child.kill()
        # A line is only complete once the add returned and printed its id.
        returned.extend(line for line in child.completed() if line and line != "ready")
        with Memory(path, embedder="hash") as mem:
            report = mem.verify()
            assert report["ok"]
            missing = [mid for mid in returned if not _exists(mem, mid)]
            assert missing == []
    assert len(returned) >= 4 * 5  # the children did real work before dying
    with Memory(path, embedder="hash") as mem:
        hit = mem.search("r0 crash note 3 markerr0x3", user_id="crash-user", limit=1)
        assert hit.results[0].memory == "r0 crash note 3 markerr0x3"


def _exists(mem: Memory, memory_id: str) -> bool:
    try:
        mem.get(memory_id)
    except LookupError:
        return False
    return True


def test_deleted_vector_file_is_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "rebuild"
    with Memory(path, embedder="hash") as mem:
        ids = [mem.add(f"fact {i} about walrus{i}", user_id="u").results[0].id for i in range(50)]
    index_file = path / "vectors.faiss"
    assert index_file.exists()
    index_file.unlink()
    with Memory(path, embedder="hash") as mem:
        assert mem.verify()["vectors_checked"] == 50
        assert mem.search("walrus17", user_id="u", limit=1).results[0].id == ids[17]
    # A corrupt file is treated like a missing one.
    index_file.write_bytes(b"not a faiss index")
    with Memory(path, embedder="hash") as mem:
        assert mem.search("walrus3", user_id="u", limit=1).results[0].id == ids[3]


def test_index_catches_up_with_another_writer(tmp_path: Path) -> None:
    path = tmp_path / "two"
    with Memory(path, embedder="hash") as first, Memory(path, embedder="hash") as second:
        mid = first.add("otters hold hands", user_id="u").results[0].id
        assert second.search("otters", user_id="u").results[0].id == mid
        second.update(mid, "sea otters hold hands while sleeping")
        hit = first.search("sleeping otters", user_id="u").results[0]
        assert hit.memory == "sea otters hold hands while sleeping"
        second.delete(mid)
        assert first.search("otters", user_id="u").results == []
        assert first.verify()["ok"]


def test_closing_an_unchanged_store_does_not_rewrite_the_vector_file(tmp_path: Path) -> None:
    path = tmp_path / "quiet"
    with Memory(path, embedder="hash") as mem:
        mem.add("a fact about lighthouses", user_id="u")
    index_file = path / "vectors.faiss"
    first = index_file.stat().st_mtime_ns
    with Memory(path, embedder="hash") as mem:
        assert mem.search("lighthouses", user_id="u").results
    assert index_file.stat().st_mtime_ns == first  # read-only session: file untouched
    with Memory(path, embedder="hash") as mem:
        mem.add("another fact", user_id="u")
    assert index_file.stat().st_mtime_ns != first  # a write makes the next close save it
    with Memory(path, embedder="hash") as mem:
        assert mem.verify()["vectors_checked"] == 2
