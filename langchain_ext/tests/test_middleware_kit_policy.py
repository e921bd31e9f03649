"""The middleware follows the kit-wide rules: the raw-storage policy and read-your-writes.

(Kept in its own file: these are the kit's guarantees, checked here through create_agent.)
"""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import Any

import pytest
from pydantic import Field

pytest.importorskip("langchain.agents")

from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import BaseMessage, SystemMessage

from mnemoweave import Memory
from mnemoweave.testing import WriteGate
from mnemoweave_adapters import MemoryBinding, RawPolicy, unquote_block
from mnemoweave_langchain import MnemoweaveMiddleware


class Recording(GenericFakeChatModel):
    received: list[list[BaseMessage]] = Field(default_factory=list)

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Any:
        self.received.append(list(messages))
        return super()._generate(messages, *args, **kwargs)


def model(*replies: str) -> Recording:
    return Recording(messages=iter(itertools.cycle(replies)), received=[])


def recalled(prompt: list[BaseMessage]) -> list[str]:
    return unquote_block("\n".join(str(m.content) for m in prompt if isinstance(m, SystemMessage)))


def test_raw_storage_keeps_statements_not_greetings_or_bare_questions(memory: Memory) -> None:
    llm = model("Hello! How can I help?", "Try a lentil curry.")
    middleware = MnemoweaveMiddleware(MemoryBinding(memory, user_id="ann"), background=False)
    agent = create_agent(llm, tools=[], middleware=[middleware])
    for text in ["Hello!", "Dinner idea?", "I am vegetarian and I live in Porto"]:
        agent.invoke({"messages": [{"role": "user", "content": text}]})
    stored = [m.memory for m in memory.get_all(user_id="ann").results]
    assert stored == ["I am vegetarian and I live in Porto"]
    window = [m["content"] for m in memory.get_messages(user_id="ann")]
    assert window[:2] == ["Hello!", "Hello! How can I help?"]  # history keeps everything


def test_raw_policy_is_configurable_on_the_binding(memory: Memory) -> None:
    binding = MemoryBinding(memory, user_id="ann", raw_policy=RawPolicy.keep_all())
    agent = create_agent(
        model("Sure."), tools=[], middleware=[MnemoweaveMiddleware(binding, background=False)]
    )
    agent.invoke({"messages": [{"role": "user", "content": "Hello!"}]})
    assert sorted(m.memory for m in memory.get_all(user_id="ann").results) == ["Hello!", "Sure."]


def test_next_call_recalls_the_turn_that_just_finished(tmp_path: Path) -> None:
    gate = WriteGate()
    store = Memory(tmp_path / "gated", embedder=gate.embedder)
    try:
        llm = model("Noted, Ann.")
        middleware = MnemoweaveMiddleware(MemoryBinding(store, user_id="ann"))  # background
        agent = create_agent(llm, tools=[], middleware=[middleware])
        agent.invoke({"messages": [{"role": "user", "content": "My cat is called Biscuit"}]})
        assert gate.held.wait(60)  # the remember is still pending, held back
        with gate.open_when_read_waits():
            agent.invoke({"messages": [{"role": "user", "content": "what is my cat called"}]})
        assert recalled(llm.received[-1]) == ["My cat is called Biscuit"]

        async def again() -> None:
            gate.close()
            gate.held.clear()
            await agent.ainvoke({"messages": [{"role": "user", "content": "My dog is Rex"}]})
            assert await asyncio.to_thread(gate.held.wait, 60)
            with gate.open_when_read_waits():
                await agent.ainvoke({"messages": [{"role": "user", "content": "my dog Rex"}]})

        asyncio.run(again())
        assert "My dog is Rex" in recalled(llm.received[-1])
    finally:
        gate.open()
        store.close()
