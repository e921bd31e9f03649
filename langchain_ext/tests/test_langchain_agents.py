"""End to end through the real frameworks: create_agent with the memory tools and the
middleware, and a compiled LangGraph StateGraph on MnemoweaveStore. Models are LangChain's own
GenericFakeChatModel, scripted with tool-calling messages; nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

import pytest
from pydantic import Field

pytest.importorskip("langchain.agents")

from langchain.agents import create_agent
from langchain.tools import ToolRuntime, tool
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, SystemMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from mnemoweave import Memory
from mnemoweave.testing import ScriptedOpenAIServer
from mnemoweave_adapters import CLOSE_TAG, OPEN_TAG, MemoryBinding, unquote_block
from mnemoweave_adapters.contract import AdapterContractTests
from mnemoweave_langchain import (
    MissingUserError,
    MnemoweaveMiddleware,
    MnemoweaveStore,
    memory_tools,
)


class ScriptedModel(GenericFakeChatModel):
    """LangChain's fake chat model, made tool-capable, recording every prompt it receives."""

    received: list[list[BaseMessage]] = Field(default_factory=list)

    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedModel:
        return self

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Any:
        self.received.append(list(messages))
        return super()._generate(messages, *args, **kwargs)


def scripted(*replies: AIMessage | str, repeat: bool = False) -> ScriptedModel:
    stream: Iterable[AIMessage | str] = itertools.cycle(replies) if repeat else iter(replies)
    return ScriptedModel(messages=iter(stream), received=[])


def call(name: str, call_id: str, **args: Any) -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": call_id}])


def system_text(messages: list[BaseMessage]) -> str:
    return "\n".join(str(m.content) for m in messages if isinstance(m, SystemMessage))


# -- contract: middleware -------------------------------------------------------------------


@dataclass
class AgentDriver:
    """A writer agent (recalls and remembers) and a reader (recalls only) on one binding."""

    writer: Any
    reader: Any
    model: ScriptedModel


class TestMiddlewareContract(AdapterContractTests):
    has_async = True
    entry_point = "langchain"
    background = True

    def make_adapter(self, memory: Memory, *, user_id: str) -> AgentDriver:
        binding = MemoryBinding(memory, user_id=user_id)
        model = scripted("Noted.", repeat=True)
        writer = MnemoweaveMiddleware(binding, background=self.background)
        reader = MnemoweaveMiddleware(binding, remember=False)
        return AgentDriver(
            create_agent(model, tools=[], middleware=[writer]),
            create_agent(model, tools=[], middleware=[reader]),
            model,
        )

    def make_input(self, text: str) -> Any:
        return {"messages": [{"role": "user", "content": text}]}

    def remember(self, adapter: AgentDriver, payload: Any) -> None:
        adapter.writer.invoke(payload)

    def recall(self, adapter: AgentDriver, query: str) -> str:
        adapter.reader.invoke({"messages": [{"role": "user", "content": query}]})
        return system_text(adapter.model.received[-1])

    async def aremember(self, adapter: AgentDriver, payload: Any) -> None:
        await adapter.writer.ainvoke(payload)

    async def arecall(self, adapter: AgentDriver, query: str) -> str:
        await adapter.reader.ainvoke({"messages": [{"role": "user", "content": query}]})
        return system_text(adapter.model.received[-1])


class TestForegroundMiddlewareContract(TestMiddlewareContract):
    """after_agent waiting for the add must satisfy the contract too."""

    background = False


# -- create_agent + memory tools ------------------------------------------------------------


def test_agent_saves_then_a_fresh_agent_recalls(tmp_path: Path) -> None:
    store_dir = tmp_path / "shared"
    first_memory = Memory(store_dir, embedder="hash")
    model = scripted(
        call("save_memory", "c1", content="The user's favourite tea is oolong"),
        "I'll remember that.",
    )
    agent = create_agent(model, tools=memory_tools(MemoryBinding(first_memory, user_id="ann")))
    agent.invoke({"messages": [{"role": "user", "content": "Remember: I love oolong tea."}]})
    first_memory.close()

    second_memory = Memory(store_dir, embedder="hash")  # a new process would do the same
    model = scripted(call("search_memory", "c2", query="favourite tea"), "You like oolong.")
    agent = create_agent(model, tools=memory_tools(MemoryBinding(second_memory, user_id="ann")))
    out = agent.invoke({"messages": [{"role": "user", "content": "Which tea do I like?"}]})
    tool_results = [m for m in out["messages"] if isinstance(m, ToolMessage)]
    assert len(tool_results) == 1
    assert unquote_block(tool_results[0].content) == ["The user's favourite tea is oolong"]
    # The model's second call saw the recalled fact as the tool result.
    assert "oolong" in model.received[1][-1].content
    assert out["messages"][-1].content == "You like oolong."

    other = create_agent(
        scripted(call("search_memory", "c3", query="favourite tea"), "No idea."),
        tools=memory_tools(MemoryBinding(second_memory, user_id="bob")),
    )
    out = other.invoke({"messages": [{"role": "user", "content": "Which tea do I like?"}]})
    assert "oolong" not in str([m.content for m in out["messages"]])
    second_memory.close()


def test_agent_tools_run_async(memory: Memory) -> None:
    model = scripted(
        call("save_memory", "a1", content="The user's bike is red"),
        call("list_memories", "a2"),
        "Done.",
    )
    agent = create_agent(model, tools=memory_tools(MemoryBinding(memory, user_id="ann")))
    out = asyncio.run(agent.ainvoke({"messages": [{"role": "user", "content": "My bike is red"}]}))
    listed = [m.content for m in out["messages"] if isinstance(m, ToolMessage)][-1]
    assert unquote_block(listed) == ["The user's bike is red"]


def tool_results(out: dict[str, Any]) -> list[ToolMessage]:
    return [m for m in out["messages"] if isinstance(m, ToolMessage)]


def test_one_agent_keeps_each_users_tool_memories_apart(memory: Memory) -> None:
    """Tools follow runtime.context.user_id, as the middleware does: no tenant mixing."""
    model = scripted(
        call("save_memory", "s1", content="My locker code is 1234"),
        "Saved.",
        call("save_memory", "s2", content="My locker code is 9876"),
        "Saved.",
        call("search_memory", "q1", query="locker code"),
        "Your code is 1234.",
        call("list_memories", "q2"),
        "Listed.",
    )
    binding = MemoryBinding(memory, user_id="fallback")
    agent = create_agent(
        model,
        tools=memory_tools(binding, per_user=True),
        middleware=[MnemoweaveMiddleware(binding, remember=False, per_user=True)],
        context_schema=UserContext,
    )

    def ask(text: str, user: str) -> dict[str, Any]:
        return agent.invoke(
            {"messages": [{"role": "user", "content": text}]}, context=UserContext(user)
        )

    ask("Remember my locker code 1234", "ann")
    asyncio.run(
        agent.ainvoke(
            {"messages": [{"role": "user", "content": "Remember my code 9876"}]},
            context=UserContext("bob"),
        )
    )
    assert [r.memory for r in memory.get_all(user_id="ann").results] == ["My locker code is 1234"]
    assert [r.memory for r in memory.get_all(user_id="bob").results] == ["My locker code is 9876"]
    assert memory.count(user_id="fallback") == 0

    found = tool_results(ask("What is my locker code?", "ann"))
    assert unquote_block(found[0].content) == ["My locker code is 1234"]
    # The middleware recalled from the same scope for that run.
    assert unquote_block(system_text(model.received[-1])) == ["My locker code is 1234"]
    listed = tool_results(ask("List what you know", "bob"))
    assert unquote_block(listed[0].content) == ["My locker code is 9876"]


def test_per_user_agent_without_a_user_refuses_tool_calls(memory: Memory) -> None:
    model = scripted(call("save_memory", "s1", content="Secret plan"), "Could not save.")
    binding = MemoryBinding(memory, user_id="fallback")
    agent = create_agent(model, tools=memory_tools(binding, per_user=True))
    out = agent.invoke({"messages": [{"role": "user", "content": "Remember my plan"}]})
    [result] = tool_results(out)
    assert result.status == "error"
    assert "no user_id in its context" in result.content
    assert memory.count(user_id="fallback") == 0
    # The refusal reached the model as the tool result.
    assert "no user_id" in str(model.received[-1][-1].content)

    guarded = create_agent(
        scripted("hi"),
        tools=[],
        middleware=[MnemoweaveMiddleware(binding, per_user=True)],
    )
    with pytest.raises(MissingUserError):
        guarded.invoke({"messages": [{"role": "user", "content": "hello"}]})


def test_tools_without_per_user_follow_the_context_and_fall_back_to_the_binding(
    memory: Memory,
) -> None:
    model = scripted(
        call("save_memory", "s1", content="Likes jazz"),
        "ok",
        call("save_memory", "s2", content="Likes opera"),
        "ok",
    )
    agent = create_agent(model, tools=memory_tools(MemoryBinding(memory, user_id="fallback")))
    agent.invoke({"messages": [{"role": "user", "content": "jazz"}]}, context={"user_id": "cy"})
    agent.invoke({"messages": [{"role": "user", "content": "opera"}]})
    assert [r.memory for r in memory.get_all(user_id="cy").results] == ["Likes jazz"]
    assert [r.memory for r in memory.get_all(user_id="fallback").results] == ["Likes opera"]


# -- LangGraph StateGraph + MnemoweaveStore ---------------------------------------------------


@dataclass
class UserContext:
    user_id: str


class NoteState(TypedDict, total=False):
    note: str
    question: str
    answer: list[str]


def build_graph(store: MnemoweaveStore) -> Any:
    def write(state: NoteState, runtime: Runtime[UserContext]) -> NoteState:
        if state.get("note"):
            namespace = ("users", runtime.context.user_id, "notes")
            runtime.store.put(namespace, "latest", {"text": state["note"]})
        return {}

    def read(state: NoteState, runtime: Runtime[UserContext]) -> NoteState:
        if not state.get("question"):
            return {}
        hits = runtime.store.search(("users", runtime.context.user_id), query=state["question"])
        return {"answer": [hit.value["text"] for hit in hits]}

    graph = StateGraph(NoteState, context_schema=UserContext)
    graph.add_node("write", write)
    graph.add_node("read", read)
    graph.add_edge(START, "write")
    graph.add_edge("write", "read")
    graph.add_edge("read", END)
    return graph.compile(store=store)


def test_state_graph_reads_what_an_earlier_run_put(tmp_path: Path) -> None:
    first = Memory(tmp_path / "graph", embedder="hash")
    build_graph(MnemoweaveStore(first, index={"fields": ["text"]})).invoke(
        {"note": "Ann's flight to Oslo leaves on Friday"}, context=UserContext("ann")
    )
    first.close()

    second = Memory(tmp_path / "graph", embedder="hash")
    graph = build_graph(MnemoweaveStore(second, index={"fields": ["text"]}))
    out = graph.invoke({"question": "When is the Oslo flight?"}, context=UserContext("ann"))
    assert out["answer"] == ["Ann's flight to Oslo leaves on Friday"]
    other = graph.invoke({"question": "When is the Oslo flight?"}, context=UserContext("bob"))
    assert other["answer"] == []
    out = asyncio.run(graph.ainvoke({"question": "Oslo"}, context=UserContext("ann")))
    assert out["answer"] == ["Ann's flight to Oslo leaves on Friday"]
    second.close()


def test_create_agent_store_is_reachable_from_tools(memory: Memory) -> None:
    """The same MnemoweaveStore given to create_agent(store=...) is the runtime store."""

    @tool
    def remember_city(city: str, runtime: ToolRuntime) -> str:
        """Remember the user's city."""
        runtime.store.put(("users", "ann", "profile"), "city", {"text": city})
        return "ok"

    store = MnemoweaveStore(memory, index={"fields": ["text"]})
    model = scripted(call("remember_city", "t1", city="Porto"), "Saved.")
    create_agent(model, tools=[remember_city], store=store).invoke(
        {"messages": [{"role": "user", "content": "I live in Porto"}]}
    )
    assert store.get(("users", "ann", "profile"), "city").value == {"text": "Porto"}
    assert [r.memory for r in memory.search("Porto", user_id="ann").results] == ["Porto"]


# -- create_agent + MnemoweaveMiddleware ------------------------------------------------------


def test_middleware_injects_recall_and_remembers_the_exchange(memory: Memory) -> None:
    memory.add("Ann is allergic to peanuts", user_id="ann", infer=False)
    memory.add("Bob is allergic to shellfish", user_id="bob", infer=False)
    model = scripted("Avoid peanuts.", "Anything else?", repeat=True)
    agent = create_agent(
        model,
        tools=[],
        system_prompt="You are a cooking assistant.",
        middleware=[MnemoweaveMiddleware(MemoryBinding(memory, user_id="ann"))],
        checkpointer=InMemorySaver(),
    )
    config = {"configurable": {"thread_id": "t1"}}
    out = agent.invoke(
        {"messages": [{"role": "user", "content": "What allergy should I watch for?"}]},
        config=config,
    )
    system = model.received[0][0]
    assert isinstance(system, SystemMessage)
    assert system.content.startswith("You are a cooking assistant.\n\n" + OPEN_TAG)
    assert unquote_block(system.content) == ["Ann is allergic to peanuts"]
    # The block reached the model only: the conversation state holds no trace of it.
    assert all(OPEN_TAG not in str(m.content) for m in out["messages"])
    assert "mnemoweave_recall" not in out
    memory.flush()
    # Without an LLM the kit's raw-storage policy keeps the bare question and the reply out
    # of the memories (tests for the policy: test_middleware_raw_policy.py); the exchange is
    # still in the scope's message window.
    texts = {r.memory for r in memory.get_all(user_id="ann").results}
    assert texts == {"Ann is allergic to peanuts"}
    window = [m["content"] for m in memory.get_messages(user_id="ann")]
    assert window[-2:] == ["What allergy should I watch for?", "Avoid peanuts."]

    # The next turn recalls for the latest human message, including the stored exchange.
    agent.invoke({"messages": [{"role": "user", "content": "peanuts again?"}]}, config=config)
    recalled = unquote_block(system_text(model.received[-1]))
    assert "Ann is allergic to peanuts" in recalled
    assert "Bob is allergic to shellfish" not in recalled
    assert [m.type for m in model.received[-1]] == ["system", "human", "ai", "human"]
    assert system_text(model.received[-1]).count(OPEN_TAG) == 1


def test_middleware_recalls_before_every_model_call_in_a_tool_loop(memory: Memory) -> None:
    memory.add("Ann's budget is 40 euros", user_id="ann", infer=False)
    model = scripted(call("search_memory", "s1", query="budget"), "Under 40 euros then.")
    binding = MemoryBinding(memory, user_id="ann")
    agent = create_agent(
        model,
        tools=memory_tools(binding),
        middleware=[MnemoweaveMiddleware(binding, remember=False)],
    )
    agent.invoke({"messages": [{"role": "user", "content": "What is my budget?"}]})
    assert len(model.received) == 2
    for prompt in model.received:
        assert unquote_block(system_text(prompt)) == ["Ann's budget is 40 euros"]
    assert memory.count(user_id="ann") == 1  # remember=False stored nothing


def test_middleware_scope_comes_from_the_run_context(memory: Memory) -> None:
    memory.add("Cy likes sushi", user_id="cy", infer=False)
    memory.add("Default user likes pizza", user_id="default", infer=False)
    model = scripted("ok", repeat=True)
    agent = create_agent(
        model,
        tools=[],
        middleware=[
            MnemoweaveMiddleware(MemoryBinding(memory, user_id="default"), background=False)
        ],
        context_schema=UserContext,
    )
    agent.invoke(
        {"messages": [{"role": "user", "content": "food I like"}]}, context=UserContext("cy")
    )
    assert unquote_block(system_text(model.received[-1])) == ["Cy likes sushi"]
    assert memory.count(user_id="cy") == 2  # the reply "ok" is small talk (raw-storage policy)
    assert memory.count(user_id="default") == 1
    asyncio.run(agent.ainvoke({"messages": [{"role": "user", "content": "food I like"}]}))
    assert "Default user likes pizza" in unquote_block(system_text(model.received[-1]))


def test_middleware_without_memories_adds_nothing(memory: Memory) -> None:
    model = scripted("hello", repeat=True)
    agent = create_agent(
        model,
        tools=[],
        middleware=[
            MnemoweaveMiddleware(
                MemoryBinding(memory, user_id="ann"), recall=False, background=False
            )
        ],
    )
    memory.add("Ann likes tea", user_id="ann", infer=False)
    agent.invoke({"messages": [{"role": "user", "content": "tea?"}]})
    assert not any(isinstance(m, SystemMessage) for m in model.received[-1])
    assert memory.count(user_id="ann") == 1  # "tea?" and "hello": nothing to keep verbatim
    fresh = create_agent(
        model,
        tools=[],
        middleware=[MnemoweaveMiddleware(MemoryBinding(memory, user_id="nobody"))],
    )
    fresh.invoke({"messages": [{"role": "user", "content": "tea?"}]})
    assert not any(isinstance(m, SystemMessage) for m in model.received[-1])
    assert CLOSE_TAG not in str(model.received[-1])


def test_middleware_extracts_facts_with_an_llm(tmp_path: Path) -> None:
    """With an LLM on the Memory, after_agent turns the exchange into facts, not raw turns."""
    with ScriptedOpenAIServer() as server:
        server.script(
            {"operations": [{"op": "ADD", "id": None, "text": "Owns a cat, Miso"}]},
            {"operations": []},  # the second exchange teaches nothing new
        )
        llm = {"model": "m", "base_url": server.base_url, "api_key": "k"}
        with Memory(tmp_path / "llm-store", embedder="hash", llm=llm) as memory:
            model = scripted("What a lovely name!", "Miso, of course.")
            agent = create_agent(
                model,
                tools=[],
                middleware=[MnemoweaveMiddleware(MemoryBinding(memory, user_id="ann"))],
            )
            agent.invoke({"messages": [{"role": "user", "content": "My cat is called Miso"}]})
            memory.flush()
            assert [r.memory for r in memory.get_all(user_id="ann").results] == ["Owns a cat, Miso"]
            agent.invoke({"messages": [{"role": "user", "content": "What is my cat called?"}]})
            assert unquote_block(system_text(model.received[-1])) == ["Owns a cat, Miso"]
        prompt = str(server.chat_requests[0].body)
        assert "My cat is called Miso" in prompt
        assert "What a lovely name!" in prompt
