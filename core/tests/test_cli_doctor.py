"""``mnemoweave doctor`` as a subprocess: each check a line, exit 4 when one fails."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from mnemoweave.testing import ScriptedOpenAIServer


def _doctor(store: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MNEMOWEAVE_", "OPENAI_"))}
    env.update({"MNEMOWEAVE_HOME": str(store), "MNEMOWEAVE_EMBEDDER": "hash"})
    return subprocess.run(
        [sys.executable, "-m", "mnemoweave", "doctor", *args],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


def _checks(done: subprocess.CompletedProcess[str]) -> dict[str, dict[str, Any]]:
    report = json.loads(done.stdout)
    return {c["name"]: c for c in report["checks"]}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens once the socket is closed


def test_reachable_llm_and_a_fresh_store_pass(tmp_path: Path) -> None:
    with ScriptedOpenAIServer() as llm:
        done = _doctor(
            tmp_path / "s", "--llm-base-url", llm.base_url, "--llm-model", "scripted-model"
        )
        assert done.returncode == 0, done.stdout + done.stderr
        lines = done.stdout.splitlines()
        assert [line.split()[:2] for line in lines] == [
            ["ok", "config"],
            ["ok", "embedder"],
            ["ok", "llm"],
            ["ok", "store"],
        ]
        assert "model scripted-model listed" in lines[2]
        assert any(r.path.endswith("/models") for r in llm.requests)
        as_json = _doctor(tmp_path / "s", "--llm-base-url", llm.base_url, "--json")
    assert as_json.returncode == 0
    assert json.loads(as_json.stdout)["ok"] is True


def test_unreachable_llm_fails_with_exit_4(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    done = _doctor(tmp_path / "s", "--llm-base-url", url, "--llm-model", "m", "--json")
    assert done.returncode == 4
    checks = _checks(done)
    assert checks["llm"]["status"] == "fail"
    assert "unreachable" in checks["llm"]["detail"]
    assert checks["store"]["status"] == "ok"
    assert json.loads(done.stdout)["ok"] is False
    plain = _doctor(tmp_path / "s", "--llm-base-url", url)
    assert plain.returncode == 4
    assert any(line.startswith("fail llm") for line in plain.stdout.splitlines())


def test_no_llm_is_a_skip_and_a_bad_embedder_fails(tmp_path: Path) -> None:
    skipped = _doctor(tmp_path / "s", "--json")
    assert skipped.returncode == 0
    assert _checks(skipped)["llm"]["status"] == "skip"
    bad = _doctor(tmp_path / "s", "--embedder", "no-such-embedder", "--json")
    assert bad.returncode == 4
    checks = _checks(bad)
    assert checks["embedder"]["status"] == "fail"
    assert "no-such-embedder" in checks["embedder"]["detail"]
    assert checks["store"]["status"] == "skip"
    backend = _doctor(tmp_path / "s", "--backend", "postgres", "--json")
    assert backend.returncode == 4
    assert _checks(backend)["config"]["status"] == "fail"


def test_an_existing_store_is_opened_and_counted(tmp_path: Path) -> None:
    from mnemoweave import Memory

    mem = Memory(tmp_path / "s", embedder="hash")
    mem.add("Alice likes tea", user_id="alice", infer=False)
    mem.add("Bob likes chess", user_id="bob", infer=False)
    mem.close()
    done = _doctor(tmp_path / "s", "--json")
    assert done.returncode == 0
    assert "2 memories in 2 scopes" in _checks(done)["store"]["detail"]
