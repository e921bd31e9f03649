"""Memory events (``Memory(on_event=...)``) and ``Memory.scopes()``."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mnemoweave import ConfigurationError, Memory, NotFoundError
from mnemoweave.events import MemoryEvent
from mnemoweave.testing import ScriptedOpenAIServer


class Recorder:
    """An on_event hook that also proves each event is already committed."""

    def __init__(self) -> None:
        self.events: list[MemoryEvent] = []
        self.memory: Memory | None = None
        self.visible: list[bool] = []

    def __call__(self, event: MemoryEvent) -> None:
        self.events.append(event)
        if self.memory is not None and event.event != "DELETE":
            self.visible.append(self.memory.get(event.memory_id).memory == event.memory)

    def kinds(self) -> list[str]:
        return [e.event for e in self.events]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def mem(tmp_path: Path, recorder: Recorder) -> Iterator[Memory]:
    memory = Memory(tmp_path / "store", embedder="hash", on_event=recorder)
    recorder.memory = memory
    yield memory
    memory.close()


def test_add_emits_one_add_per_stored_message_after_commit(mem: Memory, recorder: Recorder) -> None:
    result = mem.add(
        [{"role": "user", "content": "I like tea"}, {"role": "assistant", "content": "Noted"}],
        user_id="alice",
        agent_id="bot",
        infer=False,
    )
    assert recorder.kinds() == ["ADD", "ADD"]
    assert [e.memory_id for e in recorder.events] == [r.id for r in result.results]
    first = recorder.events[0]
    assert (first.user_id, first.agent_id, first.run_id) == ("alice", "bot", None)
    assert first.memory == "I like tea"
    assert recorder.visible == [True, True]  # the hook could read what it was told about
    assert isinstance(first.at, datetime)
    assert first.to_dict()["event"] == "ADD"


def test_update_carries_new_and_previous_text(mem: Memory, recorder: Recorder) -> None:
    mid = mem.add("I live in Paris", user_id="alice", infer=False).results[0].id
    mem.update(mid, "I live in Berlin")
    mem.update(mid, metadata={"source": "form"})
    changed = recorder.events[1:]
    assert [e.event for e in changed] == ["UPDATE", "UPDATE"]
    assert (changed[0].memory, changed[0].previous_memory) == (
        "I live in Berlin",
        "I live in Paris",
    )
    assert (changed[1].memory, changed[1].previous_memory) == ("I live in Berlin", None)
    assert changed[0].user_id == "alice"


def test_erasing_emits_deletes_without_text(mem: Memory, recorder: Recorder) -> None:
    ids = [r.id for r in mem.add(["one", "two", "three"], user_id="bob", infer=False).results]
    mem.add("keep me", user_id="carol", infer=False)
    mem.delete(ids[0])
    mem.batch_delete([ids[1]])
    mem.delete_all(user_id="bob")
    deletes = [e for e in recorder.events if e.event == "DELETE"]
    assert [e.memory_id for e in deletes] == ids
    assert all(e.memory is None and e.user_id == "bob" for e in deletes)


def test_a_rolled_back_write_emits_nothing(mem: Memory, recorder: Recorder) -> None:
    mid = mem.add("solid", user_id="alice", infer=False).results[0].id
    before = len(recorder.events)
    with pytest.raises(NotFoundError):
        mem.batch_delete([mid, "no-such-id"])
    assert len(recorder.events) == before
    assert mem.get(mid).memory == "solid"


def test_batch_add_emits_adds_with_each_records_scope(mem: Memory, recorder: Recorder) -> None:
    mem.batch_add([{"text": "a", "user_id": "u1"}, {"text": "b", "agent_id": "ag"}])
    assert [(e.event, e.user_id, e.agent_id) for e in recorder.events] == [
        ("ADD", "u1", None),
        ("ADD", None, "ag"),
    ]


def test_a_failing_hook_never_fails_the_write(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(event: MemoryEvent) -> None:
        raise RuntimeError("receiver down")

    with Memory(tmp_path / "s", embedder="hash", on_event=broken) as memory:
        with caplog.at_level(logging.WARNING, logger="mnemoweave"):
            mid = memory.add("still stored", user_id="alice", infer=False).results[0].id
        assert memory.get(mid).memory == "still stored"
    assert "on_event hook failed" in caplog.text


def test_on_event_must_be_callable(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="on_event"):
        Memory(tmp_path / "s", embedder="hash", on_event="not callable")


def test_infer_pipeline_emits_its_operations(tmp_path: Path) -> None:
    seen: list[MemoryEvent] = []
    with ScriptedOpenAIServer() as llm:
        config: dict[str, Any] = {
            "model": "scripted",
            "base_url": llm.base_url,
            "api_key": "k",
            "max_retries": 0,
        }
        with Memory(tmp_path / "s", embedder="hash", llm=config, on_event=seen.append) as mem:
            llm.script({"operations": [{"op": "ADD", "text": "Lives in Paris"}]})
            mem.add("I live in Paris", user_id="alice")
            llm.script({"operations": [{"op": "UPDATE", "id": 0, "text": "Lives in Berlin"}]})
            mem.add("I moved to Berlin", user_id="alice")
            llm.script({"operations": [{"op": "NONE", "id": 0}]})
            mem.add("Berlin is nice", user_id="alice")
            llm.script({"operations": [{"op": "DELETE", "id": 0}]})
            mem.add("I left Berlin", user_id="alice")
    assert [e.event for e in seen] == ["ADD", "UPDATE", "DELETE"]
    assert seen[1].previous_memory == "Lives in Paris"
    assert seen[2].memory == "Lives in Berlin"  # a retired (not erased) fact keeps its text
    assert len({e.memory_id for e in seen}) == 1


def test_scopes_count_active_memories_per_exact_scope(tmp_path: Path) -> None:
    with Memory(tmp_path / "s", embedder="hash") as mem:
        mem.add(["a", "b"], user_id="alice", infer=False)
        mem.add("c", user_id="alice", agent_id="bot", infer=False)
        mem.add("d", agent_id="bot", run_id="r1", infer=False)
        gone = mem.add("e", user_id="bob", infer=False).results[0].id
        past = datetime.now(UTC) - timedelta(days=1)
        mem.add("f", user_id="dave", infer=False, expiration_date=past)
        mem.delete(gone)
        found = mem.scopes()
    triples = [(s.user_id, s.agent_id, s.run_id, s.count) for s in found.results]
    assert triples == [
        ("alice", "bot", None, 1),
        ("alice", None, None, 2),
        (None, "bot", "r1", 1),
    ]
    assert found.users() == {"alice": 3}
    assert found.agents() == {"bot": 2}
    assert found.runs() == {"r1": 1}
    assert found.to_dict()["results"][0]["count"] == 1
