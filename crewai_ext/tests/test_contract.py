"""The shared adapter contract, run on the CrewAI Memory subclass and on the storage backend."""

from __future__ import annotations

from typing import Any

from crewai.memory.types import MemoryRecord

from mnemoweave import Memory
from mnemoweave_adapters.contract import AdapterContractTests
from mnemoweave_crewai import MnemoweaveCrewMemory, MnemoweaveStorage


def crew_prompt_text(matches: list[Any]) -> str:
    """What CrewAI's agent puts in the task prompt for recall results (minus its header)."""
    return "\n".join(m.format() for m in matches)


class TestCrewMemoryContract(AdapterContractTests):
    """``MnemoweaveCrewMemory`` driven through CrewAI's ``Memory`` API, as agents call it."""

    has_async = True
    supports_delete = True
    entry_point = "crewai"

    def make_adapter(self, memory: Memory, *, user_id: str) -> MnemoweaveCrewMemory:
        return MnemoweaveCrewMemory(memory, user_id=user_id)

    def remember(self, adapter: MnemoweaveCrewMemory, payload: Any) -> None:
        adapter.remember(payload)

    def recall(self, adapter: MnemoweaveCrewMemory, query: str) -> str:
        return crew_prompt_text(adapter.recall(query, limit=5))

    async def aremember(self, adapter: MnemoweaveCrewMemory, payload: Any) -> None:
        await adapter.aremember(payload)

    async def arecall(self, adapter: MnemoweaveCrewMemory, query: str) -> str:
        return crew_prompt_text(await adapter.arecall(query, limit=5))

    def forget_all(self, adapter: MnemoweaveCrewMemory) -> None:
        adapter.forget()


class TestCrewMemoryBackgroundContract(TestCrewMemoryContract):
    """The agent loop's path: ``extract_memories`` then background ``remember_many``."""

    def remember(self, adapter: MnemoweaveCrewMemory, payload: Any) -> None:
        adapter.remember_many(adapter.extract_memories(payload), agent_role="Tester")
        adapter.drain_writes()

    async def aremember(self, adapter: MnemoweaveCrewMemory, payload: Any) -> None:
        await adapter.aremember_many(await adapter.aextract_memories(payload))
        adapter.drain_writes()


class TestStorageContract(AdapterContractTests):
    """``MnemoweaveStorage`` through the ``StorageBackend`` protocol (it returns records)."""

    has_async = True
    supports_delete = True
    renders_block = False
    entry_point = "crewai"

    def make_adapter(self, memory: Memory, *, user_id: str) -> MnemoweaveStorage:
        return MnemoweaveStorage(memory, user_id=user_id)

    def remember(self, adapter: MnemoweaveStorage, payload: Any) -> None:
        adapter.save([MemoryRecord(content=payload, scope="/crew/contract")])

    def recall(self, adapter: MnemoweaveStorage, query: str) -> str:
        found = adapter.search(adapter.embedder([query])[0], limit=5)
        return "\n".join(record.content for record, _ in found)

    async def aremember(self, adapter: MnemoweaveStorage, payload: Any) -> None:
        await adapter.asave([MemoryRecord(content=payload, scope="/crew/contract")])

    async def arecall(self, adapter: MnemoweaveStorage, query: str) -> str:
        found = await adapter.asearch(adapter.embedder([query])[0], limit=5)
        return "\n".join(record.content for record, _ in found)

    def forget_all(self, adapter: MnemoweaveStorage) -> None:
        adapter.reset()
