"""LangMem on MnemoweaveStore with LangMem's defaults: its tools inside a create_agent agent
and its memory manager, driven by LangChain's fake chat model. Memories land in the user's
own mnemoweave scope as readable text, visible to every other mnemoweave adapter.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import Field

pytest.importorskip("langmem")

from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langmem import (
    create_manage_memory_tool,
    create_memory_store_manager,
    create_search_memory_tool,
)

from mnemoweave import Memory
from mnemoweave_adapters import MemoryBinding
from mnemoweave_langchain import MnemoweaveRetriever, MnemoweaveStore

NAMESPACE = ("memories", "{langgraph_user_id}")  # LangMem's documented default


class ToolModel(GenericFakeChatModel):
    """The fake chat model, tool-capable, recording what it was sent."""

    received: list[list[BaseMessage]] = Field(default_factory=list)

    def bind_tools(self, tools: Any, **kwargs: Any) -> ToolModel:
        return self

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Any:
        self.received.append(list(messages))
        return super()._generate(messages, *args, **kwargs)


def model(*replies: AIMessage | str) -> ToolModel:
    return ToolModel(messages=iter(replies), received=[])


def call(name: str, **args: Any) -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": f"{name}-1"}])


def user(uid: str) -> dict[str, Any]:
    return {"configurable": {"langgraph_user_id": uid}}


def ask(agent: Any, text: str, uid: str) -> list[ToolMessage]:
    out = agent.invoke({"messages": [{"role": "user", "content": text}]}, config=user(uid))
    return [m for m in out["messages"] if isinstance(m, ToolMessage)]


def langmem_agent(store: MnemoweaveStore, *replies: AIMessage | str) -> Any:
    tools = [
        create_manage_memory_tool(namespace=NAMESPACE, store=store),
        create_search_memory_tool(namespace=NAMESPACE, store=store),
    ]
    return create_agent(model(*replies), tools=tools, store=store)


def test_langmem_tools_with_default_namespace_use_the_users_scope(memory: Memory) -> None:
    store = MnemoweaveStore(memory)  # no users_root / index settings needed
    agent = langmem_agent(
        store, call("manage_memory", content="Alex is vegetarian", action="create"), "Noted."
    )
    ask(agent, "I'm vegetarian", "alex")
    other = langmem_agent(
        store, call("manage_memory", content="Bob loves steak", action="create"), "Noted."
    )
    ask(other, "I love steak", "bob")

    # LangMem's content is the memory text, in user alex's own scope.
    assert [r.memory for r in memory.search("vegetarian", user_id="alex").results] == [
        "Alex is vegetarian"
    ]
    assert [r.memory for r in memory.get_all(user_id="bob").results] == ["Bob loves steak"]
    retriever = MnemoweaveRetriever(MemoryBinding(memory, user_id="alex"))
    assert [d.page_content for d in retriever.invoke("vegetarian")] == ["Alex is vegetarian"]

    reader = langmem_agent(store, call("search_memory", query="diet"), "You are vegetarian.")
    (found,) = ask(reader, "What do I eat?", "alex")
    assert "Alex is vegetarian" in found.content
    assert "steak" not in found.content

    # Update and delete by LangMem's id (the item key) keep working in the same scope.
    (item,) = store.search(("memories", "alex"))
    assert item.value == {"content": "Alex is vegetarian"}
    editor = langmem_agent(
        store,
        call("manage_memory", content="Alex is vegan", action="update", id=item.key),
        "Updated.",
    )
    ask(editor, "I'm vegan now", "alex")
    (row,) = memory.get_all(user_id="alex").results
    assert row.memory == "Alex is vegan"
    assert [h.new_memory for h in memory.history(row.id)][-1] == "Alex is vegan"
    remover = langmem_agent(
        store, call("manage_memory", action="delete", id=item.key), "Forgotten."
    )
    ask(remover, "Forget my diet", "alex")
    assert memory.count(user_id="alex") == 0
    assert memory.count(user_id="bob") == 1


def test_langmem_memory_manager_writes_readable_user_memories(memory: Memory) -> None:
    store = MnemoweaveStore(memory)
    extractor = model(call("Memory", content="Alex's sister is called Ines"))
    manager = create_memory_store_manager(extractor, namespace=NAMESPACE, store=store)
    conversation = {"messages": [{"role": "user", "content": "My sister Ines visits soon"}]}
    (written,) = manager.invoke(conversation, config=user("alex"))
    assert written["namespace"] == ("memories", "alex")
    assert written["value"] == {
        "kind": "Memory",
        "content": {"content": "Alex's sister is called Ines"},
    }
    assert [r.memory for r in memory.search("sister", user_id="alex").results] == [
        "Alex's sister is called Ines"
    ]
    assert memory.count(user_id="bob") == 0

    # The async path, for another user: no mixing, the manager's search sees only alex's.
    async_extractor = model(call("Memory", content="Bob plays chess"))
    other = create_memory_store_manager(async_extractor, namespace=NAMESPACE, store=store)
    asyncio.run(
        other.ainvoke(
            {"messages": [{"role": "user", "content": "I play chess"}]}, config=user("bob")
        )
    )
    assert [r.memory for r in memory.get_all(user_id="bob").results] == ["Bob plays chess"]
    assert "Ines" not in str(async_extractor.received)
    assert [r.memory for r in memory.get_all(user_id="alex").results] == [
        "Alex's sister is called Ines"
    ]
