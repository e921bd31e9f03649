"""Export to JSONL and import into an empty store reproduces the store: ids, times, history."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from mnemoweave import Memory
from mnemoweave.errors import ValidationError
from mnemoweave.transfer import export_jsonl, import_jsonl


def _dump(memory: Memory) -> list[dict[str, object]]:
    out = io.StringIO()
    export_jsonl(memory, out)
    return [json.loads(line) for line in out.getvalue().splitlines()[1:]]


def _populated(path: Path) -> Memory:
    mem = Memory(path, embedder="hash")
    first = mem.add("Alice likes green tea", user_id="alice", infer=False, metadata={"k": 1})
    mem.add("Bob plays chess", user_id="bob", agent_id="coach", infer=False)
    mem.add("Carol runs marathons", run_id="r1", infer=False)
    mid = first["results"][0]["id"]
    mem.update(mid, "Alice likes oolong tea", categories=["food"])
    gone = mem.add("Temporary note", user_id="alice", infer=False)["results"][0]["id"]
    mem.delete(gone)
    return mem


def test_round_trip_reproduces_the_store(tmp_path: Path) -> None:
    source = _populated(tmp_path / "a")
    file = tmp_path / "dump.jsonl"
    with file.open("w", encoding="utf-8") as fh:
        assert export_jsonl(source, fh) >= 3
    before = _dump(source)
    alice = next(r for r in before if r["memory"] == "Alice likes oolong tea")
    assert len(alice["versions"]) == 1
    assert [h["event"] for h in alice["history"]] == [
        "ADD",
        "UPDATE",
    ]

    target = Memory(tmp_path / "b", embedder="hash")
    report = import_jsonl(target, file, batch_size=2)
    assert report.imported == len(before)
    assert report.skipped == 0
    assert _dump(target) == before
    mid = str(alice["id"])
    assert target.get(mid).memory == "Alice likes oolong tea"
    assert [h.event for h in target.history(mid)] == [h.event for h in source.history(mid)]
    assert target.get(mid).created_at == source.get(mid).created_at
    hits = target.search("oolong", user_id="alice")["results"]
    assert hits
    assert hits[0]["id"] == mid
    assert target.search("chess", user_id="alice")["results"] == [] or all(
        h["user_id"] == "alice" for h in target.search("chess", user_id="alice")["results"]
    )

    again = import_jsonl(target, file)
    assert again.imported == 0
    assert again.skipped == len(before)
    assert _dump(target) == before
    source.close()
    target.close()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "not a mnemoweave export"),
        ('{"format": "other"}\n', "not a mnemoweave export"),
        ('{"format": "mnemoweave-export", "version": 99}\n', "version 99"),
        ('{"format": "mnemoweave-export", "version": 1}\n{oops\n', ":2: not valid JSON"),
        ('{"format": "mnemoweave-export", "version": 1}\n{"id": "x", "memory": "m"}\n', "user_id"),
    ],
)
def test_bad_files_raise_validation_errors(tmp_path: Path, content: str, message: str) -> None:
    file = tmp_path / "bad.jsonl"
    file.write_text(content, encoding="utf-8")
    mem = Memory(tmp_path / "s", embedder="hash")
    with pytest.raises(ValidationError, match=message):
        import_jsonl(mem, file)
    assert mem.count(user_id="x") == 0
    mem.close()


def test_missing_file_is_a_validation_error(tmp_path: Path) -> None:
    mem = Memory(tmp_path / "s", embedder="hash")
    with pytest.raises(ValidationError, match="cannot read"):
        import_jsonl(mem, tmp_path / "nope.jsonl")
    mem.close()
