"""``mnemoweave serve``, ``mnemoweave keys`` and ``mnemoweave mcp``: core's command driving the
server package, as real subprocesses (readiness is polled, never slept on)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from mnemoweave_server.testing import free_port


def _env(store: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MNEMOWEAVE_")}
    return {**env, "MNEMOWEAVE_HOME": str(store), "MNEMOWEAVE_EMBEDDER": "hash"}


def _cli(store: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "mnemoweave", *args],
        capture_output=True,
        text=True,
        env=_env(store),
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    if check:
        assert done.returncode == 0, done.stderr
    return done


def _wait_ready(process: subprocess.Popen[bytes], url: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "mnemoweave serve exited during startup"
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"mnemoweave serve not ready within {timeout}s")


def test_keys_round_trip_and_serve_answers_with_them(tmp_path: Path) -> None:
    store = tmp_path / "store"
    made = json.loads(
        _cli(store, "keys", "create", "alice-app", "--user", "alice", "--json").stdout
    )
    secret, key_id = made["key"], made["id"]
    assert secret.startswith("mw_")
    assert made["users"] == ["alice"]
    keys_file = store / "server" / "keys.json"
    assert keys_file.exists()
    assert secret not in keys_file.read_text()
    listed = json.loads(_cli(store, "keys", "list", "--json").stdout)
    assert [(k["id"], k["name"], k["reach"]) for k in listed] == [(key_id, "alice-app", "alice")]

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mnemoweave",
            "serve",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--path",
            str(store),
        ],
        env=_env(tmp_path / "elsewhere"),  # --path wins over $MNEMOWEAVE_HOME
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_ready(process, url)
        auth = {"Authorization": f"Bearer {secret}"}
        added = httpx.post(
            f"{url}/api/v1/memories",
            json={"messages": "Alice likes green tea", "user_id": "alice", "infer": False},
            headers=auth,
            timeout=30,
        )
        assert added.status_code == 200, added.text
        other = httpx.post(
            f"{url}/api/v1/memories",
            json={"messages": "Bob's note", "user_id": "bob", "infer": False},
            headers=auth,
            timeout=30,
        )
        assert other.status_code == 403
        assert httpx.get(f"{url}/api/v1/info", timeout=10).status_code == 401
        _cli(store, "keys", "revoke", key_id)
        revoked = httpx.get(f"{url}/api/v1/info", headers=auth, timeout=10)
        assert revoked.status_code == 401
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    # the memory the server wrote is in the store the CLI reads
    listed_mem = json.loads(_cli(store, "list", "-u", "alice", "--json").stdout)
    assert [m["memory"] for m in listed_mem["results"]] == ["Alice likes green tea"]
    after = json.loads(_cli(store, "keys", "list", "--json").stdout)
    assert "REVOKED" in after[0]["flags"]
    assert _cli(store, "keys", "revoke", "nope", check=False).returncode == 3


def test_without_the_server_package_serve_says_what_to_install(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['mnemoweave_server'] = None\n"
        "from mnemoweave._cli import main\n"
        "sys.argv = ['mnemoweave', *sys.argv[1:]]\n"
        "main()\n"
    )
    for args in (["serve"], ["keys", "list"], ["mcp", "--user-id", "a"]):
        done = subprocess.run(
            [sys.executable, "-c", code, *args],
            capture_output=True,
            text=True,
            env=_env(tmp_path / "s"),
            stdin=subprocess.DEVNULL,
            timeout=120,
        )
        assert done.returncode == 4, done.stderr
        assert "pip install mnemoweave-server" in done.stderr


def test_bad_backend_and_missing_scope_are_refused(tmp_path: Path) -> None:
    bad = _cli(tmp_path / "s", "serve", "--backend", "postgresql", check=False)
    assert bad.returncode == 4
    assert "unknown backend" in bad.stderr
    noscope = _cli(tmp_path / "s", "mcp", check=False)
    assert noscope.returncode == 2
    assert "--user-id" in noscope.stderr


def test_mcp_serves_the_tools_on_a_local_store(tmp_path: Path) -> None:
    store = tmp_path / "store"

    def params(user: str) -> StdioServerParameters:
        return StdioServerParameters(
            command=sys.executable,
            args=["-m", "mnemoweave", "mcp", "--user-id", user, "--path", str(store)],
            env=_env(store),
        )

    async def main() -> dict[str, Any]:
        out: dict[str, Any] = {}
        async with (
            stdio_client(params("alice")) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            out["tools"] = {t.name for t in (await session.list_tools()).tools}
            await session.call_tool("add_memory", {"text": "Prefers window seats"})
            found = await session.call_tool("search_memories", {"query": "seats"})
            out["search"] = json.loads(found.content[0].text)  # type: ignore[union-attr]
        return out

    out = asyncio.run(main())
    assert {"add_memory", "search_memories", "list_memories"} <= out["tools"]
    assert [r["memory"] for r in out["search"]["results"]] == ["Prefers window seats"]
    assert out["search"]["results"][0]["user_id"] == "alice"
    bob = json.loads(_cli(store, "list", "-u", "bob", "--json").stdout)
    assert bob["total"] == 0
