"""mem0's config classes and dicts: seed-style setup code runs unchanged apart from the import.

The code inside the ``# -- seed --`` blocks is written as the seeds (../shared/seeds/) write
mem0 configuration, with ``from mem0...`` replaced by ``from mnemoweave...``; only the URLs and
paths point at the scripted server and a temporary directory.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from mnemoweave import AsyncMemory, Memory
from mnemoweave.errors import ConfigurationError
from mnemoweave.testing import ScriptedOpenAIServer, operations


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "GROQ_API_KEY", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server() -> Iterator[ScriptedOpenAIServer]:
    with ScriptedOpenAIServer(embedding_dim=32) as srv:
        yield srv


def test_seed_memory_config_objects(
    server: ScriptedOpenAIServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setattr("mnemoweave.config._noticed", set())  # the notice is once per process
    server.script(operations(("ADD", None, "Likes sci-fi movies")))
    # -- seed --
    from mnemoweave import Memory
    from mnemoweave.configs import EmbedderConfig, LlmConfig, MemoryConfig, VectorStoreConfig

    config = MemoryConfig(
        llm=LlmConfig(
            provider="openai",
            config={"model": "gpt-4o-mini", "temperature": 0.1, "max_tokens": 1500},
        ),
        embedder=EmbedderConfig(
            provider="openai", config={"model": "text-embedding-3-small", "embedding_dims": 32}
        ),
        vector_store=VectorStoreConfig(
            provider="chroma", config={"collection_name": "mem0", "path": str(tmp_path)}
        ),
    )
    with pytest.warns(UserWarning, match="'chroma' maps onto"):
        memory = Memory(config=config)
    memory.add([{"role": "user", "content": "I love sci-fi movies"}], user_id="alice")
    results = memory.search("movies", user_id="alice")
    # -- end seed --
    assert [r["memory"] for r in results["results"]] == ["Likes sci-fi movies"]
    assert memory.path == tmp_path
    body = server.chat_requests[0].body
    assert (body["model"], body["temperature"], body["max_tokens"]) == ("gpt-4o-mini", 0.1, 1500)
    assert server.embedding_requests[0].body["model"] == "text-embedding-3-small"
    memory.close()


def test_seed_from_config_dict(server: ScriptedOpenAIServer, tmp_path: Path) -> None:
    server.script(operations(("ADD", None, "Works at Acme")))
    # -- seed --
    config = {
        "llm": {
            "provider": "groq",
            "config": {
                "model": "mixtral-8x7b-32768",
                "temperature": 0.1,
                "api_key": "gsk",
                "base_url": server.base_url,
            },
        },
        "embedder": {
            "provider": "ollama",
            "config": {
                "model": "nomic-embed-text",
                "ollama_base_url": server.url,
                "embedding_dims": 32,
            },
        },
        "vector_store": {
            "provider": "qdrant",
            "config": {
                "collection_name": "test",
                "path": str(tmp_path),
                "embedding_model_dims": 32,
            },
        },
        "version": "v1.1",
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = Memory.from_config(config_dict=config)
    m.add("I work at Acme", user_id="bob")
    # -- end seed --
    assert m.get_all(user_id="bob")["results"][0]["memory"] == "Works at Acme"
    assert m.path == tmp_path / "collections" / "test"
    assert server.chat_requests[0].body["model"] == "mixtral-8x7b-32768"
    m.close()


def test_collections_are_isolated_stores(tmp_path: Path) -> None:
    def store(name: str) -> Memory:
        config = {
            "embedder": {"provider": "hash"},
            "vector_store": {
                "provider": "faiss",
                "config": {"collection_name": name, "path": str(tmp_path)},
            },
        }
        return Memory.from_config(config)

    with store("alpha") as a, store("beta") as b:
        a.add("alpha fact", user_id="u", infer=False)
        assert b.search("alpha fact", user_id="u")["results"] == []
        assert [r["memory"] for r in a.get_all(user_id="u")["results"]] == ["alpha fact"]
    with pytest.raises(ConfigurationError, match="collection_name"):
        store("../escape")


def test_async_memory_from_config_object(tmp_path: Path) -> None:
    from mnemoweave.configs import EmbedderConfig, MemoryConfig

    config = MemoryConfig(
        embedder=EmbedderConfig(provider="hash"), history_db_path=str(tmp_path / "history.db")
    )
    memory = AsyncMemory.from_config(config)
    assert memory.path == tmp_path


def test_defaults_stay_offline_and_unknown_fields_are_named(tmp_path: Path) -> None:
    from mnemoweave.configs import LlmConfig, MemoryConfig

    assert MemoryConfig().to_dict() == {}
    with pytest.raises(Exception, match="temprature"):
        MemoryConfig(temprature=1)  # type: ignore[call-arg]
    with pytest.raises(ConfigurationError, match="colour"):
        Memory(config={"colour": "blue", "path": str(tmp_path)})
    with pytest.raises(ConfigurationError, match="top_q"):
        Memory(
            config=MemoryConfig(llm=LlmConfig(config={"top_q": 1})), path=tmp_path, embedder="hash"
        )


@pytest.mark.parametrize(
    ("store", "named"),
    [
        ({"provider": "pgvector", "config": {"colour": 1}}, "colour"),
        ({"provider": "pinecone", "config": {}}, r"\['chroma', 'faiss', 'qdrant'\]"),
        ({"provider": "qdrant", "config": {"host": "localhost", "port": 6333}}, "host"),
        ({"provider": "chroma", "config": {"colour": 1}}, "colour"),
    ],
)
def test_vector_store_providers_that_do_not_map_say_what_works(store: dict, named: str) -> None:
    with pytest.raises(ConfigurationError, match=named):
        Memory.from_config({"vector_store": store, "embedder": {"provider": "hash"}})
