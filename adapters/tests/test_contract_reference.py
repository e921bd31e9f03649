"""The contract suite run against the kit's reference adapter (so the suite itself is tested)."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from mnemoweave import Memory
from mnemoweave_adapters import MemoryBinding
from mnemoweave_adapters.contract import AdapterContractTests
from mnemoweave_adapters.reference import ReferenceAdapter


class TestReferenceAdapter(AdapterContractTests):
    has_async = True
    supports_delete = True
    entry_point = "reference"

    def make_adapter(self, memory: Memory, *, user_id: str) -> ReferenceAdapter:
        return ReferenceAdapter(MemoryBinding(memory, user_id=user_id))

    def make_input(self, text: str) -> Any:
        return [{"role": "user", "content": text, "name": "Tess"}]

    def remember(self, adapter: ReferenceAdapter, payload: Any) -> None:
        adapter.save(payload)

    def recall(self, adapter: ReferenceAdapter, query: str) -> str:
        return adapter.context(query)

    async def aremember(self, adapter: ReferenceAdapter, payload: Any) -> None:
        await adapter.asave(payload)

    async def arecall(self, adapter: ReferenceAdapter, query: str) -> str:
        return await adapter.acontext(query)

    def forget_all(self, adapter: ReferenceAdapter) -> None:
        adapter.forget_all()


class TestBackgroundReferenceAdapter(TestReferenceAdapter):
    """Background remembering must still satisfy the contract once the store is flushed."""

    def make_adapter(self, memory: Memory, *, user_id: str) -> ReferenceAdapter:
        return ReferenceAdapter(MemoryBinding(memory, user_id=user_id), background=True)


class LeakyAdapter(ReferenceAdapter):
    """A broken adapter: it ignores its scope and joins raw texts into the prompt."""

    def context(self, query: str) -> str:
        memory = self.binding.memory
        users = {"contract-user", "contract-other"}
        texts = [r.memory for u in users for r in memory.search(query, user_id=u).results]
        return "\n".join(texts)


class TestSuiteCatchesABrokenAdapter(AdapterContractTests):
    """Each contract test that a leaky adapter must fail really fails (run by hand below)."""

    def make_adapter(self, memory: Memory, *, user_id: str) -> LeakyAdapter:
        return LeakyAdapter(MemoryBinding(memory, user_id=user_id))

    def remember(self, adapter: LeakyAdapter, payload: Any) -> None:
        adapter.save(payload)

    def recall(self, adapter: LeakyAdapter, query: str) -> str:
        return adapter.context(query)

    # The two contract tests the leaky adapter violates are expected to fail here.
    allowed_overrides: ClassVar[dict[str, str]] = {
        "test_scopes_are_isolated": "asserts the contract test fails for this adapter",
        "test_hostile_memory_cannot_break_out": "asserts the contract test fails",
    }

    def test_scopes_are_isolated(self, adapter: Any, memory: Memory) -> None:
        with pytest.raises(AssertionError):
            AdapterContractTests.test_scopes_are_isolated(self, adapter, memory)

    def test_hostile_memory_cannot_break_out(self, adapter: Any, memory: Memory) -> None:
        with pytest.raises(AssertionError):
            AdapterContractTests.test_hostile_memory_cannot_break_out(self, adapter, memory)


def test_guard_flags_unexplained_overrides() -> None:
    class Sneaky(TestReferenceAdapter):
        def test_recall_after_remember(self, adapter: Any, memory: Memory) -> None:
            pass

    with pytest.raises(AssertionError):
        Sneaky().test_contract_is_not_silently_overridden()
