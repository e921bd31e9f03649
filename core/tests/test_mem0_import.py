"""Importing mem0 dumps: every shape mem0 hands out, ids and timestamps kept, re-runs skip."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mnemoweave import Memory
from mnemoweave.errors import ValidationError
from mnemoweave.mem0_import import import_mem0, is_mem0_dump

ITEMS: list[dict[str, Any]] = [
    {
        "id": "6b4f0a5e-1c7e-4d35-9d1e-2f0a8c3b9e11",
        "memory": "Likes green tea",
        "hash": "d41d8cd98f00b204e9800998ecf8427e",
        "metadata": {"source": "chat"},
        "categories": ["food"],
        "created_at": "2024-07-26T10:29:36.630547-07:00",
        "updated_at": "2024-08-01T09:00:00-07:00",
        "user_id": "alice",
    },
    {
        "id": "0f7e3a9d-5b2c-4e8f-a1d6-7c9b0e2f4a33",
        "memory": "Reviews code on Fridays",
        "hash": "x",
        "metadata": None,
        "created_at": "2024-07-27T08:00:00Z",
        "updated_at": None,
        "agent_id": "reviewer",
        "run_id": "run-1",
        "actor_id": "bot",
        "role": "assistant",
    },
]


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def _write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "shape",
    ["oss", "list", "page", "pages", "export", "jsonl"],
)
def test_every_shape_keeps_ids_scopes_and_timestamps(tmp_path: Path, shape: str) -> None:
    file = tmp_path / "dump.json"
    if shape == "oss":
        _write(file, {"results": ITEMS, "relations": []})
    elif shape == "list":
        _write(file, ITEMS)
    elif shape == "page":
        _write(file, {"count": 2, "next": None, "previous": None, "results": ITEMS})
    elif shape == "pages":
        _write(file, [{"count": 2, "results": ITEMS[:1]}, {"count": 2, "results": ITEMS[1:]}])
    elif shape == "export":
        _write(file, {"memories": ITEMS})
    else:
        file.write_text("\n".join(json.dumps(i) for i in ITEMS) + "\n", encoding="utf-8")
    assert is_mem0_dump(file)
    mem = Memory(tmp_path / "store", embedder="hash")
    report = import_mem0(mem, file, batch_size=1)
    assert (report.imported, report.skipped) == (2, 0)

    tea = mem.get(ITEMS[0]["id"])
    assert tea.memory == "Likes green tea"
    assert tea.user_id == "alice"
    assert tea.metadata == {"source": "chat"}
    assert tea.categories == ["food"]
    assert tea.created_at is not None
    assert tea.updated_at is not None
    assert tea.created_at.timestamp() == pytest.approx(_epoch(ITEMS[0]["created_at"]))
    assert tea.updated_at.timestamp() == pytest.approx(_epoch(ITEMS[0]["updated_at"]))
    code = mem.get(ITEMS[1]["id"])
    assert (code.agent_id, code.run_id, code.actor_id, code.role) == (
        "reviewer",
        "run-1",
        "bot",
        "assistant",
    )
    assert code.created_at == datetime(2024, 7, 27, 8, tzinfo=UTC)
    assert [h.event for h in mem.history(ITEMS[0]["id"])] == ["ADD"]
    hits = mem.search("green tea", user_id="alice")["results"]
    assert [h["id"] for h in hits] == [ITEMS[0]["id"]]
    assert mem.search("green tea", user_id="bob")["results"] == []

    again = import_mem0(mem, file)
    assert (again.imported, again.skipped) == (0, 2)
    assert mem.get_all(user_id="alice").total == 1
    mem.close()


def test_items_without_a_scope_need_one_given(tmp_path: Path) -> None:
    bare = [{"id": "p1", "memory": "Prefers aisle seats", "created_at": "2024-07-01T12:00:00Z"}]
    file = _write(tmp_path / "platform.json", {"count": 1, "results": bare})
    mem = Memory(tmp_path / "store", embedder="hash")
    with pytest.raises(ValidationError, match="--user-id"):
        import_mem0(mem, file)
    assert import_mem0(mem, file, user_id="carol").imported == 1
    assert mem.get("p1").user_id == "carol"
    mem.close()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"format": "mnemoweave-export"}, "not a mem0 dump"),
        ({"something": []}, "no 'results'"),
        ([{"memory": "no id"}], "item 1"),
        ([{"id": "a", "memory": "x", "user_id": "u"}], "created_at"),
        ([{"id": "a", "memory": "x", "user_id": "u", "created_at": "yesterday"}], "ISO-8601"),
        ([{"id": "a", "memory": 3, "user_id": "u", "created_at": "2024-01-01"}], "string"),
    ],
)
def test_bad_dumps_are_named(tmp_path: Path, data: Any, message: str) -> None:
    file = _write(tmp_path / "bad.json", data)
    mem = Memory(tmp_path / "store", embedder="hash")
    with pytest.raises(ValidationError, match=message):
        import_mem0(mem, file)
    assert mem.get_all(user_id="u").total == 0
    mem.close()


def _cli(store: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MNEMOWEAVE_")}
    env.update({"MNEMOWEAVE_HOME": str(store), "MNEMOWEAVE_EMBEDDER": "hash"})
    return subprocess.run(
        [sys.executable, "-m", "mnemoweave", "import", *args],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


def test_cli_detects_mem0_dumps_and_resumes(tmp_path: Path) -> None:
    file = _write(tmp_path / "mem0.json", {"results": ITEMS})
    store = tmp_path / "store"
    first = _cli(store, str(file), "--json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout) == {"imported": 2, "skipped": 0}
    second = _cli(store, str(file), "--format", "mem0", "--json")
    assert json.loads(second.stdout) == {"imported": 0, "skipped": 2}
    ours = _cli(store, str(file), "--format", "mnemoweave")
    assert ours.returncode == 2
    assert "not a mnemoweave export" in ours.stderr
    bare = _write(tmp_path / "bare.json", [{"id": "b1", "memory": "m", "created_at": 1.0e9}])
    refused = _cli(store, str(bare))
    assert refused.returncode == 2
    assert "--user-id" in refused.stderr
    scoped = _cli(store, str(bare), "--user-id", "dave", "--json")
    assert json.loads(scoped.stdout) == {"imported": 1, "skipped": 0}
