"""Code written for mem0 (its README and docs examples) runs here by changing the import."""

from __future__ import annotations

from pathlib import Path

import pytest

from mnemoweave import ConfigurationError, Memory


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
    with pytest.raises(ConfigurationError, match=r"unknown config key\(s\) \['reranker'\]"):
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
