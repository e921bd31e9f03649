"""Read-your-writes: reads wait (bounded) for this process's pending background adds."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from mnemoweave import AsyncMemory, ConfigurationError, Memory
from mnemoweave.testing import WriteGate


@pytest.fixture
def gate() -> WriteGate:
    return WriteGate()


@pytest.fixture
def gated(tmp_path: Path, gate: WriteGate) -> Iterator[Memory]:
    mem = Memory(tmp_path / "store", embedder=gate.embedder)
    yield mem
    gate.open()
    mem.close()


def test_search_sees_the_background_add_that_just_returned(gated: Memory, gate: WriteGate) -> None:
    gated.add("I moved to Lisbon last spring", user_id="ada", background=True)
    assert gate.held.wait(60)  # the add is pending, held at the gate
    with gate.open_when_read_waits():
        found = gated.search("where did I move", user_id="ada").results
    assert [item.memory for item in found] == ["I moved to Lisbon last spring"]


def test_get_all_waits_too_and_a_narrower_add_counts(gated: Memory, gate: WriteGate) -> None:
    gated.add("Prefers window seats", user_id="ada", agent_id="travel", background=True)
    assert gate.held.wait(60)
    with gate.open_when_read_waits():
        listed = gated.get_all(user_id="ada").results  # the user's scope covers the agent's
    assert [item.memory for item in listed] == ["Prefers window seats"]


def test_async_search_waits(gated: Memory, gate: WriteGate) -> None:
    amem = AsyncMemory.wrap(gated)

    async def scenario() -> list[str]:
        await amem.add("Allergic to hazelnuts", user_id="ada", background=True)
        assert await asyncio.to_thread(gate.held.wait, 60)
        with gate.open_when_read_waits():
            found = await amem.search("allergies", user_id="ada")
        return [item.memory for item in found.results]

    assert asyncio.run(scenario()) == ["Allergic to hazelnuts"]


def test_reads_of_other_scopes_do_not_wait(
    tmp_path: Path, gate: WriteGate, caplog: pytest.LogCaptureFixture
) -> None:
    # A long bound: were the read to wait on another scope's add, it would time out and log.
    mem = Memory(tmp_path / "s", embedder=gate.embedder, read_your_writes_timeout=600)
    try:
        mem.add("Ada's secret", user_id="ada", background=True)
        assert gate.held.wait(60)
        with caplog.at_level(logging.WARNING, logger="mnemoweave"):
            assert mem.search("secret", user_id="bob").results == []
            assert mem.get_all(user_id="ada", agent_id="other").results == []
        assert "still running" not in caplog.text
    finally:
        gate.open()
        mem.close()


def test_timeout_bounds_the_wait_and_logs(
    tmp_path: Path, gate: WriteGate, caplog: pytest.LogCaptureFixture
) -> None:
    mem = Memory(tmp_path / "s", embedder=gate.embedder, read_your_writes_timeout=0.05)
    try:
        mem.add("Slow to arrive", user_id="ada", background=True)
        assert gate.held.wait(60)
        with caplog.at_level(logging.WARNING, logger="mnemoweave"):
            assert mem.search("arrive", user_id="ada").results == []  # gate still closed
        assert "read_your_writes_timeout" in caplog.text
        gate.open()
        mem.flush()
        assert [i.memory for i in mem.search("arrive", user_id="ada").results] == ["Slow to arrive"]
    finally:
        gate.open()
        mem.close()


def test_zero_turns_the_wait_off(tmp_path: Path, gate: WriteGate) -> None:
    mem = Memory(tmp_path / "s", embedder=gate.embedder, read_your_writes_timeout=0)
    try:
        mem.add("Not yet", user_id="ada", background=True)
        assert gate.held.wait(60)
        with gate.open_when_read_waits():
            assert mem.search("not yet", user_id="ada").results == []
    finally:
        gate.open()
        mem.close()


@pytest.mark.parametrize("bad", [-1, True, "5", float("inf")])
def test_bad_timeouts_are_configuration_errors(tmp_path: Path, bad: object) -> None:
    with pytest.raises(ConfigurationError, match="read_your_writes_timeout"):
        Memory(tmp_path / "s", embedder="hash", read_your_writes_timeout=bad)
