"""The public ``Memory`` API on raw memories (infer=False): CRUD, history, versions, windows."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

import mnemoweave
from mnemoweave import Memory, NotFoundError, ValidationError


def test_add_string_dict_and_list_forms(mem: Memory) -> None:
    one = mem.add("I like green tea", user_id="u1")
    assert [e.event for e in one.results] == ["ADD"]
    assert one["results"][0]["memory"] == "I like green tea"
    assert one["relations"] == []
    two = mem.add({"role": "user", "content": "My cat is Miso", "name": "Ana"}, user_id="u1")
    item = mem.get(two.results[0].id)
    assert item.actor_id == "Ana"
    assert item.role == "user"
    three = mem.add(
        [
            {"role": "system", "content": "You are helpful"},
            {"role": "user", "content": "I work at a bakery"},
            {"role": "assistant", "content": "Sounds tasty"},
        ],
        user_id="u1",
    )
    assert [e.memory for e in three.results] == ["I work at a bakery", "Sounds tasty"]
    assert mem.count(user_id="u1") == 4


def test_add_requires_a_scope_and_valid_messages(mem: Memory) -> None:
    with pytest.raises(ValidationError, match="user_id, agent_id or run_id"):
        mem.add("hello")
    with pytest.raises(ValidationError, match="user_id must be a non-empty string"):
        mem.add("hello", user_id="")
    with pytest.raises(ValidationError, match="no text"):
        mem.add([], user_id="u")
    with pytest.raises(ValidationError, match="role"):
        mem.add({"role": "wizard", "content": "x"}, user_id="u")
    with pytest.raises(ValidationError, match="only system"):
        mem.add({"role": "system", "content": "rules"}, user_id="u")
    with pytest.raises(ValidationError, match="metadata must be a dict"):
        mem.add("x", user_id="u", metadata=["a"])
    with pytest.raises(ValidationError, match="JSON"):
        mem.add("x", user_id="u", metadata={"when": object()})
    assert mem.count(user_id="u") == 0


def test_infer_true_without_llm_is_a_configuration_error(mem: Memory) -> None:
    with pytest.raises(mnemoweave.ConfigurationError, match="needs an LLM"):
        mem.add("I like tea", user_id="u", infer=True)
    # The default without an LLM stores verbatim.
    assert mem.add("I like tea", user_id="u").results[0].event == "ADD"


def test_search_ranks_relevant_memory_first_and_scores(mem: Memory) -> None:
    mem.add("My dog is called Rex", user_id="u")
    mem.add("I live in Lisbon", user_id="u")
    mem.add("Favourite food is ramen", user_id="u")
    res = mem.search("what is my dog called?", user_id="u", explain=True)
    assert res.results[0].memory == "My dog is called Rex"
    top = res["results"][0]
    assert top["score"] == pytest.approx(top["explain"]["fused"])
    assert set(top["explain"]) >= {"dense", "keyword", "fused"}
    scores = [r.score for r in res.results]
    assert scores == sorted(scores, reverse=True)
    assert len(mem.search("dog", user_id="u", limit=1).results) == 1
    above = mem.search("what is my dog called?", user_id="u", threshold=0.3)
    assert [r.memory for r in above.results] == ["My dog is called Rex"]


def test_scores_are_absolute_not_relative_to_the_scope(mem: Memory) -> None:
    mem.add("My dog is called Rex", user_id="u")
    mem.add("I live in Lisbon", user_id="u")
    unrelated = mem.search("quantum chromodynamics lecture", user_id="u", explain=True)
    assert max(r.score for r in unrelated.results) < 0.1
    assert mem.search("quantum chromodynamics lecture", user_id="u", threshold=0.1).results == []
    hit = mem.search("what is my dog called?", user_id="u", explain=True).results[0]
    parts = hit.explain
    assert parts is not None
    assert parts["dense_norm"] == pytest.approx(max(0.0, parts["dense"]))
    assert parts["keyword_norm"] == pytest.approx(parts["keyword"] / (parts["keyword"] + 7))
    miss = (1 - parts["dense_norm"]) * (1 - parts["keyword_norm"])
    assert hit.score == pytest.approx(1 - miss)  # noisy-OR: either signal can carry a match


def test_a_close_paraphrase_passes_mem0_style_thresholds(tmp_path: Path) -> None:
    """A memory with cosine 0.8 and no shared word passes threshold=0.7 (mem0's meaning); the
    earlier weighted sum capped it at 0.4 and stays available as fusion="weighted_sum"."""
    from mnemoweave._fusion import fuse

    dense, keyword = np.array([0.8, 0.15]), np.array([0.0, 0.0])
    assert fuse(dense, keyword, 0.5).fused.tolist() == pytest.approx([0.8, 0.15])
    assert fuse(dense, keyword, 0.5, "weighted_sum").fused.tolist() == pytest.approx([0.4, 0.075])
    assert fuse(dense, keyword, 0.0).fused.tolist() == pytest.approx([0.96, 0.2775])  # dense only
    both = fuse(np.array([0.5]), np.array([7.0]), 0.5)  # BM25 7 -> 0.5
    assert both.fused.tolist() == pytest.approx([0.75])
    for mode in ("noisy_or", "weighted_sum"):
        with Memory(tmp_path / mode, embedder="hash", fusion=mode) as mem:
            mem.add("My dog is called Rex", user_id="u")
            hit = mem.search("what is my dog called?", user_id="u", explain=True).results[0]
            assert hit.explain is not None
            assert hit.score == pytest.approx(hit.explain["fused"])


def test_search_validation(mem: Memory) -> None:
    with pytest.raises(ValidationError, match="query must not be empty"):
        mem.search("   ", user_id="u")
    with pytest.raises(ValidationError, match="query must be a string"):
        mem.search(None, user_id="u")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="limit"):
        mem.search("x", user_id="u", limit=0)
    with pytest.raises(ValidationError, match="user_id, agent_id or run_id"):
        mem.search("x")
    with pytest.raises(ValidationError, match="unknown filter operator 'like'"):
        mem.search("x", user_id="u", filters={"topic": {"like": "a"}})
    with pytest.raises(ValidationError, match="threshold"):
        mem.search("x", user_id="u", threshold="high")  # type: ignore[arg-type]


def test_empty_scope_returns_no_results(mem: Memory) -> None:
    mem.add("something", user_id="other")
    assert mem.search("something", user_id="nobody").results == []
    assert mem.get_all(user_id="nobody").total == 0


def test_get_unknown_and_update_delete_unknown_raise_not_found(mem: Memory) -> None:
    with pytest.raises(NotFoundError):
        mem.get("nope")
    with pytest.raises(NotFoundError):
        mem.update("nope", "text")
    with pytest.raises(NotFoundError):
        mem.delete("nope")
    with pytest.raises(NotFoundError):
        mem.history("nope")


def test_update_keeps_id_versions_history_and_as_of(mem: Memory) -> None:
    added = mem.add("I live in Paris", user_id="u").results[0]
    before = time.time()
    time.sleep(0.02)
    updated = mem.update(added.id, "I live in Berlin")
    assert updated.id == added.id
    assert updated.memory == "I live in Berlin"
    history = mem.history(added.id)
    assert [(h.event, h.old_memory, h.new_memory) for h in history] == [
        ("ADD", None, "I live in Paris"),
        ("UPDATE", "I live in Paris", "I live in Berlin"),
    ]
    now_hits = mem.search("where do I live", user_id="u")
    assert [r.memory for r in now_hits.results] == ["I live in Berlin"]
    past = mem.search("where do I live", user_id="u", as_of=before)
    assert [r.memory for r in past.results] == ["I live in Paris"]
    assert past.results[0].id == added.id
    assert past.results[0].valid_to is not None
    # Metadata-only update does not create a version.
    mem.update(added.id, metadata={"source": "profile"})
    assert mem.get(added.id).metadata == {"source": "profile"}
    assert len(mem.history(added.id)) == 2
    with pytest.raises(ValidationError, match="text"):
        mem.update(added.id)


def test_delete_erases_but_history_keeps_event(mem: Memory) -> None:
    mid = mem.add("Secret plan", user_id="u").results[0].id
    mem.update(mid, "Secret plan v2")
    out = mem.delete(mid)
    assert out["id"] == mid
    with pytest.raises(NotFoundError):
        mem.get(mid)
    events = mem.history(mid)
    assert [e.event for e in events] == ["ADD", "UPDATE", "DELETE"]
    assert all(e.old_memory is None and e.new_memory is None for e in events)
    assert events[-1].is_deleted
    assert mem.search("secret plan", user_id="u").results == []


def test_delete_all_requires_scope_and_only_touches_it(mem: Memory) -> None:
    mem.add("a1", user_id="a")
    mem.add("a2", user_id="a", agent_id="bot")
    mem.add("b1", user_id="b")
    with pytest.raises(ValidationError):
        mem.delete_all()
    assert mem.delete_all(user_id="a")["deleted"] == 2
    assert mem.count(user_id="a") == 0
    assert mem.count(user_id="b") == 1
    assert mem.get_messages(user_id="a") == []
    assert len(mem.get_messages(user_id="b")) == 1


def test_get_all_pagination_order_and_total(mem: Memory) -> None:
    for i in range(7):
        mem.add(f"fact number {i}", user_id="u", timestamp=1_700_000_000 + i)
    page1 = mem.get_all(user_id="u", limit=3)
    page2 = mem.get_all(user_id="u", limit=3, offset=3)
    assert page1.total == 7
    assert [r.memory for r in page1.results] == ["fact number 6", "fact number 5", "fact number 4"]
    assert [r.memory for r in page2.results] == ["fact number 3", "fact number 2", "fact number 1"]
    with pytest.raises(ValidationError):
        mem.get_all(user_id="u", offset=-1)


def test_expiration_hides_until_asked(mem: Memory) -> None:
    past = datetime.now(UTC) - timedelta(days=1)
    future = datetime.now(UTC) + timedelta(days=1)
    mem.add("Parking spot B12 today", user_id="u", expiration_date=past)
    mem.add("Parking pass valid", user_id="u", expiration_date=future)
    assert [r.memory for r in mem.search("parking", user_id="u").results] == ["Parking pass valid"]
    both = mem.search("parking", user_id="u", include_expired=True)
    assert {r.memory for r in both.results} == {"Parking spot B12 today", "Parking pass valid"}
    assert mem.get_all(user_id="u").total == 1
    assert mem.get_all(user_id="u", include_expired=True).total == 2


def test_batch_add_update_delete_are_atomic(mem: Memory) -> None:
    res = mem.batch_add(
        [
            {"text": "alpha fact", "user_id": "u", "metadata": {"n": 1}},
            {"text": "beta fact", "user_id": "u", "categories": ["greek"]},
            {"text": "gamma fact", "agent_id": "bot"},
        ]
    )
    ids = [r["id"] for r in res.results]
    assert len(ids) == 3
    assert mem.get(ids[1]).categories == ["greek"]
    with pytest.raises(ValidationError, match=r"records\[1\]"):
        mem.batch_add([{"text": "ok", "user_id": "u"}, {"text": "", "user_id": "u"}])
    assert mem.count(user_id="u") == 2  # nothing from the failed batch
    mem.batch_update(
        [
            {"memory_id": ids[0], "text": "alpha fact v2"},
            {"memory_id": ids[1], "metadata": {"x": True}},
        ]
    )
    assert mem.get(ids[0]).memory == "alpha fact v2"
    assert mem.get(ids[1]).metadata == {"x": True}
    with pytest.raises(NotFoundError):
        mem.batch_update(
            [{"memory_id": ids[0], "text": "alpha v3"}, {"memory_id": "missing", "text": "x"}]
        )
    assert mem.get(ids[0]).memory == "alpha fact v2"  # rolled back
    with pytest.raises(NotFoundError):
        mem.batch_delete([ids[0], "missing"])
    assert mem.get(ids[0]).memory == "alpha fact v2"
    mem.batch_delete([ids[0], ids[1]])
    assert mem.count(user_id="u") == 0
    assert mem.count(agent_id="bot") == 1


def test_reset_erases_everything(mem: Memory) -> None:
    mem.add("x", user_id="a")
    mem.add("y", agent_id="b")
    mem.reset()
    assert mem.count(user_id="a") == 0
    assert mem.count(agent_id="b") == 0
    mem.add("z", user_id="a")
    assert mem.search("z", user_id="a").results[0].memory == "z"


def test_message_window_keeps_recent_messages(store_dir: Path) -> None:
    with Memory(store_dir, embedder="hash", message_window=3) as mem:
        for i in range(5):
            mem.add(f"message {i}", user_id="u", run_id="s1")
        window = mem.get_messages(user_id="u", run_id="s1")
        assert [m["content"] for m in window] == ["message 2", "message 3", "message 4"]
        assert mem.get_messages(user_id="u") == []  # exact scope only
        mem.append_messages({"role": "assistant", "content": "hi"}, user_id="u", run_id="s1")
        assert mem.get_messages(user_id="u", run_id="s1", limit=1)[0]["content"] == "hi"
        assert mem.clear_messages(user_id="u", run_id="s1") == 3
        assert mem.count(user_id="u") == 5  # memories are untouched


def test_reopen_keeps_everything_and_context_manager_closes(store_dir: Path) -> None:
    with Memory(store_dir, embedder="hash") as mem:
        mid = mem.add("persistent fact about kayaks", user_id="u").results[0].id
    with pytest.raises(mnemoweave.StorageError, match="closed"):
        mem.get(mid)
    with Memory(store_dir, embedder="hash") as again:
        assert again.get(mid).memory == "persistent fact about kayaks"
        assert again.search("kayaks", user_id="u").results[0].id == mid


def test_results_are_typed_and_dict_readable(mem: Memory) -> None:
    res = mem.add("I enjoy jazz", user_id="u", metadata={"genre": "music"})
    item = mem.search("jazz", user_id="u").results[0]
    assert isinstance(item, mnemoweave.MemoryItem)
    assert item["metadata"] == {"genre": "music"} == item.metadata
    assert "score" in item
    # Unset fields are present as None, as in mem0's payloads; unknown keys are not.
    assert "agent_id" in item
    assert item["agent_id"] is None
    assert item.get("agent_id", "none") is None
    with pytest.raises(KeyError):
        item["no_such_field"]
    assert item.get("no_such_field", "none") == "none"
    assert list(item) == item.keys()
    as_dict = item.to_dict()
    assert as_dict["memory"] == "I enjoy jazz"
    assert as_dict["agent_id"] is None
    assert isinstance(as_dict["created_at"], str)
    assert dict(item) == as_dict
    json.dumps(dict(item))
    assert "results" in res
    assert res.usage.llm_calls == 0


def test_inputs_are_not_mutated(mem: Memory) -> None:
    msgs = [{"role": "user", "content": "I swim", "name": "Zoe"}]
    meta = {"tags": ["sport"]}
    snapshot = (repr(msgs), repr(meta))
    mem.add(msgs, user_id="u", metadata=meta)
    assert (repr(msgs), repr(meta)) == snapshot


def test_default_memory_uses_mnemoweave_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MNEMOWEAVE_HOME", str(tmp_path / "home"))
    with Memory(embedder="hash") as mem:
        assert mem.path == tmp_path / "home"
        mem.add("hello", user_id="u")
    assert (tmp_path / "home" / "mnemoweave.db").exists()


def test_update_sets_and_clears_expiration(mem: Memory) -> None:
    mid = mem.add("Temporary door code 4411", user_id="u").results[0].id
    mem.update(mid, expiration_date=datetime.now(UTC) - timedelta(minutes=1))
    assert mem.search("door code", user_id="u").results == []
    assert mem.get(mid).expiration_date is not None
    mem.update(mid, expiration_date=None)
    assert mem.search("door code", user_id="u").results[0].id == mid
    assert mem.get(mid).memory == "Temporary door code 4411"  # text untouched


def test_background_add_reaches_the_window_at_once(store_dir: Path) -> None:
    with Memory(store_dir, embedder="hash") as mem:
        handle = mem.add("I am writing a novel", user_id="u", background=True)
        assert [m["content"] for m in mem.get_messages(user_id="u")] == ["I am writing a novel"]
        mem.flush()
        assert handle.result().results[0].event == "ADD"
        assert len(mem.get_messages(user_id="u")) == 1  # not appended twice


def test_update_categories_and_add_without_window(mem: Memory) -> None:
    mid = mem.add("Runs on Tuesdays", user_id="u", categories=["sport"], window=False).results[0].id
    assert mem.get_messages(user_id="u") == []
    mem.update(mid, categories=["sport", "routine"])
    assert mem.get(mid).categories == ["routine", "sport"]
    assert mem.get_all(user_id="u", filters={"categories": {"contains": "routine"}}).total == 1
    with pytest.raises(ValidationError, match="window"):
        mem.add("x", user_id="u", window="no")  # type: ignore[arg-type]
