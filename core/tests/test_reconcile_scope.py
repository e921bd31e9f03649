"""Reconciliation sees and changes exactly the add's scope: unset ids mean unset, not "any".

Two users share one agent; the LLM is a real HTTP server that tries to DELETE and UPDATE
whatever it was shown, so anything outside the scope that reached the prompt would be changed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mnemoweave import AsyncMemory, Memory
from mnemoweave.llm import prompts
from mnemoweave.testing import RecordedRequest, ScriptedOpenAIServer
from mnemoweave.testing import operations as ops

ALICE_FACT = "Passport number is X1234567"


def shown(request: RecordedRequest) -> list[str]:
    sent = prompts.input_data(request.messages[-1]["content"])
    return [m["text"] for m in sent["existing_memories"]]


def llm(server: ScriptedOpenAIServer) -> dict[str, Any]:
    return {"model": "m", "base_url": server.base_url, "api_key": "k", "max_retries": 0}


@pytest.fixture
def mem(tmp_path: Path, server: ScriptedOpenAIServer) -> Iterator[Memory]:
    memory = Memory(tmp_path / "store", embedder="hash", llm=llm(server))
    yield memory
    memory.close()


def test_an_agent_only_add_never_sees_or_retires_a_users_memories(
    mem: Memory, server: ScriptedOpenAIServer
) -> None:
    server.script(ops(("ADD", None, ALICE_FACT)))
    alice = mem.add("My passport number is X1234567", user_id="alice", agent_id="bot")
    alice_id = alice.results[0].id
    # The model tries to delete and rewrite whatever it was shown as id 0.
    greedy = ops(("DELETE", 0, None), ("UPDATE", 0, "Passport number is BOB"))
    for scope in ({"agent_id": "bot"}, {"user_id": "bob", "agent_id": "bot"}):
        server.script(greedy)
        res = mem.add("My passport number is what again?", **scope)
        assert shown(server.chat_requests[-1]) == []
        assert res.results == []
        assert "X1234567" not in server.chat_requests[-1].messages[-1]["content"].replace(
            "My passport number is what again?", ""
        )
    item = mem.get(alice_id)
    assert (item.memory, item.valid_to, item.expired_at) == (ALICE_FACT, None, None)
    assert [h.event for h in mem.history(alice_id)] == ["ADD"]


def test_the_same_text_in_another_scope_is_a_new_memory_not_a_duplicate(
    mem: Memory, server: ScriptedOpenAIServer
) -> None:
    server.script(ops(("ADD", None, ALICE_FACT)))
    alice_id = mem.add("passport X1234567", user_id="alice", agent_id="bot").results[0].id
    server.script(ops(("ADD", None, ALICE_FACT)))
    res = mem.add("passport X1234567", agent_id="bot")
    [event] = res.results
    assert event.event == "ADD"
    assert event.id != alice_id  # never another scope's id, not even as a NONE
    assert mem.get(event.id).user_id is None


def test_each_exact_scope_reconciles_only_its_own_rows(
    mem: Memory, server: ScriptedOpenAIServer
) -> None:
    scopes: list[dict[str, str]] = [
        {"agent_id": "bot"},
        {"user_id": "alice", "agent_id": "bot"},
        {"user_id": "alice", "agent_id": "bot", "run_id": "r1"},
        {"user_id": "alice"},
        {"user_id": "bob", "agent_id": "bot"},
    ]
    for i, scope in enumerate(scopes):
        server.script(ops(("ADD", None, f"Likes tea number {i}")))
        mem.add(f"I like tea number {i}", **scope)
    for i, scope in enumerate(scopes):
        server.script(ops(("NONE", 0, None)))
        res = mem.add("Which tea do I like?", **scope)
        assert shown(server.chat_requests[-1]) == [f"Likes tea number {i}"], scope
        assert [e.memory for e in res.results] == [f"Likes tea number {i}"]


def test_async_adds_use_the_same_rule(tmp_path: Path, server: ScriptedOpenAIServer) -> None:
    async def main() -> None:
        async with AsyncMemory(tmp_path / "a", embedder="hash", llm=llm(server)) as amem:
            server.script(ops(("ADD", None, ALICE_FACT)))
            await amem.add("passport X1234567", user_id="alice", agent_id="bot")
            server.script(ops(("DELETE", 0, None)))
            res = await amem.add("forget my passport", agent_id="bot")
            assert res.results == []
            assert shown(server.chat_requests[-1]) == []
            assert await amem.count(user_id="alice") == 1

    asyncio.run(main())
