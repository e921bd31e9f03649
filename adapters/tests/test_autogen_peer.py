"""autogen-core's and autogen-ext's memory tests, reproduced against ``MnemoweaveMemory``.

autogen-core 0.7.5 ``tests/test_memory.py`` (``ListMemory``) and autogen-ext 0.7.5
``tests/memory/test_chroma_memory.py`` / ``test_redis_memory.py`` construct their own classes
directly (and the vector ones need a Chroma collection or a Redis server), so each test here
restates what one of them asserts, written from scratch, with our memory in place of theirs;
the docstring names the original. Deliberate differences are marked ``DIFFERENCE`` and listed
in docs/autogen.md ("AutoGen's own tests"). Plus: the kit-wide raw-storage policy and
read-your-writes through ``remember_messages``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from autogen_agentchat.messages import TextMessage
from autogen_core import ComponentModel
from autogen_core.memory import MemoryContent, MemoryMimeType
from autogen_core.model_context import BufferedChatCompletionContext
from autogen_core.models import UserMessage

from mnemoweave import Memory
from mnemoweave.errors import ValidationError
from mnemoweave.testing import ScriptedOpenAIServer, WriteGate
from mnemoweave_adapters.autogen import MnemoweaveMemory


def text(value: str, **meta: Any) -> MemoryContent:
    return MemoryContent(content=value, mime_type=MemoryMimeType.TEXT, metadata=meta or None)


@pytest.fixture
def memory(store: Memory) -> Iterator[MnemoweaveMemory]:
    mem = MnemoweaveMemory(store, user_id="peer")
    yield mem
    asyncio.run(mem.close())


def run(coro: Any) -> Any:
    return asyncio.run(coro)


# -- autogen-core tests/test_memory.py (ListMemory) ------------------------------------------
def test_list_memory_empty(memory: MnemoweaveMemory) -> None:
    """test_memory.py::test_list_memory_empty: nothing recalled, nothing injected."""
    context = BufferedChatCompletionContext(buffer_size=3)
    result = run(memory.update_context(context))
    assert result.memories.results == []
    assert run(context.get_messages()) == []
    assert run(memory.query(text("test"))).results == []


def test_list_memory_add_and_query(memory: MnemoweaveMemory) -> None:
    """test_memory.py::test_list_memory_add_and_query: text and JSON come back as given.

    DIFFERENCE: results are ranked by relevance to the query, not listed in insertion
    order (ListMemory ignores the query); here both score alike, so the set is compared.
    """
    run(memory.add(text("test1")))
    run(memory.add(MemoryContent(content={"key": "value"}, mime_type=MemoryMimeType.JSON)))
    found = run(memory.query(text("query"))).results
    assert len(found) == 2
    assert sorted(map(str, (r.content for r in found))) == ["test1", "{'key': 'value'}"]


def test_list_memory_max_memories(memory: MnemoweaveMemory) -> None:
    """test_memory.py::test_list_memory_max_memories: five added, five recalled."""
    for i in range(5):
        run(memory.add(text(f"test{i}")))
    assert len(run(memory.query(text("query"))).results) == 5


def test_list_memory_update_context(memory: MnemoweaveMemory) -> None:
    """test_memory.py::test_list_memory_update_context: one message holds every memory.

    DIFFERENCE: recall needs a user message to search for (ListMemory injects everything
    into an empty context); the context here holds the user's question.
    """
    run(memory.add(text("test1 fact")))
    run(memory.add(text("test2 fact")))
    context = BufferedChatCompletionContext(buffer_size=3)
    run(context.add_message(UserMessage(content="test1 test2", source="user")))
    result = run(memory.update_context(context))
    messages = run(context.get_messages())
    assert len(result.memories.results) == 2
    assert len(messages) == 2  # the question plus one memory message
    assert "test1 fact" in messages[-1].content
    assert "test2 fact" in messages[-1].content


def test_list_memory_clear(memory: MnemoweaveMemory) -> None:
    """test_memory.py::test_list_memory_clear."""
    run(memory.add(text("test")))
    run(memory.clear())
    assert run(memory.query(text("query"))).results == []


def test_list_memory_content_types(memory: MnemoweaveMemory) -> None:
    """test_memory.py::test_list_memory_content_types: str stays str, JSON stays a dict.

    DIFFERENCE: bytes are refused (mnemoweave remembers text), where ListMemory keeps them.
    """
    run(memory.add(text("text")))
    run(memory.add(MemoryContent(content={"key": "value"}, mime_type=MemoryMimeType.JSON)))
    with pytest.raises(ValidationError, match="Unsupported content type"):
        run(memory.add(MemoryContent(content=b"binary", mime_type=MemoryMimeType.BINARY)))
    found = run(memory.query(text("text key value"))).results
    assert sorted(type(r.content).__name__ for r in found) == ["dict", "str"]


def test_memory_component_dump_and_load(tmp_path: Path) -> None:
    """test_memory.py::test_memory_component_dump_config_to_base_model and
    ..::test_memory_component_load_config_from_base_model, for our component."""
    mem = MnemoweaveMemory(tmp_path / "c", user_id="peer", name="test_memory", embedder="hash")
    config = mem.dump_component()
    assert isinstance(config, ComponentModel)
    assert config.provider == "mnemoweave_adapters.autogen.MnemoweaveMemory"
    assert config.component_type == "memory"
    assert config.config["name"] == "test_memory"
    loaded = MnemoweaveMemory.load_component(config)
    assert isinstance(loaded, MnemoweaveMemory)
    assert loaded.name == "test_memory"
    run(loaded.close())
    run(mem.close())


# -- autogen-ext tests/memory/test_chroma_memory.py ----------------------------------------------
def test_basic_workflow(memory: MnemoweaveMemory) -> None:
    """test_chroma_memory.py::test_basic_workflow: recalled with a float score."""
    run(memory.clear())
    paris = "Paris is known for the Eiffel Tower and amazing cuisine."
    run(memory.add(text(paris, category="city", country="France")))
    found = run(memory.query("Tell me about Paris")).results
    assert found
    assert any("Paris" in str(r.content) for r in found)
    assert all(isinstance((r.metadata or {}).get("score"), float) for r in found)


def test_content_types(memory: MnemoweaveMemory) -> None:
    """test_chroma_memory.py::test_content_types: text and JSON are both searchable."""
    run(memory.add(text("Simple text content for testing")))
    run(
        memory.add(
            MemoryContent(content={"key": "value", "number": 42}, mime_type="application/json")
        )
    )
    found = run(memory.query("simple text content")).results
    assert any("Simple text content" in str(r.content) for r in found)
    found = run(memory.query("value")).results
    assert any("value" in str(r.content).lower() for r in found)


def test_strict_matching(store: Memory) -> None:
    """test_chroma_memory.py::test_strict_matching: a threshold keeps related text, drops
    unrelated text.

    DIFFERENCE: Chroma's test uses 0.8; mnemoweave's fused scores run lower (a paraphrase
    scores about 0.4 with the test embedder), so the threshold here is 0.3.
    """
    mem = MnemoweaveMemory(store, user_id="peer", threshold=0.3)
    run(mem.add(text("Specific technical details about quantum computing")))
    exact = run(mem.query("quantum computing details")).results
    assert exact
    assert all((r.metadata or {}).get("score", 0) >= 0.3 for r in exact)
    assert run(mem.query("recipe for cake")).results == []


def test_metadata_handling(memory: MnemoweaveMemory) -> None:
    """test_chroma_memory.py::test_metadata_handling: metadata comes back flat, typed."""
    content = "Test content with specific metadata"
    meta = {"test_category": "test", "test_priority": 1, "test_weight": 0.5, "test_verified": True}
    run(memory.add(text(content, **meta)))
    (first, *_) = run(memory.query(content)).results
    assert first.metadata is not None
    assert first.metadata["test_category"] == "test"
    assert first.metadata["test_priority"] == 1
    assert isinstance(first.metadata["test_weight"], float)
    assert first.metadata["test_verified"] is True


def test_error_handling(memory: MnemoweaveMemory) -> None:
    """test_chroma_memory.py::test_error_handling: the same two ``ValueError`` messages."""
    with pytest.raises(ValueError, match="Unsupported content type"):
        run(memory.add(MemoryContent(content=b"binary data", mime_type=MemoryMimeType.BINARY)))
    with pytest.raises(ValueError, match="JSON content must be a dict"):
        run(memory.add(MemoryContent(content="not a dict", mime_type=MemoryMimeType.JSON)))


def test_initialization_and_reset(memory: MnemoweaveMemory) -> None:
    """test_chroma_memory.py::test_initialization: add, query, reset, add again.

    DIFFERENCE: ``clear()`` is the reset (AutoGen's Memory interface has no ``reset``).
    """
    run(memory.add(text("Test initialization content")))
    assert run(memory.query("Test initialization")).results
    run(memory.clear())
    assert run(memory.query("Test initialization")).results == []
    run(memory.add(text("New test content after reset")))
    assert run(memory.query("New test")).results


def test_model_context_update(memory: MnemoweaveMemory) -> None:
    """test_chroma_memory.py::test_model_context_update."""
    run(memory.add(text("Jupiter is the largest planet in our solar system.", category="a")))
    context = BufferedChatCompletionContext(buffer_size=5)
    run(context.add_message(UserMessage(content="Tell me about Jupiter", source="user")))
    result = run(memory.update_context(context))
    assert any("Jupiter" in str(r.content) for r in result.memories.results)
    assert len(run(context.get_messages())) > 1


# -- autogen-ext tests/memory/test_redis_memory.py --------------------------------------------
def test_add_and_query_with_string_and_memory_content(memory: MnemoweaveMemory) -> None:
    """test_redis_memory.py::test_add_and_query_with_string and
    ..::test_add_and_query_with_memory_content: a string query and a MemoryContent query
    find the memory, with its metadata flat."""
    run(memory.add(text("The capital of France is Paris", source="wiki", year=2024)))
    for query in ["capital of France", text("capital of France")]:
        (hit, *_) = run(memory.query(query)).results
        assert hit.content == "The capital of France is Paris"
        assert hit.metadata is not None
        assert (hit.metadata["source"], hit.metadata["year"]) == ("wiki", 2024)


def test_json_and_markdown_memory_types(memory: MnemoweaveMemory) -> None:
    """test_redis_memory.py::test_json_memory_type and ..::test_markdown_memory_type: each
    comes back with its MIME type and content (JSON parsed again)."""
    run(
        memory.add(
            MemoryContent(content={"city": "Lisbon", "rent": 1200}, mime_type="application/json")
        )
    )
    run(
        memory.add(
            MemoryContent(content="# Notes\n* likes **tea**", mime_type=MemoryMimeType.MARKDOWN)
        )
    )
    found = {
        str(getattr(r.mime_type, "value", r.mime_type)): r
        for r in run(memory.query("Lisbon rent tea notes")).results
    }
    assert found["application/json"].content == {"city": "Lisbon", "rent": 1200}
    assert found["text/markdown"].content == "# Notes\n* likes **tea**"


def test_query_arguments(memory: MnemoweaveMemory) -> None:
    """test_redis_memory.py::test_query_arguments: the per-call result count is honoured.

    DIFFERENCE: the keyword is ``limit=`` (Redis: ``top_k=``), and ``filters=`` takes
    mnemoweave's filter grammar; unknown keywords are refused, not ignored.
    """
    for i in range(4):
        run(memory.add(text(f"Fact number {i} about the garden", n=i)))
    assert len(run(memory.query("garden", limit=2)).results) == 2
    assert [r.metadata["n"] for r in run(memory.query("garden", filters={"n": 3})).results] == [3]  # type: ignore[index]
    with pytest.raises(ValidationError):
        run(memory.query("garden", top_k=2))


# -- kit-wide rules -------------------------------------------------------------------------
def test_remember_messages_follows_the_raw_policy(store: Memory) -> None:
    mem = MnemoweaveMemory(store, user_id="peer")
    run(
        mem.remember_messages(
            [
                TextMessage(content="Hello!", source="user"),
                TextMessage(content="I moved to Porto last year", source="user"),
                TextMessage(content="Noted.", source="assistant"),
            ]
        )
    )
    assert [m.memory for m in store.get_all(user_id="peer").results] == [
        "I moved to Porto last year"
    ]
    assert [m["content"] for m in mem.binding.messages()] == [
        "Hello!",
        "I moved to Porto last year",
        "Noted.",
    ]


def test_next_recall_sees_the_background_remember(tmp_path: Path) -> None:
    gate = WriteGate()
    store = Memory(tmp_path / "g", embedder=gate.embedder)
    try:
        mem = MnemoweaveMemory(store, user_id="peer", background=True)
        run(mem.remember_messages([TextMessage(content="My cat is called Biscuit", source="user")]))
        assert gate.held.wait(60)
        with gate.open_when_read_waits():
            found = run(mem.query("what is my cat called")).results
        assert [r.content for r in found] == ["My cat is called Biscuit"]
    finally:
        gate.open()
        store.close()


def test_the_autogen_extra_brings_a_model_client(store: Memory) -> None:
    """``[autogen]`` installs autogen-ext's OpenAI client: an AssistantAgent on any
    OpenAI-compatible endpoint (the scripted one here) recalls through our memory."""
    from autogen_agentchat.agents import AssistantAgent
    from autogen_ext.models.openai import OpenAIChatCompletionClient

    store.add("Peer's cat is called Biscuit", user_id="peer", infer=False)
    with ScriptedOpenAIServer() as server:
        server.script("Your cat is Biscuit.")
        client = OpenAIChatCompletionClient(
            model="scripted",
            base_url=server.base_url,
            api_key="k",
            model_info={
                "vision": False,
                "function_calling": False,
                "json_output": False,
                "family": "unknown",
                "structured_output": False,
                # Memories (AutoGen's own too) add a system message after the conversation.
                "multiple_system_messages": True,
            },
        )
        agent = AssistantAgent(
            "assistant", model_client=client, memory=[MnemoweaveMemory(store, user_id="peer")]
        )

        async def chat() -> Any:
            try:
                return await agent.run(task="what is my cat called")
            finally:
                await client.close()

        result = run(chat())
        assert result.messages[-1].content == "Your cat is Biscuit."
        assert "Peer's cat is called Biscuit" in json.dumps(server.chat_requests[-1].body)
