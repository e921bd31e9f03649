"""AG2 classic adapter: the contract suite and real ConversableAgent chats on a fake model."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from autogen import ConversableAgent

import mnemoweave_adapters.ag2 as ag2_adapter
from mnemoweave import AsyncMemory, Memory
from mnemoweave.errors import ValidationError
from mnemoweave.testing import WriteGate
from mnemoweave_adapters import OPEN_TAG, MemoryBinding, unquote_block
from mnemoweave_adapters.ag2 import MnemoweaveCapability
from mnemoweave_adapters.contract import AdapterContractTests

LLM_CONFIG = {
    "config_list": [{"model": "fake", "model_client_cls": "FakeModelClient", "api_key": "x"}],
    "cache_seed": None,
}


class FakeModelClient:
    """A model client for AG2's ``register_model_client``: records prompts, answers from memory."""

    def __init__(self, config: dict[str, Any], *, calls: list[list[dict[str, Any]]]) -> None:
        self.calls = calls

    def create(self, params: dict[str, Any]) -> Any:
        messages = [dict(m) for m in params["messages"]]
        self.calls.append(messages)
        facts = [fact for block in blocks_in(messages) for fact in unquote_block(block)]
        answer = "From memory: " + " | ".join(facts) if facts else "Noted."
        message = SimpleNamespace(
            role="assistant", content=answer, tool_calls=None, function_call=None
        )
        return SimpleNamespace(choices=[SimpleNamespace(message=message)], model="fake", cost=0.0)

    def message_retrieval(self, response: Any) -> list[str]:
        return [choice.message.content for choice in response.choices]

    def cost(self, response: Any) -> float:
        return 0.0

    @staticmethod
    def get_usage(response: Any) -> dict[str, Any]:
        keys = ("prompt_tokens", "completion_tokens", "total_tokens", "cost")
        return {**dict.fromkeys(keys, 0), "model": "fake"}


def blocks_in(messages: list[dict[str, Any]]) -> list[str]:
    return [
        m["content"]
        for m in messages
        if m.get("role") == "system" and str(m.get("content", "")).startswith(OPEN_TAG)
    ]


def assistant(calls: list[list[dict[str, Any]]], name: str = "assistant") -> ConversableAgent:
    agent = ConversableAgent(
        name, llm_config=LLM_CONFIG, human_input_mode="NEVER", code_execution_config=False
    )
    agent.register_model_client(FakeModelClient, calls=calls)
    return agent


def user_proxy() -> ConversableAgent:
    return ConversableAgent(
        "alex", llm_config=False, human_input_mode="NEVER", code_execution_config=False
    )


class Harness:
    """An assistant with the capability attached, chatted with by a model-less user proxy.

    ``ask`` chats with a second assistant whose capability shares the binding but only
    recalls, so asking never adds memories that a later question would then recall.
    """

    def __init__(self, capability: MnemoweaveCapability) -> None:
        self.capability = capability
        self.calls: list[list[dict[str, Any]]] = []
        self.agent = assistant(self.calls)
        capability.add_to_agent(self.agent)
        self.reader = assistant(self.calls, name="reader")
        MnemoweaveCapability(capability.binding, remember_roles=()).add_to_agent(self.reader)
        self.user = user_proxy()

    def chat(self, message: Any) -> Any:
        return self.user.initiate_chat(self.agent, message=message, max_turns=1, silent=True)

    async def achat(self, message: Any) -> Any:
        return await self.user.a_initiate_chat(
            self.agent, message=message, max_turns=1, silent=True
        )

    def ask(self, question: str) -> str:
        self.user.initiate_chat(self.reader, message=question, max_turns=1, silent=True)
        return self.last_block()

    async def aask(self, question: str) -> str:
        await self.user.a_initiate_chat(self.reader, message=question, max_turns=1, silent=True)
        return self.last_block()

    def last_block(self) -> str:
        return "\n".join(blocks_in(self.calls[-1]))


# -- the contract suite ------------------------------------------------------------------------
class TestAg2Capability(AdapterContractTests):
    """Remember by telling the agent something in a chat; recall by asking in another chat.

    ``has_async``: the async twins are AG2's ``a_initiate_chat``, which runs the same hooks.
    """

    has_async = True
    supports_delete = True
    entry_point = "ag2"

    def make_adapter(self, memory: Memory, *, user_id: str) -> Harness:
        return Harness(MnemoweaveCapability(memory, user_id=user_id))

    def make_input(self, text: str) -> Any:
        return {"content": text}

    def remember(self, adapter: Harness, payload: Any) -> None:
        adapter.chat(payload)

    def recall(self, adapter: Harness, query: str) -> str:
        return adapter.ask(query)

    async def aremember(self, adapter: Harness, payload: Any) -> None:
        await adapter.achat(payload)

    async def arecall(self, adapter: Harness, query: str) -> str:
        return await adapter.aask(query)

    def forget_all(self, adapter: Harness) -> None:
        adapter.capability.clear()


class TestAg2CapabilityForeground(TestAg2Capability):
    """Writing before the reply is delivered satisfies the contract too."""

    def make_adapter(self, memory: Memory, *, user_id: str) -> Harness:
        binding = MemoryBinding(AsyncMemory.wrap(memory), user_id=user_id)
        return Harness(MnemoweaveCapability(binding, background=False))


# -- end to end ---------------------------------------------------------------------------------
def test_fact_told_in_chat_one_reaches_the_prompt_of_chat_two(tmp_path: Path) -> None:
    path = tmp_path / "ag2-store"

    first = MnemoweaveCapability(path, user_id="alex", embedder="hash")
    calls_one: list[list[dict[str, Any]]] = []
    agent_one = assistant(calls_one)
    first.add_to_agent(agent_one)
    user_proxy().initiate_chat(
        agent_one, message="My dog is called Rex and he loves frisbees.", max_turns=1, silent=True
    )
    first.flush()
    assert blocks_in(calls_one[0]) == []
    first.close()

    second = MnemoweaveCapability(path, user_id="alex", embedder="hash")
    calls_two: list[list[dict[str, Any]]] = []
    agent_two = assistant(calls_two)
    second.add_to_agent(agent_two)
    result = user_proxy().initiate_chat(
        agent_two, message="What is my dog called?", max_turns=1, silent=True
    )
    prompt = calls_two[0]
    [block] = blocks_in(prompt)
    assert "My dog is called Rex and he loves frisbees." in unquote_block(block)
    assert "Rex" in result.chat_history[-1]["content"]
    # The block sits before the question, after the agent's own system message.
    assert prompt[0]["content"] == agent_two.system_message
    assert prompt[-1]["content"] == "What is my dog called?"
    assert prompt[-2]["content"] == block
    # The block reached the model only: the agent's stored history never contains it.
    for history in agent_two.chat_messages.values():
        assert not any(OPEN_TAG in str(m.get("content")) for m in history)
    second.flush()
    remembered = second.binding.messages()
    assert [(m["role"], m.get("name")) for m in remembered[-2:]] == [
        ("user", "alex"),
        ("assistant", "assistant"),
    ]
    assert remembered[-1]["content"].startswith("From memory: ")
    second.close()


def test_an_empty_store_leaves_the_prompt_untouched(store: Memory) -> None:
    plain_calls: list[list[dict[str, Any]]] = []
    user_proxy().initiate_chat(assistant(plain_calls), message="Hi!", max_turns=2, silent=True)
    harness = Harness(MnemoweaveCapability(store, user_id="alex", remember_roles=()))
    harness.user.initiate_chat(harness.agent, message="Hi!", max_turns=2, silent=True)
    assert harness.calls == plain_calls
    assert store.count(user_id="alex") == 0


def test_capability_on_an_agent_without_a_model(store: Memory) -> None:
    """A model-less agent (a user proxy) keeps replying and its exchanges are remembered."""
    capability = MnemoweaveCapability(store, user_id="alex", background=False)
    proxy = ConversableAgent(
        "proxy",
        llm_config=False,
        human_input_mode="NEVER",
        code_execution_config=False,
        default_auto_reply="Proxy here, carry on.",
    )
    capability.add_to_agent(proxy)
    calls: list[list[dict[str, Any]]] = []
    result = assistant(calls).initiate_chat(
        proxy, message="I am the assistant, starting the chat", max_turns=2, silent=True
    )
    assert [m["content"] for m in result.chat_history][1] == "Proxy here, carry on."
    stored = [(m["role"], m["content"]) for m in capability.binding.messages()]
    assert stored[:2] == [
        ("user", "I am the assistant, starting the chat"),
        ("assistant", "Proxy here, carry on."),
    ]


def test_each_reply_remembers_only_the_new_exchange(store: Memory) -> None:
    capability = MnemoweaveCapability(store, user_id="alex", background=False)
    agent = assistant([])
    capability.add_to_agent(agent)
    proxy = user_proxy()
    proxy.initiate_chat(agent, message="I moved to Porto last year", max_turns=1, silent=True)
    proxy.send("And I adopted a cat", agent, request_reply=True, silent=True)
    stored = [(m["role"], m["content"]) for m in capability.binding.messages()]
    assert stored == [
        ("user", "I moved to Porto last year"),
        ("assistant", "Noted."),
        ("user", "And I adopted a cat"),
        ("assistant", "From memory: I moved to Porto last year"),
    ]
    # Without an LLM the kit's raw-storage policy stores the user's statements only: the
    # window (chat history) keeps every message, in order, but "Noted." is no memory.
    memories = sorted(i.memory for i in store.get_all(user_id="alex").results)
    assert memories == ["And I adopted a cat", "I moved to Porto last year"]


def test_remember_roles_and_recall_switches(store: Memory) -> None:
    only_user = Harness(MnemoweaveCapability(store, user_id="alex", remember_roles=["user"]))
    only_user.chat("I collect vinyl records")
    only_user.capability.flush()
    assert [m.memory for m in store.get_all(user_id="alex").results] == ["I collect vinyl records"]

    no_recall = MnemoweaveCapability(store, user_id="alex", recall=False, remember_roles=())
    harness = Harness(no_recall)
    harness.chat("Do I collect vinyl records?")
    assert harness.last_block() == ""
    assert all(not hooks for hooks in harness.agent.hook_lists.values())
    assert store.count(user_id="alex") == 1

    with pytest.raises(ValidationError, match="remember_roles"):
        MnemoweaveCapability(store, user_id="alex", remember_roles=["narrator"])


def test_users_never_see_each_other(store: Memory) -> None:
    alex = Harness(MnemoweaveCapability(store, user_id="alex"))
    alex.chat("My locker code is 4812")
    alex.capability.flush()
    sam = Harness(MnemoweaveCapability(store, user_id="sam"))
    sam.chat("What is my locker code 4812?")
    assert sam.last_block() == ""
    sam.capability.flush()
    assert all(m.user_id == "sam" for m in store.get_all(user_id="sam").results)


def test_block_goes_before_the_last_user_message_even_in_a_tool_exchange(store: Memory) -> None:
    store.add("The user's city is Lisbon", user_id="alex", infer=False)
    agent = assistant([])
    MnemoweaveCapability(store, user_id="alex").add_to_agent(agent)
    call = {"id": "c1", "type": "function", "function": {"name": "weather", "arguments": "{}"}}
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "Weather in my city Lisbon?", "name": "alex"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
    ]
    before = [dict(m) for m in messages]
    processed = agent.process_all_messages_before_reply(messages)
    assert messages == before  # the caller's list and dicts are untouched
    assert [m["role"] for m in processed] == ["system", "user", "assistant", "tool"]
    assert unquote_block(processed[0]["content"]) == ["The user's city is Lisbon"]
    # No user message with text: nothing to recall for, nothing injected.
    assert agent.process_all_messages_before_reply(messages[1:]) == messages[1:]
    empty: list[dict[str, Any]] = [{"role": "user", "content": ""}]
    assert agent.process_all_messages_before_reply(empty) == empty


def test_attaching_is_checked(store: Memory, tmp_path: Path) -> None:
    capability = MnemoweaveCapability(store, user_id="alex")
    agent = assistant([])
    capability.add_to_agent(agent)
    with pytest.raises(ValidationError, match="already on agent"):
        capability.add_to_agent(agent)
    capability.remove_from_agent(agent)
    assert all(not hooks for hooks in agent.hook_lists.values())
    capability.add_to_agent(agent)  # can be attached again once removed
    with pytest.raises(ValidationError, match="ConversableAgent"):
        capability.add_to_agent(object())  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="token_budget"):
        MnemoweaveCapability(store, user_id="alex", token_budget=-1)
    with pytest.raises(ValidationError, match="at least one"):
        MnemoweaveCapability(tmp_path / "nope")


def test_async_chat_recalls_and_remembers(store: Memory) -> None:
    store.add("I am allergic to peanuts", user_id="alex", infer=False)
    harness = Harness(MnemoweaveCapability(store, user_id="alex"))
    asyncio.run(harness.achat("Am I allergic to peanuts?"))
    assert unquote_block(harness.last_block()) == ["I am allergic to peanuts"]
    harness.capability.flush()
    # The bare question and the reply reach the window only (the raw-storage policy).
    assert store.count(user_id="alex") == 1
    assert [m["content"] for m in harness.capability.binding.messages()][-2] == (
        "Am I allergic to peanuts?"
    )


def test_public_api_is_pinned() -> None:
    assert ag2_adapter.__all__ == sorted(ag2_adapter.__all__)
    assert ag2_adapter.__all__ == ["MnemoweaveCapability"]


def test_next_reply_recalls_the_exchange_remembered_in_the_background(tmp_path: Path) -> None:
    """Read-your-writes: the background remember of one chat is recalled by the next."""
    gate = WriteGate()
    store = Memory(tmp_path / "gated", embedder=gate.embedder)
    try:
        harness = Harness(MnemoweaveCapability(store, user_id="alex"))  # background=True
        harness.chat("I moved to Porto last year")
        assert gate.held.wait(60)  # the remember is pending, held back
        with gate.open_when_read_waits():
            block = harness.ask("where did I move")
        assert unquote_block(block) == ["I moved to Porto last year"]
    finally:
        gate.open()
        store.close()
