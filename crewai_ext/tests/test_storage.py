"""``MnemoweaveStorage``: the ``StorageBackend`` protocol on mnemoweave, and the mapping rule."""

from __future__ import annotations

import asyncio
import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from crewai.memory.storage.backend import StorageBackend
from crewai.memory.types import MemoryRecord
from crewai.memory.unified_memory import Memory as CrewMemory

from mnemoweave import DimensionMismatchError, Memory, NotFoundError, ValidationError
from mnemoweave_adapters import MemoryBinding
from mnemoweave_crewai import (
    ANCESTORS_KEY,
    ID_KEY,
    IMPORTANCE_KEY,
    PRIVATE_KEY,
    SCOPE_KEY,
    SOURCE_KEY,
    MnemoweaveStorage,
)


@pytest.fixture
def storage(store: Memory) -> MnemoweaveStorage:
    return MnemoweaveStorage(store, user_id="alice")


def rec(content: str, scope: str = "/", **fields: object) -> MemoryRecord:
    return MemoryRecord(content=content, scope=scope, **fields)


def test_it_is_a_crewai_storage_backend(storage: MnemoweaveStorage) -> None:
    assert isinstance(storage, StorageBackend)


def test_mapping_rule_for_paths_importance_and_privacy(
    storage: MnemoweaveStorage, store: Memory
) -> None:
    record = rec(
        "Prefers window seats",
        "/crew/travel/agent/planner",
        categories=["travel"],
        metadata={"origin": "chat"},
        importance=0.9,
        source="alice-phone",
        private=True,
    )
    storage.save([record])
    (item,) = store.get_all(user_id="alice").results
    assert item.user_id == "alice"
    assert item.agent_id == "planner"  # the path's agent segment becomes the mnemoweave agent
    assert item.categories == ["travel"]
    assert item.metadata == {
        "origin": "chat",
        SCOPE_KEY: "/crew/travel/agent/planner",
        ANCESTORS_KEY: [
            "/crew",
            "/crew/travel",
            "/crew/travel/agent",
            "/crew/travel/agent/planner",
        ],
        IMPORTANCE_KEY: 0.9,
        SOURCE_KEY: "alice-phone",
        PRIVATE_KEY: True,
        ID_KEY: record.id,
        "crewai_last_accessed": record.last_accessed.isoformat(),
    }
    back = storage.get_record(record.id)
    assert back is not None
    assert (back.id, back.content, back.scope) == (record.id, record.content, record.scope)
    assert (back.categories, back.metadata, back.importance) == (
        ["travel"],
        {"origin": "chat"},
        0.9,
    )
    assert (back.source, back.private) == ("alice-phone", True)


def test_a_crew_named_agent_is_not_an_agent_and_binding_agent_wins(store: Memory) -> None:
    MnemoweaveStorage(store, user_id="u1").save([rec("fact one", "/crew/agent/notes")])
    assert store.get_all(user_id="u1").results[0].agent_id is None
    bound = MnemoweaveStorage(store, user_id="u2", agent_id="fixed")
    bound.save([rec("fact two", "/crew/c/agent/writer")])
    assert store.get_all(user_id="u2").results[0].agent_id == "fixed"


def test_memories_written_outside_crewai_sit_at_the_root(
    storage: MnemoweaveStorage, store: Memory
) -> None:
    store.add("Speaks Portuguese", user_id="alice", agent_id="helper", infer=False)
    (record,) = storage.list_records()
    assert record.scope == "/"
    assert storage.list_records("/crew") == []
    assert record.importance == 0.5
    assert storage.get_record(record.id) == record  # mnemoweave's id works as the CrewAI id


def test_prefixes_match_whole_segments(storage: MnemoweaveStorage) -> None:
    storage.save([rec("in a", "/crew/a/x"), rec("in ab", "/crew/ab"), rec("at root")])
    assert [r.content for r in storage.list_records("/crew/a")] == ["in a"]
    assert storage.count("/crew/a/") == 1
    assert storage.count("/crew") == 2
    assert storage.count() == 3


def test_scope_info_scopes_and_categories(storage: MnemoweaveStorage) -> None:
    storage.save(
        [
            rec("one", "/crew/a/agent/x", categories=["k1"]),
            rec("two", "/crew/a", categories=["k1", "k2"]),
            rec("three", "/crew/b"),
            rec("four", "/"),
        ]
    )
    info = storage.get_scope_info("/crew/a")
    assert info.path == "/crew/a"
    assert info.record_count == 2
    assert info.categories == ["k1", "k2"]
    assert info.child_scopes == ["/crew/a/agent"]
    assert info.oldest_record is not None
    assert info.newest_record is not None
    assert info.oldest_record <= info.newest_record
    assert storage.get_scope_info("/").child_scopes == ["/crew"]
    assert storage.get_scope_info("/").record_count == 4
    assert storage.list_scopes("/crew") == ["/crew/a", "/crew/b"]
    assert storage.list_scopes("/nowhere") == []
    assert storage.list_categories() == {"k1": 2, "k2": 1}
    assert storage.list_categories("/crew/a/agent") == {"k1": 1}
    empty = storage.get_scope_info("/nowhere")
    assert (empty.record_count, empty.oldest_record, empty.child_scopes) == (0, None, [])


def test_list_records_is_newest_first_and_pages(storage: MnemoweaveStorage) -> None:
    for i in range(5):
        storage.save([rec(f"fact number {i}", "/crew/p")])
    contents = [r.content for r in storage.list_records("/crew/p", limit=2, offset=1)]
    assert contents == ["fact number 3", "fact number 2"]
    assert storage.list_records(limit=0) == []


def test_search_runs_mnemoweave_hybrid_search_on_the_query_text(
    storage: MnemoweaveStorage, store: Memory
) -> None:
    storage.save(
        [
            rec("The deploy key rotates every Friday", "/crew/ops"),
            rec("Lunch is at noon", "/crew/ops"),
            rec("The deploy key is in the vault", "/crew/dev"),
        ]
    )
    query = "when does the deploy key rotate"
    found = storage.search(storage.embedder([query])[0], limit=3)
    direct = store.search(query, user_id="alice", limit=3).results
    assert [(r.content, round(s, 6)) for r, s in found] == [
        (i.memory, round(i.score or 0.0, 6)) for i in direct
    ]
    scoped = storage.search(storage.embedder([query])[0], scope_prefix="/crew/dev", limit=3)
    assert [r.content for r, _ in scoped] == ["The deploy key is in the vault"]


def test_search_filters_categories_any_of_and_metadata(storage: MnemoweaveStorage) -> None:
    storage.save(
        [
            rec("Likes tea", categories=["food", "drink"], metadata={"lang": "en"}),
            rec("Likes jazz", categories=["music"], metadata={"lang": "fr"}),
            rec("Likes cake", categories=["food"], metadata={"lang": "fr"}),
        ]
    )
    vector = storage.embedder(["likes"])[0]
    by_category = storage.search(vector, categories=["drink", "music"], limit=5)
    assert sorted(r.content for r, _ in by_category) == ["Likes jazz", "Likes tea"]
    by_meta = storage.search(vector, categories=["food"], metadata_filter={"lang": "fr"})
    assert [r.content for r, _ in by_meta] == ["Likes cake"]
    assert storage.search(vector, limit=0) == []


def test_unknown_vectors_are_scored_by_exact_cosine(storage: MnemoweaveStorage) -> None:
    storage.save([rec("Owns a red bicycle"), rec("Allergic to peanuts")])
    vector = storage.embedder(["Allergic to peanuts"])[0]
    fresh = MnemoweaveStorage(storage.binding)  # a new embedder that has not seen the text
    found = fresh.search(vector, limit=2)
    assert found[0][0].content == "Allergic to peanuts"
    assert found[0][1] == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(DimensionMismatchError):
        fresh.search([0.5, 0.5, 0.5], limit=2)


def test_update_keeps_the_id_and_mnemoweave_history(
    storage: MnemoweaveStorage, store: Memory
) -> None:
    record = rec("Lives in Lisbon", "/crew/a", importance=0.4)
    storage.save([record])
    changed = record.model_copy(update={"content": "Lives in Porto", "importance": 0.7})
    storage.update(changed)
    back = storage.get_record(record.id)
    assert back is not None
    assert (back.content, back.importance) == ("Lives in Porto", 0.7)
    (item,) = store.get_all(user_id="alice").results
    events = [(h.event, h.old_memory, h.new_memory) for h in store.history(item.id)]
    assert events[-1] == ("UPDATE", "Lives in Lisbon", "Lives in Porto")


def test_update_of_categories_or_agent_keeps_the_crewai_id(
    storage: MnemoweaveStorage, store: Memory
) -> None:
    record = rec("Runs marathons", "/crew/a", categories=["sport"])
    storage.save([record])
    storage.update(record.model_copy(update={"categories": ["sport", "health"]}))
    storage.update(record.model_copy(update={"scope": "/crew/a/agent/coach"}))
    back = storage.get_record(record.id)
    assert back is not None
    assert back.scope == "/crew/a/agent/coach"
    assert back.categories == ["sport"]  # the second update carried the old categories
    (item,) = store.get_all(user_id="alice").results
    assert item.agent_id == "coach"
    assert storage.count() == 1


def test_update_of_an_unknown_or_foreign_record_fails(store: Memory) -> None:
    alice = MnemoweaveStorage(store, user_id="alice")
    bob = MnemoweaveStorage(store, user_id="bob")
    record = rec("Bob's secret")
    bob.save([record])
    with pytest.raises(NotFoundError):
        alice.update(record)
    assert alice.get_record(record.id) is None
    assert alice.delete(record_ids=[record.id]) == 0
    assert bob.count() == 1


def test_save_of_an_existing_id_replaces_it(storage: MnemoweaveStorage) -> None:
    record = rec("Has a dog")
    storage.save([record])
    storage.save([record.model_copy(update={"content": "Has two dogs"})])
    assert [r.content for r in storage.list_records()] == ["Has two dogs"]


def test_delete_by_each_criterion(storage: MnemoweaveStorage) -> None:
    keep = rec("keep me", "/crew/b", categories=["x"])
    by_id = rec("delete by id", "/crew/b")
    storage.save(
        [
            keep,
            by_id,
            rec("delete by category", "/crew/a", categories=["old"]),
            rec("delete by metadata", "/crew/a", metadata={"tmp": True}),
        ]
    )
    assert storage.delete(record_ids=[]) == 0  # an empty id list never means "everything"
    assert storage.delete(record_ids=[by_id.id]) == 1
    assert storage.delete(scope_prefix="/crew/a", categories=["old"]) == 1
    assert storage.delete(metadata_filter={"tmp": True}) == 1
    now = datetime.now(UTC).replace(tzinfo=None)  # CrewAI's timestamps are naive UTC
    assert storage.delete(older_than=now - timedelta(days=1)) == 0
    assert [r.content for r in storage.list_records()] == ["keep me"]
    assert storage.delete(older_than=now + timedelta(minutes=1)) == 1
    assert storage.count() == 0


def test_reset_by_prefix_and_whole_scope(store: Memory) -> None:
    alice = MnemoweaveStorage(store, user_id="alice")
    alice.save([rec("a1", "/crew/a"), rec("b1", "/crew/b")])
    store.add("not from crewai", user_id="alice", infer=False)
    store.add("Bob's fact", user_id="bob", infer=False)
    alice.reset("/crew/a")
    assert sorted(r.content for r in alice.list_records()) == ["b1", "not from crewai"]
    alice.reset()
    assert alice.count() == 0
    assert store.count(user_id="bob") == 1


def test_async_variants(storage: MnemoweaveStorage) -> None:
    async def scenario() -> tuple[int, list[str], int]:
        await storage.asave([rec("Async fact about kites", "/crew/k")])
        found = await storage.asearch(storage.embedder(["kites"])[0], scope_prefix="/crew/k")
        deleted = await storage.adelete(scope_prefix="/crew/k")
        return len(found), [r.content for r, _ in found], deleted

    assert asyncio.run(scenario()) == (1, ["Async fact about kites"], 1)


def test_bad_input_raises_mnemoweave_errors(store: Memory, storage: MnemoweaveStorage) -> None:
    with pytest.raises(ValidationError):
        storage.save([rec("x", metadata={SCOPE_KEY: "/sneaky"})])
    with pytest.raises(ValidationError):
        storage.save(["not a record"])  # type: ignore[list-item]
    with pytest.raises(ValidationError):
        storage.save([rec("   ")])
    with pytest.raises(ValidationError):
        storage.list_records(scope_prefix=42)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        storage.get_record("")
    with pytest.raises(ValidationError):
        MnemoweaveStorage(store)  # no scope: no tenant boundary
    with pytest.raises(ValidationError):
        MnemoweaveStorage(MemoryBinding(store, user_id="a"), user_id="b")
    with pytest.raises(ValidationError):
        MnemoweaveStorage(store, user_id="a", metadata={ID_KEY: "x"})


def test_copies_share_the_store_and_close_only_what_it_opened(
    store: Memory, tmp_path: Path
) -> None:
    borrowed = MnemoweaveStorage(store, user_id="u")
    assert copy.deepcopy(borrowed) is borrowed
    assert copy.deepcopy(borrowed.embedder) is borrowed.embedder
    borrowed.close()
    borrowed.save([rec("still open")])  # closing a borrowed store leaves it open
    owned = MnemoweaveStorage(tmp_path / "opened", user_id="u", embedder="hash")
    owned.save([rec("kept on disk")])
    owned.close()
    with pytest.raises(Exception, match="closed"):
        owned.count()
    with Memory(tmp_path / "opened", embedder="hash") as reopened:
        assert [i.memory for i in reopened.get_all(user_id="u").results] == ["kept on disk"]


def test_crewai_own_memory_runs_on_the_storage(storage: MnemoweaveStorage, make_llm) -> None:
    """CrewAI's stock ``Memory`` (encoding and shallow recall) works on this backend."""
    llm = make_llm()
    crew_memory = CrewMemory(storage=storage, embedder=storage.embedder, llm=llm)
    saved = crew_memory.remember(
        "The staging database is called orca",
        scope="/infra",
        categories=["ops"],
        importance=0.8,
        metadata={"team": "platform"},
    )
    assert saved is not None
    matches = crew_memory.recall("staging database name", depth="shallow", limit=3)
    assert matches[0].record.content == "The staging database is called orca"
    assert matches[0].record.id == saved.id
    assert matches[0].record.categories == ["ops"]
    assert crew_memory.info("/").child_scopes == ["/infra"]
    assert crew_memory.forget(record_ids=[saved.id]) == 1
    assert storage.count() == 0
    assert llm.prompts == []  # every field was given, so CrewAI needed no LLM
