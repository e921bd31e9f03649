"""``MnemoweaveCrewMemory``: CrewAI's ``Memory`` API answered by mnemoweave."""

from __future__ import annotations

from pathlib import Path

import pytest
from crewai.events.event_bus import crewai_event_bus
from crewai.events.types.memory_events import (
    MemoryQueryCompletedEvent,
    MemorySaveCompletedEvent,
)
from crewai.memory.types import MemoryMatch

from mnemoweave import Memory, ValidationError
from mnemoweave.testing import ScriptedOpenAIServer
from mnemoweave_adapters import CLOSE_TAG, OPEN_TAG, RawPolicy, render_memories, unquote_block
from mnemoweave_crewai import (
    IMPORTANCE_KEY,
    SCOPE_KEY,
    MnemoweaveCrewMemory,
    MnemoweaveMatch,
    MnemoweaveStorage,
    mnemoweave_memory,
)


@pytest.fixture
def crew_memory(store: Memory) -> MnemoweaveCrewMemory:
    return MnemoweaveCrewMemory(store, user_id="alice")


def joined(matches: list[MemoryMatch]) -> str:
    return "\n".join(m.format() for m in matches)


def test_recall_formats_join_into_exactly_the_kit_block(
    crew_memory: MnemoweaveCrewMemory, store: Memory
) -> None:
    for text in ("Likes green tea", "Drinks tea every morning", "Owns a tea shop in Porto"):
        store.add(text, user_id="alice", infer=False)
    matches = crew_memory.recall("tea", limit=5)
    assert len(matches) == 3
    assert all(isinstance(m, MnemoweaveMatch) for m in matches)
    expected = render_memories(crew_memory.binding.recall("tea", limit=5))
    assert joined(matches) == expected
    assert [m.record.content for m in matches] == unquote_block(expected)
    # A match built elsewhere (not by recall) still renders as a complete, quoted block.
    single = MnemoweaveMatch(record=matches[1].record, score=1.0).format()
    assert single.count(OPEN_TAG) == 1
    assert single.count(CLOSE_TAG) == 1


def test_token_budget_leaves_out_what_the_block_leaves_out(store: Memory) -> None:
    for i in range(6):
        store.add(f"Fact {i} about sailing " + "and more words " * 30, user_id="alice", infer=False)
    small = MnemoweaveCrewMemory(store, user_id="alice", token_budget=250)
    matches = small.recall("sailing", limit=6)
    assert 0 < len(matches) < 6
    block = joined(matches)
    assert block == render_memories(small.binding.recall("sailing", limit=6), token_budget=250)
    unlimited = MnemoweaveCrewMemory(store, user_id="alice", token_budget=None)
    assert len(unlimited.recall("sailing", limit=6)) == 6


def test_remember_maps_fields_and_paths(crew_memory: MnemoweaveCrewMemory, store: Memory) -> None:
    record = crew_memory.remember(
        "Prefers aisle seats",
        scope="travel",
        categories=["travel"],
        metadata={"origin": "form"},
        importance=0.9,
        root_scope="/crew/trips/agent/planner",
    )
    assert record is not None
    assert record.scope == "/crew/trips/agent/planner/travel"
    assert (record.categories, record.metadata, record.importance) == (
        ["travel"],
        {"origin": "form"},
        0.9,
    )
    (item,) = store.get_all(user_id="alice").results
    assert item.agent_id == "planner"
    assert item.metadata[SCOPE_KEY] == "/crew/trips/agent/planner/travel"
    assert crew_memory.list_scopes("/crew/trips") == ["/crew/trips/agent"]


def test_root_scope_nests_writes_and_limits_recall(store: Memory) -> None:
    store.add("Plays chess on Sundays", user_id="alice", infer=False)
    rooted = MnemoweaveCrewMemory(store, user_id="alice", root_scope="/crew/games")
    rooted.remember("Plays chess online too", importance=0.3)
    assert [m.record.content for m in rooted.recall("chess")] == ["Plays chess online too"]
    unrooted = MnemoweaveCrewMemory(store, user_id="alice")
    assert len(unrooted.recall("chess")) == 2
    assert rooted.list_records()[0].scope == "/crew/games"
    assert rooted.list_records()[0].importance == 0.3


def test_recall_filters_categories_scope_and_privacy(crew_memory: MnemoweaveCrewMemory) -> None:
    crew_memory.remember("Budget is 500 euros", categories=["money"], scope="/plans")
    crew_memory.remember("Budget notes are private", source="phone", private=True)
    crew_memory.remember("Budget meeting on Monday", categories=["calendar"])

    def contents(**kw: object) -> list[str]:
        return sorted(m.record.content for m in crew_memory.recall("budget", **kw))

    assert contents() == ["Budget is 500 euros", "Budget meeting on Monday"]
    assert contents(categories=["money"]) == ["Budget is 500 euros"]
    assert contents(scope="/plans") == ["Budget is 500 euros"]
    assert "Budget notes are private" in contents(source="phone")
    assert "Budget notes are private" not in contents(source="laptop")
    assert len(contents(include_private=True)) == 3


def test_remember_many_saves_in_the_background_and_recall_waits(
    crew_memory: MnemoweaveCrewMemory, store: Memory
) -> None:
    assert crew_memory.remember_many(["Has a cat named Miso", "Works night shifts"]) == []
    found = crew_memory.recall("cat named Miso")  # the read barrier drains pending saves
    assert found[0].record.content == "Has a cat named Miso"
    assert store.count(user_id="alice") == 2


def test_extract_memories_applies_the_raw_policy_without_an_llm(
    crew_memory: MnemoweaveCrewMemory, store: Memory
) -> None:
    raw = (
        "Task: plan\nAgent: Planner\nExpected result: a plan\nResult: Thought: I now know the "
        "final answer\nFinal Answer: The user prefers trains"
    )
    assert crew_memory.extract_memories(raw) == ["The user prefers trains"]
    assert crew_memory.extract_memories("Task: greet\nAgent: A\nResult: Hello!") == []
    assert crew_memory.extract_memories("Input: hi\nAgent: A\nResult: Is it?") == []
    everything = MnemoweaveCrewMemory(store, user_id="alice", raw_policy=RawPolicy.keep_all())
    assert everything.extract_memories(raw) == [raw]
    assert crew_memory.extract_memories("   ") == []
    with pytest.raises(ValidationError):
        crew_memory.extract_memories(42)  # type: ignore[arg-type]


def test_mnemoweave_llm_pipeline_extracts_and_reconciles(tmp_path: Path) -> None:
    with ScriptedOpenAIServer() as server:
        server.script(
            {"operations": [{"op": "ADD", "id": None, "text": "Prefers trains over planes"}]},
            {"operations": [{"op": "UPDATE", "id": 0, "text": "Prefers night trains"}]},
        )
        llm = {"model": "scripted", "base_url": server.base_url, "api_key": "k"}
        store = Memory(tmp_path / "llm-store", embedder="hash", llm=llm)
        try:
            memory = MnemoweaveCrewMemory(store, user_id="alice")
            raw = "Task: book travel\nResult: The user said they prefer trains over planes"
            memory.remember_many(memory.extract_memories(raw), agent_role="Planner")
            assert [m.record.content for m in memory.recall("trains")] == [
                "Prefers trains over planes"
            ]
            record = memory.remember("Actually, night trains are best")
            assert record is not None
            assert record.content == "Prefers night trains"
            (item,) = store.get_all(user_id="alice").results
            assert [h.event for h in store.history(item.id)] == ["ADD", "UPDATE"]
            assert len(server.chat_requests) == 2
            assert "trains over planes" in server.chat_requests[0].messages[-1]["content"]
        finally:
            store.close()
    assert isinstance(memory.llm, str)  # CrewAI's own LLM was never built


def test_forget_by_scope_category_and_id(crew_memory: MnemoweaveCrewMemory, store: Memory) -> None:
    a = crew_memory.remember("Fact in scope a", scope="/a")
    crew_memory.remember("Fact in scope b", scope="/b", categories=["temp"])
    crew_memory.remember("Another fact", scope="/b")
    store.add("Bob's fact", user_id="bob", infer=False)
    assert a is not None
    assert crew_memory.forget(record_ids=[a.id]) == 1
    assert crew_memory.forget(categories=["temp"]) == 1
    assert crew_memory.forget(scope="/b") == 1
    assert store.count(user_id="alice") == 0
    assert store.count(user_id="bob") == 1


def test_crewai_update_goes_to_mnemoweave_history(
    crew_memory: MnemoweaveCrewMemory, store: Memory
) -> None:
    record = crew_memory.remember("Lives in Oslo")
    assert record is not None
    updated = crew_memory.update(record.id, content="Lives in Bergen", importance=0.8)
    assert (updated.content, updated.importance) == ("Lives in Bergen", 0.8)
    assert store.get(record.id).metadata[IMPORTANCE_KEY] == 0.8
    assert [h.event for h in store.history(record.id)] == ["ADD", "UPDATE"]


def test_scope_views_work(crew_memory: MnemoweaveCrewMemory) -> None:
    view = crew_memory.scope("/crew/research")
    view.remember("Sources must be peer reviewed")
    crew_memory.remember("Unrelated sources note", scope="/crew/other")
    assert [m.record.content for m in view.recall("sources")] == ["Sources must be peer reviewed"]
    assert crew_memory.info("/crew").child_scopes == ["/crew/other", "/crew/research"]
    view.reset()
    assert crew_memory.list_categories() == {}
    assert [r.content for r in crew_memory.list_records()] == ["Unrelated sources note"]


def test_read_only_memory_stores_nothing(store: Memory) -> None:
    read_only = MnemoweaveCrewMemory(store, user_id="alice", read_only=True)
    assert read_only.remember("ignored") is None
    assert read_only.remember_many(["ignored too"]) == []
    read_only.drain_writes()
    assert store.count(user_id="alice") == 0


def test_memory_events_are_emitted(crew_memory: MnemoweaveCrewMemory) -> None:
    seen: list[str] = []
    with crewai_event_bus.scoped_handlers():

        @crewai_event_bus.on(MemorySaveCompletedEvent)
        def saved(source: object, event: MemorySaveCompletedEvent) -> None:
            seen.append("saved")

        @crewai_event_bus.on(MemoryQueryCompletedEvent)
        def queried(source: object, event: MemoryQueryCompletedEvent) -> None:
            seen.append(f"queried:{len(event.results)}")

        crew_memory.remember("Event-worthy fact about owls")
        crew_memory.recall("owls")
        crewai_event_bus.flush()
    assert sorted(seen) == ["queried:1", "saved"]


def test_crewai_never_builds_lancedb_or_openai(
    crew_memory: MnemoweaveCrewMemory, crew_home: Path
) -> None:
    crew_memory.remember("Nothing leaves the machine")
    crew_memory.recall("machine")
    crew_memory.update(crew_memory.list_records()[0].id, content="Still local")
    assert crew_memory.storage is crew_memory.mnemoweave_storage
    assert crew_memory._llm_instance is None
    assert not [p for p in crew_home.rglob("*") if "lance" in p.name.lower()]


def test_construction_errors_are_clear(store: Memory) -> None:
    with pytest.raises(ValidationError, match="user_id"):
        MnemoweaveCrewMemory()  # no scope: no tenant boundary
    with pytest.raises(ValidationError, match="token_budget"):
        MnemoweaveCrewMemory(store, user_id="a", token_budget=0)
    with pytest.raises(ValidationError, match="embedder"):
        MnemoweaveCrewMemory(store, user_id="a", embedder=lambda texts: texts)
    with pytest.raises(ValidationError):
        MnemoweaveCrewMemory(storage="lancedb")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        MnemoweaveCrewMemory(store, user_id="a", storage=MnemoweaveStorage(store, user_id="a"))
    with pytest.raises(ValidationError):
        MnemoweaveCrewMemory(store)  # no scope
    memory = MnemoweaveCrewMemory(store, user_id="a")
    with pytest.raises(ValidationError):
        memory.recall("x", limit=0)
    with pytest.raises(ValidationError):
        memory.remember("x", importance=1.5)
    with pytest.raises(ValidationError):
        memory.remember("x", metadata={SCOPE_KEY: "/elsewhere"})
    with pytest.raises(ValidationError):
        memory.remember_many("not a list")  # type: ignore[arg-type]


def test_mnemoweave_memory_helper_opens_and_closes_its_store(tmp_path: Path) -> None:
    memory = mnemoweave_memory(user_id="alice", path=tmp_path / "helper", embedder="hash")
    memory.remember("Helper-made memory")
    assert memory.binding.memory.path == tmp_path / "helper"
    memory.close()
    with Memory(tmp_path / "helper", embedder="hash") as reopened:
        assert reopened.count(user_id="alice") == 1


def test_mnemoweave_memory_defaults_to_mnemoweave_home(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MNEMOWEAVE_HOME", str(tmp_path / "home"))
    memory = mnemoweave_memory(user_id="alice", embedder="hash", root_scope="/crew/x")
    try:
        assert memory.binding.memory.path.is_relative_to(tmp_path / "home")
        assert memory.root_scope == "/crew/x"
    finally:
        memory.close()
