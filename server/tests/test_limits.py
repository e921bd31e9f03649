"""Body and text size limits, the per-key rate limit, CORS when asked for, and a server that
refuses a backend it cannot serve."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mnemoweave_server.testing import LiveServer, free_port


@pytest.fixture(scope="module")
def strict(sandbox: Path, server_env: dict[str, str]) -> Iterator[LiveServer]:
    server = LiveServer(
        sandbox / "strict",
        rate_limit=5,
        args=["--max-body-bytes", "4096", "--cors-origin", "https://app.example"],
        env=server_env,
    )
    with server:
        yield server


def headers(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_bodies_over_the_limit_are_413(strict: LiveServer) -> None:
    key = strict.create_key("big").key
    big = {"messages": "x" * 10_000, "user_id": "u", "infer": False}
    answer = httpx.post(f"{strict.url}/api/v1/memories", json=big, headers=headers(key))
    assert answer.status_code == 413
    assert "4096 bytes" in answer.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while streaming
        yield b'{"messages": "'
        for _ in range(10):
            yield b"y" * 1000
        yield b'", "user_id": "u"}'

    streamed = httpx.post(
        f"{strict.url}/api/v1/memories",
        content=chunks(),
        headers={**headers(key), "Content-Type": "application/json"},
    )
    assert streamed.status_code == 413


def test_texts_over_the_limit_are_refused_by_name(live: LiveServer) -> None:
    long_text = "word " * 7000  # 35k characters; the default limit is 32768
    answer = httpx.post(
        f"{live.url}/api/v1/memories/search",
        json={"query": long_text, "user_id": "u"},
        headers=headers(live.admin_key),
    )
    assert answer.status_code == 413
    assert "query is 35000 characters" in answer.json()["detail"]


def test_each_key_has_its_own_rate_limit(strict: LiveServer) -> None:
    noisy, quiet = strict.create_key("noisy").key, strict.create_key("quiet").key
    url = f"{strict.url}/api/v1/memories/count"
    with httpx.Client() as http:
        codes = [
            http.post(url, json={"user_id": "u"}, headers=headers(noisy)).status_code
            for _ in range(200)
        ]
        assert codes[:5] == [200] * 5  # the burst
        assert 429 in codes
        limited = next(
            r
            for r in (
                http.post(url, json={"user_id": "u"}, headers=headers(noisy)) for _ in range(50)
            )
            if r.status_code == 429
        )
        assert int(limited.headers["retry-after"]) >= 1
        assert limited.json()["error"]["type"] == "RateLimitError"
        assert http.post(url, json={"user_id": "u"}, headers=headers(quiet)).status_code == 200
    metrics = httpx.get(f"{strict.url}/metrics").text
    assert "mnemoweave_rate_limited_total" in metrics


def test_cors_only_for_configured_origins(strict: LiveServer) -> None:
    preflight = {"Access-Control-Request-Method": "POST"}
    allowed = httpx.options(
        f"{strict.url}/api/v1/memories/search",
        headers={"Origin": "https://app.example", **preflight},
    )
    assert allowed.headers.get("access-control-allow-origin") == "https://app.example"
    other = httpx.options(
        f"{strict.url}/api/v1/memories/search",
        headers={"Origin": "https://evil.example", **preflight},
    )
    assert "access-control-allow-origin" not in other.headers


def test_a_database_url_backend_is_refused_clearly(
    tmp_path: Path, server_env: dict[str, str]
) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mnemoweave_server",
            "serve",
            "--backend",
            "postgresql://db/mnemoweave",
            "--port",
            str(free_port()),
            "--data-dir",
            str(tmp_path / "data"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**server_env, "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode != 0
    assert "PostgreSQL backend is not available yet" in result.stdout + result.stderr


def test_reset_erases_the_whole_store_for_an_admin(strict: LiveServer) -> None:
    """(On this module's own server: the shared one must keep other tests' data.)"""
    with strict.client() as admin:
        admin.add("one", user_id="r1", infer=False)
        admin.add("two", agent_id="r2", infer=False)
        admin.reset()
        assert admin.scopes().results == []
        assert admin.count(user_id="r1") == 0
