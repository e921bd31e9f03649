"""Code written for mem0 (its README and docs examples) runs here by changing the import."""

from __future__ import annotations

import warnings
from datetime import datetime
from pathlib import Path

import pytest

from mnemoweave import ConfigurationError, Memory, NotFoundError, ValidationError


def test_mem0_readme_style_code_runs_unchanged(tmp_path: Path) -> None:
    # Only the construction differs (mem0: Memory() with its own defaults).
    m = Memory.from_config(
        {
            "vector_store": {"provider": "faiss", "config": {"path": str(tmp_path / "m")}},
            "embedder": {"provider": "hash"},
        }
    )
    messages = [
        {"role": "user", "content": "Hi, I'm Alex. I'm a vegetarian and I'm allergic to nuts."},
        {"role": "assistant", "content": "Hello Alex! I'll remember your dietary needs."},
    ]
    result = m.add(messages, user_id="alex", metadata={"category": "preferences"})
    assert len(result["results"]) == 2
    assert result["results"][0]["event"] == "ADD"

    # mem0 v1 style: scope as keyword arguments.
    related = m.search("What can Alex not eat? nuts", user_id="alex", limit=3)
    lines = [f"{r['memory']} ({r['score']:.2f})" for r in related["results"]]
    assert "nuts" in lines[0]

    # mem0 v2 style: scope in filters, top_k, show_expired.
    v2 = m.search("nuts", filters={"user_id": "alex"}, top_k=1, show_expired=False)
    assert v2["results"][0]["memory"] == related["results"][0]["memory"]

    all_memories = m.get_all(filters={"user_id": "alex"}, top_k=20)
    assert len(all_memories["results"]) == 2
    memory_id = all_memories["results"][0]["id"]
    assert m.get(memory_id)["memory"] == all_memories["results"][0]["memory"]

    m.update(memory_id=memory_id, data="Likes to play tennis on weekends")
    m.update(memory_id, text="Plays tennis on weekends")
    history = m.history(memory_id=memory_id)
    assert [h["event"] for h in history] == ["ADD", "UPDATE", "UPDATE"]
    assert history[-1]["new_memory"] == "Plays tennis on weekends"

    m.delete(memory_id=memory_id)
    m.delete_all(user_id="alex")
    assert m.get_all(user_id="alex")["results"] == []
    m.reset()
    m.close()


def test_from_config_rejects_unknown_and_unsupported_keys(tmp_path: Path) -> None:
    # mem0's reranker block names a hosted provider; ours says which rerankers exist.
    with pytest.raises(ConfigurationError, match=r"reranker provider 'cohere' is unknown"):
        Memory.from_config({"reranker": {"provider": "cohere"}})
    with pytest.raises(ConfigurationError, match="vector_store provider 'pinecone'"):
        Memory.from_config({"vector_store": {"provider": "pinecone", "config": {}}})
    with pytest.raises(ConfigurationError, match="graph_store"):
        Memory.from_config({"graph_store": {"provider": "neo4j"}})
    with pytest.raises(ConfigurationError, match="unknown option 'colour'"):
        Memory(tmp_path, embedder="hash", colour="blue")
    with pytest.raises(ConfigurationError, match="unknown embedder provider"):
        Memory(tmp_path, embedder="word2vec")


def test_history_db_path_picks_the_directory(tmp_path: Path) -> None:
    m = Memory.from_config(
        {"history_db_path": str(tmp_path / "h" / "history.db"), "embedder": {"provider": "hash"}}
    )
    try:
        assert m.path == tmp_path / "h"
    finally:
        m.close()


def test_seed_history_loop_reads_platform_names(tmp_path: Path) -> None:
    # The seeds' history loop, unchanged: action / new_value / previous_value, and
    # record.get('updated_at') falling back to created_at.
    m = Memory(path=tmp_path / "m", embedder="hash")
    memory_id = m.add("Old content", user_id="alex", infer=False)["results"][0]["id"]
    m.update(memory_id, "Updated content")
    lines = []
    for record in m.history(memory_id=memory_id):
        lines.append(
            f"Action: {record.get('action')}, "
            f"Time: {record.get('updated_at') or record.get('created_at')}, "
            f"New Value: {record.get('new_value')}, Old: {record['previous_value']}"
        )
    assert lines[0].startswith("Action: ADD, Time: 20")
    assert lines[0].endswith("New Value: Old content, Old: None")
    assert lines[1].startswith("Action: UPDATE")
    assert lines[1].endswith("New Value: Updated content, Old: Old content")
    entry = m.history(memory_id)[1]
    assert (entry.action, entry.previous_value, entry.new_value) == (
        "UPDATE",
        "Old content",
        "Updated content",
    )
    # Aliases are readable, not extra keys: the dict view keeps mem0's OSS names.
    assert "action" not in entry.to_dict()
    assert entry.to_dict()["event"] == "UPDATE"
    m.close()


def test_dict_views_hold_every_field_and_iso_timestamps(tmp_path: Path) -> None:
    m = Memory(path=tmp_path / "m", embedder="hash")
    memory_id = m.add("Likes green tea", user_id="alex", infer=False)["results"][0]["id"]
    item = m.get(memory_id)
    # Typed attributes stay datetimes; the dict view gives ISO-8601 strings, as mem0 does.
    assert isinstance(item.created_at, datetime)
    assert item["created_at"] == item.created_at.isoformat()
    assert datetime.fromisoformat(item["created_at"]) == item.created_at
    assert dict(item)["created_at"] == item["created_at"]
    assert item.get("created_at") == item["created_at"]
    # None fields are present as None, so item["agent_id"] never raises KeyError.
    assert item["agent_id"] is None
    assert item["expiration_date"] is None
    assert set(item.keys()) == set(type(item).model_fields)
    assert set(item.to_dict()) == set(item.keys())
    hit = m.search("green tea", user_id="alex")["results"][0]
    assert isinstance(hit["updated_at"], str)
    assert hit["score"] == hit.score
    entry = m.history(memory_id)[0]
    assert entry["created_at"] == entry.created_at.isoformat()  # type: ignore[union-attr]
    assert entry["old_memory"] is None
    m.close()


def test_add_events_read_as_old_memory(tmp_path: Path) -> None:
    from mnemoweave.testing import ScriptedOpenAIServer

    with ScriptedOpenAIServer() as llm:
        config = {"model": "scripted", "base_url": llm.base_url, "api_key": "k"}
        m = Memory(path=tmp_path / "m", embedder="hash", llm=config)
        first = m.add("I like cheese pizza", user_id="alex", infer=False)["results"][0]
        llm.script(
            {"operations": [{"op": "UPDATE", "id": 0, "text": "Loves cheese and chicken pizza"}]}
        )
        events = m.add("I love chicken pizza too", user_id="alex")["results"]
        update = next(e for e in events if e["event"] == "UPDATE")
        assert update["id"] == first["id"]
        assert update["old_memory"] == "I like cheese pizza" == update.old_memory
        assert update["previous_memory"] == update["old_memory"]
        m.close()


def test_get_all_pages_like_mem0(tmp_path: Path) -> None:
    m = Memory(tmp_path / "s", embedder="hash")
    for i in range(7):
        m.add(f"note number {i}", user_id="alex", infer=False)
    m.add("someone else's note", user_id="sam", infer=False)
    first = m.get_all(user_id="alex", page=1, page_size=3)
    assert (first["count"], first["next"], first["previous"]) == (7, 2, None)
    assert len(first["results"]) == 3
    last = m.get_all(user_id="alex", page=3, page_size=3)
    assert (len(last["results"]), last["next"], last["previous"]) == (1, None, 2)
    # The seed-style loop: follow "next" until it runs out.
    seen, page = [], 1
    while page is not None:
        listed = m.get_all(user_id="alex", page=page, page_size=3)
        seen += [r["memory"] for r in listed["results"]]
        page = listed["next"]
    assert seen == [f"note number {i}" for i in reversed(range(7))]  # newest first, no repeats
    assert m.get_all(user_id="alex", page_size=50)["next"] is None
    unpaged = m.get_all(user_id="alex")
    assert (unpaged["count"], unpaged["next"], unpaged["total"]) == (None, None, 7)
    with pytest.raises(ValidationError, match="not both"):
        m.get_all(user_id="alex", page=2, limit=10)
    with pytest.raises(ValidationError, match="page"):
        m.get_all(user_id="alex", page=0)
    m.close()


def test_users_and_delete_users_like_mem0(tmp_path: Path) -> None:
    m = Memory(tmp_path / "s", embedder="hash")
    m.add("Alex likes tea", user_id="alex", infer=False)
    m.add("Alex likes jazz", user_id="alex", agent_id="helper", infer=False)
    m.add("Sam likes chess", user_id="sam", run_id="r1", infer=False)
    users = m.users()
    listed = {(e["type"], e["name"]): e["total_memories"] for e in users["results"]}
    assert listed == {
        ("user", "alex"): 2,
        ("user", "sam"): 1,
        ("agent", "helper"): 1,
        ("run", "r1"): 1,
    }
    assert users["count"] == 4
    assert isinstance(users["results"][0]["created_at"], str)  # ISO, like mem0's JSON
    out = m.delete_users(user_id="alex")
    assert out["message"] == "Entity deleted successfully."
    assert out["deleted"] == 2
    assert m.count(user_id="alex") == 0
    assert m.count(user_id="sam") == 1  # another user's memories stay
    with pytest.raises(ValidationError, match="reset"):
        m.delete_users()
    with pytest.raises(ValidationError, match="exactly one"):
        m.delete_users(user_id="sam", run_id="r1")
    m.close()


def test_platform_version_and_output_format_are_ignored_with_one_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mnemoweave import _validate

    monkeypatch.setattr(_validate, "_warned", set())
    m = Memory(tmp_path / "s", embedder="hash")
    with pytest.warns(DeprecationWarning, match="version='v2' is accepted") as caught:
        m.add("I moved to Lisbon", user_id="alex", version="v2", infer=False)
    assert caught[0].filename == __file__  # points at the caller's line, not mnemoweave's
    with pytest.warns(DeprecationWarning, match="output_format='v1.1'"):
        found = m.search("Lisbon", user_id="alex", version="v2", output_format="v1.1")
    assert [r["memory"] for r in found["results"]] == ["I moved to Lisbon"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per process: no second warning
        listed = m.get_all(user_id="alex", output_format="v1.1", version="v2")
    assert listed["total"] == 1
    m.close()


def test_feedback_is_kept_in_history_and_erased_with_the_memory(tmp_path: Path) -> None:
    m = Memory(tmp_path / "s", embedder="hash")
    mid = m.add("Alex's dog is called Rex", user_id="alex", infer=False)["results"][0]["id"]
    out = m.feedback(
        memory_id=mid,
        feedback="NEGATIVE",
        feedback_reason="This memory was irrelevant to the user's actual request.",
    )
    assert out["message"] == "Feedback recorded"
    m.feedback(mid, None)  # mem0's way to clear a rating
    events = m.history(mid)
    assert [e["event"] for e in events] == ["ADD", "FEEDBACK", "FEEDBACK"]
    rated = events[1]
    assert (rated["feedback"], rated["feedback_reason"]) == (
        "NEGATIVE",
        "This memory was irrelevant to the user's actual request.",
    )
    assert (rated["old_memory"], rated["new_memory"]) == (None, None)
    assert (events[2]["feedback"], events[2]["feedback_reason"]) == (None, None)
    assert events[0]["feedback"] is None  # other events carry no rating
    with pytest.raises(ValidationError, match="POSITIVE, NEGATIVE, VERY_NEGATIVE"):
        m.feedback(mid, "GREAT")
    with pytest.raises(NotFoundError):
        m.feedback("00000000-0000-0000-0000-000000000000", "POSITIVE")
    m.delete(mid)
    assert all(e["feedback_reason"] is None for e in m.history(mid))  # erased with the text
    with pytest.raises(NotFoundError):
        m.feedback(mid, "POSITIVE")
    m.close()
    raw = b"".join(p.read_bytes() for p in (tmp_path / "s").rglob("*") if p.is_file())
    assert b"irrelevant to the user" not in raw


def test_includes_and_excludes_steer_one_adds_extraction(tmp_path: Path) -> None:
    from mnemoweave.testing import ScriptedOpenAIServer, operations

    with ScriptedOpenAIServer() as llm:
        config = {"model": "scripted", "base_url": llm.base_url, "api_key": "k"}
        m = Memory(path=tmp_path / "m", embedder="hash", llm=config)
        llm.script(operations(("ADD", None, "Plays tennis on Sundays")))
        messages = [{"role": "user", "content": "I play tennis on Sundays and I love sushi"}]
        added = m.add(messages, user_id="alex", includes="sports and hobbies", excludes="food")
        assert [e["memory"] for e in added["results"]] == ["Plays tennis on Sundays"]
        system = llm.chat_requests[-1].messages[0]["content"]
        assert "only remember facts about:\nsports and hobbies" in system
        assert "never remember facts about:\nfood" in system
        llm.script(operations(("NONE", None, None)))
        m.add("Just saying hi", user_id="alex")  # the next add is not steered
        plain = llm.chat_requests[-1].messages[0]["content"]
        assert "sports and hobbies" not in plain
        assert "never remember" not in plain
        with pytest.raises(ValidationError, match="need infer=True"):
            m.add("I love sushi", user_id="alex", infer=False, excludes="food")
        m.close()


def test_contextual_add_shows_the_previous_turns_of_the_same_scope(tmp_path: Path) -> None:
    from mnemoweave.llm import prompts
    from mnemoweave.testing import ScriptedOpenAIServer, operations

    with ScriptedOpenAIServer() as llm:
        config = {"model": "scripted", "base_url": llm.base_url, "api_key": "k"}
        m = Memory(path=tmp_path / "m", embedder="hash", llm=config)
        llm.script(
            operations(("ADD", None, "Bought a new espresso machine")),
            operations(("NONE", None, None)),
            operations(("UPDATE", 0, "Bought a new espresso machine and dislikes it")),
        )
        # The seeds' chat loop: one turn (user + assistant) per add.
        m.add(
            [
                {"role": "user", "content": "I bought a new espresso machine"},
                {"role": "assistant", "content": "Nice! How do you like it?"},
            ],
            user_id="alex",
        )
        m.add("I love espresso machines", user_id="sam")  # another user's turn
        m.add("Actually, I don't like it", user_id="alex")
        sent = prompts.input_data(llm.chat_requests[-1].messages[-1]["content"])
        assert [(c["role"], c["content"]) for c in sent["context"]] == [
            ("user", "I bought a new espresso machine"),
            ("assistant", "Nice! How do you like it?"),
        ]
        assert [msg["content"] for msg in sent["messages"]] == ["Actually, I don't like it"]
        assert m.get_all(user_id="alex")["results"][0]["memory"].endswith("dislikes it")
        first = prompts.input_data(llm.chat_requests[0].messages[-1]["content"])
        assert "context" not in first  # nothing came before the first turn
        m.close()
        off = Memory(path=tmp_path / "m", embedder="hash", llm=config, context_turns=0)
        llm.script(operations(("NONE", None, None)))
        off.add("And the grinder too", user_id="alex")
        assert "context" not in prompts.input_data(llm.chat_requests[-1].messages[-1]["content"])
        off.close()


def test_unscoped_reads_are_refused_with_the_way_to_list_scopes(tmp_path: Path) -> None:
    m = Memory(tmp_path / "s", embedder="hash")
    m.add("Alex likes tea", user_id="alex", infer=False)
    for call in (lambda: m.get_all(), lambda: m.search("tea")):
        with pytest.raises(ValidationError, match=r"get_all\(user_id='alice'\).*users\(\)"):
            call()
    assert m.users()["results"][0]["name"] == "alex"
    m.close()
