"""Tools, retriever and chat history: the contract plus behaviour through langchain-core."""

from __future__ import annotations

import asyncio
import warnings
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import BaseTool

from mnemoweave import Memory, ValidationError
from mnemoweave.testing import ScriptedOpenAIServer
from mnemoweave_adapters import CLOSE_TAG, OPEN_TAG, MemoryBinding, unquote_block, unquote_block_ids
from mnemoweave_adapters.contract import AdapterContractTests
from mnemoweave_langchain import MnemoweaveChatMessageHistory, MnemoweaveRetriever, memory_tools

# -- contract: retriever --------------------------------------------------------------------


class TestRetrieverContract(AdapterContractTests):
    has_async = True
    renders_block = False
    entry_point = "langchain"

    def make_adapter(self, memory: Memory, *, user_id: str) -> MnemoweaveRetriever:
        return MnemoweaveRetriever(MemoryBinding(memory, user_id=user_id))

    def make_input(self, text: str) -> Any:
        return [Document(page_content=text, metadata={"source": "contract"})]

    def remember(self, adapter: MnemoweaveRetriever, payload: Any) -> None:
        adapter.add_documents(payload)

    def recall(self, adapter: MnemoweaveRetriever, query: str) -> str:
        return "\n".join(doc.page_content for doc in adapter.invoke(query))

    async def aremember(self, adapter: MnemoweaveRetriever, payload: Any) -> None:
        await adapter.aadd_documents(payload)

    async def arecall(self, adapter: MnemoweaveRetriever, query: str) -> str:
        return "\n".join(doc.page_content for doc in await adapter.ainvoke(query))


# -- contract: tools ------------------------------------------------------------------------


def block_of(text: str) -> str:
    """The quoted memories block inside a tool result ("" when there is none)."""
    if OPEN_TAG not in text:
        return ""
    return OPEN_TAG + text.split(OPEN_TAG, 1)[1].split(CLOSE_TAG, 1)[0] + CLOSE_TAG


def shown_ids(text: str) -> list[str]:
    return [ident for ident, _ in unquote_block_ids(text) if ident is not None]


class TestToolsContract(AdapterContractTests):
    has_async = True
    supports_delete = True
    entry_point = "langchain"

    def make_adapter(self, memory: Memory, *, user_id: str) -> dict[str, BaseTool]:
        tools = memory_tools(MemoryBinding(memory, user_id=user_id), allow_delete=True)
        return {tool.name: tool for tool in tools}

    def make_input(self, text: str) -> Any:
        return {"content": text}

    def remember(self, adapter: dict[str, BaseTool], payload: Any) -> None:
        adapter["save_memory"].invoke(payload)

    def recall(self, adapter: dict[str, BaseTool], query: str) -> str:
        return block_of(adapter["search_memory"].invoke({"query": query}))

    async def aremember(self, adapter: dict[str, BaseTool], payload: Any) -> None:
        await adapter["save_memory"].ainvoke(payload)

    async def arecall(self, adapter: dict[str, BaseTool], query: str) -> str:
        return block_of(await adapter["search_memory"].ainvoke({"query": query}))

    def forget_all(self, adapter: dict[str, BaseTool]) -> None:
        for memory_id in shown_ids(adapter["list_memories"].invoke({"limit": 100})):
            adapter["delete_memory"].invoke({"memory_id": memory_id})


# -- tools ----------------------------------------------------------------------------------


@pytest.fixture
def binding(memory: Memory) -> MemoryBinding:
    return MemoryBinding(memory, user_id="ann")


def test_tools_have_llm_ready_schemas(binding: MemoryBinding) -> None:
    tools = memory_tools(binding)
    assert [t.name for t in tools] == ["save_memory", "search_memory", "list_memories"]
    with_delete = memory_tools(binding, allow_delete=True)
    assert [t.name for t in with_delete][-1] == "delete_memory"
    for tool in with_delete:
        assert len(tool.description) > 40
        schema = tool.tool_call_schema.model_json_schema()
        for prop in schema.get("properties", {}).values():
            assert prop.get("description")
    assert set(tools[1].args) == {"query", "limit"}
    assert tools[0].coroutine is not None


def test_save_search_list_delete_round_trip(binding: MemoryBinding, memory: Memory) -> None:
    tools = {t.name: t for t in memory_tools(binding, allow_delete=True)}
    saved = tools["save_memory"].invoke({"content": "The user is vegetarian"})
    assert saved.startswith("Saved (id ")
    assert saved.endswith(': "The user is vegetarian"')
    tools["save_memory"].invoke({"content": "The user lives in Porto"})
    found = tools["search_memory"].invoke({"query": "vegetarian food", "limit": 1})
    assert block_of(found).count("- [") == 1
    assert "vegetarian" in block_of(found)
    listing = tools["list_memories"].invoke({})
    ids = shown_ids(listing)
    assert len(ids) == 2
    assert [memory.get(i).memory for i in ids] == [
        "The user lives in Porto",
        "The user is vegetarian",
    ]
    assert tools["delete_memory"].invoke({"memory_id": ids[0]}) == f"Deleted memory {ids[0]}."
    assert memory.count(user_id="ann") == 1


def test_tools_stay_inside_their_scope(memory: Memory) -> None:
    bob_id = memory.add("Bob's secret", user_id="bob", infer=False).results[0].id
    tools = {
        t.name: t for t in memory_tools(MemoryBinding(memory, user_id="ann"), allow_delete=True)
    }
    assert tools["search_memory"].invoke({"query": "secret"}) == "No matching memories."
    assert tools["list_memories"].invoke({}) == "No memories stored yet."
    assert "No memory with id" in tools["delete_memory"].invoke({"memory_id": bob_id})
    assert memory.get(bob_id).memory == "Bob's secret"


def test_ids_are_hidden_without_delete_and_budget_is_respected(
    binding: MemoryBinding, memory: Memory
) -> None:
    for i in range(30):
        memory.add(f"fact number {i} about gardening and tomatoes", user_id="ann", infer=False)
    tools = {t.name: t for t in memory_tools(binding, token_budget=120)}
    found = tools["search_memory"].invoke({"query": "gardening tomatoes", "limit": 30})
    assert "Memory ids" not in found
    assert 0 < block_of(found).count("- [") < 30
    deleting = {t.name: t for t in memory_tools(binding, token_budget=120, allow_delete=True)}
    found = deleting["search_memory"].invoke({"query": "gardening tomatoes", "limit": 30})
    ids = shown_ids(found)
    assert len(ids) == block_of(found).count("- [")
    assert ids  # the budget leaves room for some lines (an empty block would prove nothing)
    assert [memory.get(i).memory for i in ids] == unquote_block(block_of(found))


def test_tool_arguments_are_validated(binding: MemoryBinding) -> None:
    tools = {t.name: t for t in memory_tools(binding)}
    with pytest.raises(Exception, match="content"):
        tools["save_memory"].invoke({"content": ""})
    with pytest.raises(Exception, match="limit"):
        tools["search_memory"].invoke({"query": "x", "limit": 0})
    assert tools["save_memory"].invoke({"content": "   "}) == (
        "Nothing to save: the content was empty."
    )
    with pytest.raises(ValidationError):
        memory_tools("not a binding")  # type: ignore[arg-type]


def test_async_tools(binding: MemoryBinding) -> None:
    tools = {t.name: t for t in memory_tools(binding, allow_delete=True)}

    async def scenario() -> tuple[str, str, str]:
        await tools["save_memory"].ainvoke({"content": "The user plays the cello"})
        found = await tools["search_memory"].ainvoke({"query": "cello"})
        listed = await tools["list_memories"].ainvoke({"limit": 5})
        gone = await tools["delete_memory"].ainvoke({"memory_id": shown_ids(listed)[0]})
        return found, listed, gone

    found, listed, gone = asyncio.run(scenario())
    assert "cello" in block_of(found)
    assert "cello" in block_of(listed)
    assert gone.startswith("Deleted memory")


# -- retriever ------------------------------------------------------------------------------


def test_documents_carry_id_score_times_and_scope(memory: Memory) -> None:
    memory.add(
        "Ann likes jazz",
        user_id="ann",
        agent_id="dj",
        metadata={"src": "chat"},
        categories=["music"],
        infer=False,
    )
    (doc,) = MnemoweaveRetriever(MemoryBinding(memory, user_id="ann"), limit=3).invoke("jazz")
    assert doc.page_content == "Ann likes jazz"
    meta = doc.metadata
    assert doc.id == meta["id"]
    assert memory.get(meta["id"]).memory == "Ann likes jazz"
    assert isinstance(meta["score"], float)
    assert meta["created_at"].endswith("+00:00")
    assert meta["updated_at"] == meta["created_at"]
    assert (meta["user_id"], meta["agent_id"], "run_id" in meta) == ("ann", "dj", False)
    assert meta["categories"] == ["music"]
    assert meta["metadata"] == {"src": "chat"}


def test_retriever_filters_limit_and_validation(memory: Memory) -> None:
    for i in range(6):
        memory.add(f"note {i} on rust", user_id="ann", metadata={"n": i}, infer=False)
    binding = MemoryBinding(memory, user_id="ann")
    assert len(MnemoweaveRetriever(binding, limit=2).invoke("rust")) == 2
    odd = MnemoweaveRetriever(binding, filters={"n": {"in": [1, 3, 5]}}, limit=10).invoke("rust")
    assert sorted(d.metadata["metadata"]["n"] for d in odd) == [1, 3, 5]
    assert MnemoweaveRetriever(binding).invoke("   ") == []
    with pytest.raises(ValidationError):
        MnemoweaveRetriever(binding, limit=0)
    with pytest.raises(Exception):  # noqa: B017 - pydantic rejects a non-binding
        MnemoweaveRetriever("nope")  # type: ignore[arg-type]


def test_retriever_takes_k_limit_and_filters_per_call(memory: Memory) -> None:
    for i in range(6):
        memory.add(f"note {i} on rust", user_id="ann", metadata={"n": i}, infer=False)
    retriever = MnemoweaveRetriever(MemoryBinding(memory, user_id="ann"))
    assert len(retriever.invoke("rust")) == 5  # the binding's recall_limit
    assert len(retriever.invoke("rust", limit=1)) == 1
    assert len(retriever.invoke("rust", k=3)) == 3
    assert len(asyncio.run(retriever.ainvoke("rust", k=2))) == 2
    assert len(MnemoweaveRetriever(MemoryBinding(memory, user_id="ann"), k=4).invoke("rust")) == 4
    odd = MnemoweaveRetriever(
        MemoryBinding(memory, user_id="ann"), filters={"n": {"in": [1, 3, 5]}}, limit=10
    )
    both = odd.invoke("rust", filters={"n": {"gt": 2}})  # ANDed with the retriever's own
    assert sorted(d.metadata["metadata"]["n"] for d in both) == [3, 5]
    with pytest.raises(ValidationError):
        retriever.invoke("rust", k=0)
    with pytest.raises(ValidationError):
        retriever.invoke("rust", k=1, limit=2)
    with pytest.raises(ValidationError, match="unknown retriever options"):
        retriever.invoke("rust", top_n=2)


def test_add_documents_keeps_metadata_and_rejects_junk(memory: Memory) -> None:
    retriever = MnemoweaveRetriever(MemoryBinding(memory, user_id="ann", metadata={"app": "x"}))
    ids = retriever.add_documents([Document("Doc one", metadata={"page": 1}), Document("Doc two")])
    assert [memory.get(i).metadata for i in ids] == [{"app": "x", "page": 1}, {"app": "x"}]
    assert retriever.add_documents([]) == []
    with pytest.raises(ValidationError):
        retriever.add_documents(["plain text"])  # type: ignore[list-item]
    with pytest.raises(ValidationError):
        retriever.add_documents([Document("bad", metadata={"when": object()})])


def test_retriever_in_an_lcel_chain(memory: Memory) -> None:
    memory.add("Ann's dog is called Pixel", user_id="ann", infer=False)
    retriever = MnemoweaveRetriever(MemoryBinding(memory, user_id="ann"))
    prompt = ChatPromptTemplate.from_messages(
        [("system", "Known facts:\n{facts}"), ("human", "{question}")]
    )
    seen: list[Any] = []
    model = FakeListChatModel(responses=["Pixel!"])
    chain = (
        {
            "facts": RunnableLambda(lambda x: x["question"])
            | retriever
            | RunnableLambda(lambda docs: "\n".join(d.page_content for d in docs)),
            "question": RunnableLambda(lambda x: x["question"]),
        }
        | prompt
        | RunnableLambda(lambda p: seen.append(p.to_messages()) or p)
        | model
    )
    assert chain.invoke({"question": "What is my dog called?"}).content == "Pixel!"
    assert "Ann's dog is called Pixel" in seen[0][0].content


# -- chat history ---------------------------------------------------------------------------


@pytest.fixture
def quiet() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*deprecated.*")
        yield


@pytest.mark.usefixtures("quiet")
def test_history_window_memories_and_session_clear(memory: Memory) -> None:
    binding = MemoryBinding(memory, user_id="ann")
    s1 = MnemoweaveChatMessageHistory(binding, session_id="s1")
    s2 = MnemoweaveChatMessageHistory(binding, session_id="s2")
    s1.add_messages([HumanMessage("I am training for a marathon"), AIMessage("Great goal!")])
    s1.add_messages([ToolMessage("tool noise", tool_call_id="t1"), SystemMessage("be brief")])
    s2.add_messages([HumanMessage("Other session")])
    assert [(type(m).__name__, m.content) for m in s1.messages] == [
        ("HumanMessage", "I am training for a marathon"),
        ("AIMessage", "Great goal!"),
        ("SystemMessage", "be brief"),
    ]
    assert [m.content for m in s2.messages] == ["Other session"]
    # Each turn was remembered long-term under the user, findable from any session.
    hits = [r.memory for r in memory.search("marathon", user_id="ann").results]
    assert "I am training for a marathon" in hits
    assert "tool noise" not in [r.memory for r in memory.get_all(user_id="ann").results]
    s1.clear()
    assert s1.messages == []
    assert [m.content for m in s2.messages] == ["Other session"]
    assert memory.count(user_id="ann") == 3  # clear() kept the memories


@pytest.mark.usefixtures("quiet")
def test_history_options_and_async(memory: Memory) -> None:
    binding = MemoryBinding(memory, user_id="ann", run_id="chat")
    window_only = MnemoweaveChatMessageHistory(binding, remember=False, window=2)
    window_only.add_messages([HumanMessage("one"), AIMessage("two"), HumanMessage("three")])
    assert [m.content for m in window_only.messages] == ["two", "three"]
    assert memory.count(user_id="ann") == 0
    background = MnemoweaveChatMessageHistory(binding.with_scope(run_id="bg"), background=True)

    async def scenario() -> list[str]:
        await background.aadd_messages([HumanMessage("queued turn")])
        background.flush()
        await background.aclear()
        await background.aadd_messages([HumanMessage("later turn")])
        background.flush()
        return [m.content for m in await background.aget_messages()]

    assert asyncio.run(scenario()) == ["later turn"]
    assert memory.count(user_id="ann", run_id="bg") == 2
    with pytest.raises(ValidationError):
        MnemoweaveChatMessageHistory(binding, window=0)


@pytest.mark.usefixtures("quiet")
def test_history_with_runnable_with_message_history(memory: Memory) -> None:
    from langchain_core.runnables.history import RunnableWithMessageHistory

    binding = MemoryBinding(memory, user_id="ann")
    received: list[list[Any]] = []
    model = FakeListChatModel(responses=["Nice to meet you, Ann.", "You are Ann."])
    prompt = ChatPromptTemplate.from_messages(
        [MessagesPlaceholder("history"), ("human", "{input}")]
    )
    chain = prompt | RunnableLambda(lambda p: received.append(p.to_messages()) or p) | model
    with_history = RunnableWithMessageHistory(
        chain,
        lambda session_id: MnemoweaveChatMessageHistory(binding, session_id=session_id),
        input_messages_key="input",
        history_messages_key="history",
    )
    config = {"configurable": {"session_id": "s1"}}
    with_history.invoke({"input": "Hi, I'm Ann"}, config=config)
    reply = with_history.invoke({"input": "Who am I?"}, config=config)
    assert reply.content == "You are Ann."
    assert [m.content for m in received[1]] == [
        "Hi, I'm Ann",
        "Nice to meet you, Ann.",
        "Who am I?",
    ]
    assert memory.count(user_id="ann", run_id="s1") == 4


@pytest.mark.usefixtures("quiet")
def test_history_turns_become_extracted_facts(tmp_path: Any) -> None:
    """With an LLM configured, each turn added to the history is distilled into facts."""
    with ScriptedOpenAIServer() as server:
        server.script({"operations": [{"op": "ADD", "id": None, "text": "Runs marathons"}]})
        llm = {"model": "m", "base_url": server.base_url, "api_key": "k"}
        with Memory(tmp_path / "llm-store", embedder="hash", llm=llm) as memory:
            history = MnemoweaveChatMessageHistory(
                MemoryBinding(memory, user_id="ann"), session_id="s1"
            )
            history.add_messages([HumanMessage("I run marathons"), AIMessage("Impressive!")])
            assert [m.content for m in history.messages] == ["I run marathons", "Impressive!"]
            assert [r.memory for r in memory.get_all(user_id="ann").results] == ["Runs marathons"]
        prompt = str(server.chat_requests[0].body)
        assert "I run marathons" in prompt
        assert "Impressive!" in prompt
