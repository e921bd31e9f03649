"""The shared adapter contract, run against the memory class and the memory block."""

from __future__ import annotations

import asyncio
from typing import Any

from llama_index.core.llms import ChatMessage, MessageRole

from mnemoweave import Memory
from mnemoweave_adapters.contract import AdapterContractTests
from mnemoweave_llamaindex import MnemoweaveMemory, MnemoweaveMemoryBlock


def recalled(messages: list[ChatMessage]) -> str:
    """The recall system message MnemoweaveMemory puts first ("" when it added none)."""
    if messages and messages[0].role == MessageRole.SYSTEM:
        return messages[0].content or ""
    return ""


class TestMnemoweaveMemoryContract(AdapterContractTests):
    """Turns put through BaseMemory are remembered; get() carries the recall block."""

    has_async = True
    supports_delete = True
    entry_point = "llamaindex"

    def make_adapter(self, memory: Memory, *, user_id: str) -> MnemoweaveMemory:
        return MnemoweaveMemory.from_memory(memory, user_id=user_id)

    def make_input(self, text: str) -> Any:
        # A finished turn: what a chat engine puts after one exchange.
        return [
            ChatMessage(role=MessageRole.USER, content=text),
            ChatMessage(role=MessageRole.ASSISTANT, content="Noted."),
        ]

    def remember(self, adapter: MnemoweaveMemory, payload: Any) -> None:
        adapter.put_messages(payload)

    def recall(self, adapter: MnemoweaveMemory, query: str) -> str:
        return recalled(adapter.get(input=query))

    async def aremember(self, adapter: MnemoweaveMemory, payload: Any) -> None:
        await adapter.aput_messages(payload)

    async def arecall(self, adapter: MnemoweaveMemory, query: str) -> str:
        return recalled(await adapter.aget(input=query))

    def forget_all(self, adapter: MnemoweaveMemory) -> None:
        adapter.forget_all()


class TestForegroundMnemoweaveMemoryContract(TestMnemoweaveMemoryContract):
    """``background=False`` remembers each turn before ``put`` returns."""

    def make_adapter(self, memory: Memory, *, user_id: str) -> MnemoweaveMemory:
        return MnemoweaveMemory.from_memory(memory, user_id=user_id, background=False)


class TestMnemoweaveMemoryBlockContract(AdapterContractTests):
    """Messages flushed to the block are remembered; aget() returns the recall block."""

    has_async = True
    supports_delete = True
    entry_point = "llamaindex-block"

    def make_adapter(self, memory: Memory, *, user_id: str) -> MnemoweaveMemoryBlock:
        return MnemoweaveMemoryBlock.from_memory(memory, user_id=user_id)

    def make_input(self, text: str) -> Any:
        return [ChatMessage(role=MessageRole.USER, content=text)]

    def remember(self, adapter: MnemoweaveMemoryBlock, payload: Any) -> None:
        asyncio.run(self.aremember(adapter, payload))

    def recall(self, adapter: MnemoweaveMemoryBlock, query: str) -> str:
        return asyncio.run(self.arecall(adapter, query))

    async def aremember(self, adapter: MnemoweaveMemoryBlock, payload: Any) -> None:
        await adapter.aput(payload, from_short_term_memory=True)

    async def arecall(self, adapter: MnemoweaveMemoryBlock, query: str) -> str:
        return await adapter.aget([ChatMessage(role=MessageRole.USER, content=query)])

    def forget_all(self, adapter: MnemoweaveMemoryBlock) -> None:
        adapter.forget_all()
