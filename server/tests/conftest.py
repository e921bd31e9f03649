"""Fixtures for the server tests: real uvicorn servers on 127.0.0.1, started by the tests.

One server (``live``) serves most tests for the whole session; each test works in users of
its own (``uid``), so tests never see each other's memories. Tests that need other settings
(limits, private webhooks off, two workers) start their own.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mnemoweave.remote import MemoryClient
from mnemoweave.testing import ScriptedOpenAIServer
from mnemoweave_server.testing import LiveServer

#: mem0's client writes ~/.mem0 at import and sends telemetry unless told not to.
QUIET_MEM0 = {"MEM0_TELEMETRY": "False"}
#: The chat proxy's upstream key on the shared server: no client may ever see it.
UPSTREAM_KEY = "sk-upstream-d0c5ecre7-never-shown"


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home directory for the whole session (servers and clients write only below it)."""
    home = tmp_path_factory.mktemp("server-home")
    os.environ.update(QUIET_MEM0)
    os.environ["MEM0_DIR"] = str(home / "mem0")
    return home


@pytest.fixture(autouse=True)
def _private_home(sandbox: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MNEMOWEAVE_HOME", str(tmp_path / "mnemoweave-home"))
    for key, value in QUIET_MEM0.items():
        monkeypatch.setenv(key, value)


def child_env(home: Path) -> dict[str, str]:
    return {"HOME": str(home), "MNEMOWEAVE_HOME": str(home / "mnemoweave"), **QUIET_MEM0}


@pytest.fixture(scope="session")
def server_env(sandbox: Path) -> dict[str, str]:
    """Environment for servers a test starts itself (home and mem0 settings in the sandbox)."""
    return child_env(sandbox)


@pytest.fixture(scope="session")
def upstream() -> Iterator[ScriptedOpenAIServer]:
    """The OpenAI-compatible endpoint behind the shared server's chat proxy."""
    with ScriptedOpenAIServer() as server:
        yield server


@pytest.fixture(scope="session")
def live(sandbox: Path, upstream: ScriptedOpenAIServer) -> Iterator[LiveServer]:
    """The shared server: hash embedder, no rate limit, webhooks may target loopback, and
    the chat proxy on ``upstream`` (model ``gpt-test`` mapped to ``scripted-model``)."""
    proxy = ["--proxy-upstream", upstream.base_url, "--proxy-model", "gpt-test=scripted-model"]
    server = LiveServer(
        sandbox / "live-store",
        args=["--allow-private-webhooks", *proxy],
        env={**child_env(sandbox), "MNEMOWEAVE_PROXY_API_KEY": UPSTREAM_KEY},
    )
    with server:
        yield server


@pytest.fixture
def uid() -> str:
    """A user id no other test uses."""
    return f"user-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def admin(live: LiveServer) -> Iterator[MemoryClient]:
    client = live.client()
    yield client
    client.close()


@pytest.fixture
def http(live: LiveServer) -> Iterator[httpx.Client]:
    """Raw HTTP with the admin key, for checking routes, status codes and bodies."""
    with httpx.Client(
        base_url=live.url, headers={"Authorization": f"Bearer {live.admin_key}"}, timeout=30
    ) as client:
        yield client


@pytest.fixture(scope="session")
def upstream_key() -> str:
    """The shared server's upstream key (to check that no answer ever contains it)."""
    return UPSTREAM_KEY
