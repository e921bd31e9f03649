"""Two processes reconciling one scope take turns: the second add sees the first one's result.

The LLM is a real HTTP server in this process; the adds run in real child processes (or a
second ``Memory`` on the same store). No test waits for a fixed time to decide anything: a
child says "ready" and "adding", and the server's handler sees which requests arrive.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from mnemoweave import Memory
from mnemoweave.llm import prompts
from mnemoweave.testing import RecordedRequest, ScriptedOpenAIServer
from mnemoweave.testing import operations as ops

WORKER = Path(__file__).with_name("reconcile_worker.py")
PATIENCE = 120.0  # generous deadline for a child to get somewhere; never a measurement


def said_and_shown(request: RecordedRequest) -> tuple[str, list[str]]:
    sent = prompts.input_data(request.messages[-1]["content"])
    return sent["messages"][0]["content"], [m["text"] for m in sent["existing_memories"]]


@contextmanager
def spawned(
    path: Path, server: ScriptedOpenAIServer, *texts: str
) -> Iterator[list[subprocess.Popen[str]]]:
    """One worker per text, killed on the way out if the test did not finish them."""
    children = [
        subprocess.Popen(
            [sys.executable, str(WORKER), str(path), server.base_url, "u", text],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for text in texts
    ]
    try:
        yield children
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
            child.communicate()


def expect(child: subprocess.Popen[str], line: str) -> None:
    assert child.stdout is not None
    got = child.stdout.readline().strip()
    assert got == line, (got, child.stderr.read() if got == "" and child.stderr else "")


def go(child: subprocess.Popen[str]) -> None:
    assert child.stdin is not None
    child.stdin.write("go\n")
    child.stdin.flush()


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "shared"
    Memory(path, embedder="hash").close()  # the schema exists before the children start
    return path


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_second_process_reconciles_against_the_first_ones_result(store: Path) -> None:
    """The defect: both processes read "nothing known", and the last writer won."""
    a_asked, b_adding, b_asked = threading.Event(), threading.Event(), threading.Event()
    seen_by_b: list[list[str]] = []

    def model(request: RecordedRequest) -> dict[str, Any]:
        said, shown = said_and_shown(request)
        if said == "I live in Paris":
            a_asked.set()
            b_adding.wait(PATIENCE)
            # Without per-scope serialisation B's request arrives while A's is open.
            b_asked.wait(5.0)
            return ops(("ADD", None, "Lives in Paris"))
        b_asked.set()
        seen_by_b.append(shown)
        if shown == ["Lives in Paris"]:
            return ops(("UPDATE", 0, "Lives in Berlin (moved from Paris)"))
        return ops(("ADD", None, "Lives in Berlin"))

    with (
        ScriptedOpenAIServer(handler=model) as server,
        spawned(store, server, "I live in Paris", "I moved from Paris to Berlin") as (a, b),
    ):
        expect(a, "ready")
        expect(b, "ready")
        go(a)
        assert a_asked.wait(PATIENCE), "A never asked the LLM"
        go(b)
        expect(b, "adding")
        b_adding.set()
        out_a, err_a = a.communicate(timeout=PATIENCE)
        out_b, err_b = b.communicate(timeout=PATIENCE)
    assert (a.returncode, b.returncode) == (0, 0), (err_a, err_b)
    assert json.loads(out_a.splitlines()[-1]) == [["ADD", "Lives in Paris"]]
    assert seen_by_b == [["Lives in Paris"]]
    assert json.loads(out_b.splitlines()[-1]) == [["UPDATE", "Lives in Berlin (moved from Paris)"]]
    with Memory(store, embedder="hash") as mem:
        assert [m.memory for m in mem.get_all(user_id="u").results] == [
            "Lives in Berlin (moved from Paris)"
        ]
        assert mem.verify()["ok"]


@pytest.mark.slow
@pytest.mark.timeout(300)  # a lease of a dead process that were not taken over would hang
def test_a_killed_holder_does_not_block_its_scope(store: Path) -> None:
    a_asked, release = threading.Event(), threading.Event()

    def model(request: RecordedRequest) -> dict[str, Any]:
        said, _ = said_and_shown(request)
        if said == "I live in Paris":
            a_asked.set()
            release.wait(PATIENCE)  # A dies while waiting for this reply
            return ops()
        return ops(("ADD", None, "Lives in Lyon"))

    with (
        ScriptedOpenAIServer(handler=model) as server,
        spawned(store, server, "I live in Paris") as (a,),
    ):
        expect(a, "ready")
        go(a)
        assert a_asked.wait(PATIENCE)
        a.send_signal(signal.SIGKILL)
        a.wait(timeout=PATIENCE)
        llm = {"model": "m", "base_url": server.base_url, "api_key": "k", "max_retries": 0}
        with Memory(store, embedder="hash", llm=llm) as mem:
            res = mem.add("I live in Lyon now", user_id="u")
            assert [(e.event, e.memory) for e in res.results] == [("ADD", "Lives in Lyon")]
            leases = mem._engine.backend.store.conn.execute(
                "SELECT count(*) FROM scope_leases"
            ).fetchone()
            assert leases == (0,)
        release.set()


def test_a_reply_planned_under_a_lost_lease_is_never_applied(
    store: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A holder slower than its lease: another add takes over, and the stale plan is redone."""
    requests: list[tuple[str, list[str]]] = []
    other_done = threading.Event()

    with ScriptedOpenAIServer() as server:
        llm = {"model": "m", "base_url": server.base_url, "api_key": "k", "max_retries": 0}
        slow, other = (Memory(store, embedder="hash", llm=llm) for _ in range(2))

        def model(request: RecordedRequest) -> dict[str, Any]:
            said, shown = said_and_shown(request)
            requests.append((said, shown))
            if said == "I live in Paris" and len(requests) == 1:
                # The slow add's lease runs out (as if the LLM took longer than its ttl) and
                # another add of the scope takes over and finishes meanwhile.
                with sqlite3.connect(store / "mnemoweave.db") as conn:
                    conn.execute("UPDATE scope_leases SET expires_at = 0")
                threading.Thread(
                    target=lambda: (other.add("I moved to Berlin", user_id="u"), other_done.set())
                ).start()
                assert other_done.wait(PATIENCE)
                return ops(("ADD", None, "Lives in Paris"))  # stale: planned without Berlin
            if said == "I moved to Berlin":
                return ops(("ADD", None, "Lives in Berlin"))
            assert shown == ["Lives in Berlin"]
            return ops(("NONE", 0, None))

        server.handler = model
        try:
            with caplog.at_level("WARNING", logger="mnemoweave"):
                res = slow.add("I live in Paris", user_id="u")
            assert [(e.event, e.memory) for e in res.results] == [("NONE", "Lives in Berlin")]
            assert res.usage.llm_calls == 2
            assert "took scope" in caplog.text
            assert [said for said, _ in requests] == [
                "I live in Paris",
                "I moved to Berlin",
                "I live in Paris",
            ]
            assert [m.memory for m in slow.get_all(user_id="u").results] == ["Lives in Berlin"]
        finally:
            slow.close()
            other.close()
