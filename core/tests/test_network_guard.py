"""``NetworkGuard`` refuses off-machine traffic, records it, and lets loopback through."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from mnemoweave.testing import NetworkGuard, ScriptedOpenAIServer


def test_guard_refuses_and_records_remote_traffic() -> None:
    with NetworkGuard() as guard:
        with pytest.raises(OSError):
            socket.create_connection(("example.invalid", 443), timeout=1)
        with pytest.raises(ConnectionRefusedError):
            socket.socket().connect(("192.0.2.1", 80))
    assert [kind for kind, _ in guard.attempts] == ["getaddrinfo", "connect"]
    real = socket.getaddrinfo("127.0.0.1", 80)  # restored: lookups work again
    assert real


def test_guard_lets_loopback_through() -> None:
    with ScriptedOpenAIServer() as server, NetworkGuard(raise_as="assert") as guard:
        server.script("hi")
        client = server.client(max_retries=0)
        reply = client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "x"}]
        )
        assert reply.choices[0].message.content == "hi"
    assert guard.attempts == []


def test_no_network_runner_reports_attempts(tmp_path: Path) -> None:
    script = tmp_path / "leaky.py"
    script.write_text(
        "import socket\ntry:\n    socket.getaddrinfo('telemetry.example.invalid', 443)\n"
        "except OSError:\n    print('refused')\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "mnemoweave.testing.no_network", str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "refused" in done.stdout
    assert "network attempts: [('getaddrinfo', 'telemetry.example.invalid')]" in done.stdout
