"""Webhooks: signed deliveries of committed events, retried, never blocking a write, scoped to
the owner key's users, and refused for private targets unless the server allows them."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from mnemoweave.errors import ValidationError
from mnemoweave_server import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature
from mnemoweave_server._webhooks import check_target
from mnemoweave_server.testing import LiveServer


class Receiver:
    """A real HTTP endpoint on 127.0.0.1 that records deliveries and answers as scripted."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []  # answered in order; 200 once they run out
        self.gate = threading.Event()
        self.gate.set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.gate.wait(timeout=30)
                receiver.requests.append((dict(self.headers), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.requests]

    def wait_for(self, check: Callable[[], bool], timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            time.sleep(0.02)
        raise AssertionError(f"timed out; received {self.events()}")

    def close(self) -> None:
        self.gate.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    yield rec
    rec.close()


def register(live: LiveServer, key: str, url: str, **extra: Any) -> dict[str, Any]:
    answer = httpx.post(
        f"{live.url}/api/v1/webhooks",
        json={"url": url, **extra},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def test_events_are_delivered_signed(live: LiveServer, receiver: Receiver, uid: str) -> None:
    key = live.create_key("hooks", users=[uid]).key
    hook = register(live, key, receiver.url)
    assert hook["secret"].startswith("whsec_")
    assert hook["events"] == ["ADD", "UPDATE", "DELETE"]
    with live.client(key) as client:
        mid = client.add("I like jazz", user_id=uid, infer=False).results[0].id
        client.update(mid, "I like blues")
        client.delete(mid)
    receiver.wait_for(lambda: len(receiver.requests) == 3)
    kinds = [(e["event"], e["data"]["memory_id"], e["data"]["memory"]) for e in receiver.events()]
    assert kinds == [
        ("ADD", mid, "I like jazz"),
        ("UPDATE", mid, "I like blues"),
        ("DELETE", mid, None),
    ]
    assert receiver.events()[1]["data"]["previous_memory"] == "I like jazz"
    for headers, body in receiver.requests:
        assert verify_signature(
            hook["secret"], body, headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER]
        )
        assert not verify_signature(
            "whsec_wrong", body, headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER]
        )
        assert not verify_signature(
            hook["secret"], body + b" ", headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER]
        )
    listed = httpx.get(f"{live.url}/api/v1/webhooks", headers={"Authorization": f"Bearer {key}"})
    assert [h["id"] for h in listed.json()] == [hook["id"]]
    assert "secret" not in listed.json()[0]
    gone = httpx.delete(
        f"{live.url}/api/v1/webhooks/{hook['id']}", headers={"Authorization": f"Bearer {key}"}
    )
    assert gone.status_code == 200


def test_each_webhook_receives_events_in_commit_order(
    live: LiveServer, receiver: Receiver, uid: str
) -> None:
    key = live.create_key("order", users=[uid]).key
    register(live, key, receiver.url)
    receiver.gate.clear()  # hold the first delivery so the later ones queue up behind it
    with live.client(key) as client:
        mid = client.add("version 0", user_id=uid, infer=False).results[0].id
        for i in range(1, 8):
            client.update(mid, f"version {i}")
    receiver.gate.set()
    receiver.wait_for(lambda: len(receiver.requests) == 8)
    assert [e["data"]["memory"] for e in receiver.events()] == [f"version {i}" for i in range(8)]


def test_failures_are_retried_with_backoff(live: LiveServer, receiver: Receiver, uid: str) -> None:
    key = live.create_key("retry", users=[uid]).key
    register(live, key, receiver.url, events=["ADD"])
    receiver.statuses = [500, 503]
    with live.client(key) as client:
        client.add("retry me", user_id=uid, infer=False)
    receiver.wait_for(lambda: len(receiver.requests) == 3)
    ids = {headers["X-Mnemoweave-Delivery"] for headers, _ in receiver.requests}
    assert len(ids) == 1  # the same delivery, attempted three times
    assert all(e["data"]["memory"] == "retry me" for e in receiver.events())


def test_a_slow_receiver_never_blocks_a_write(
    live: LiveServer, receiver: Receiver, uid: str
) -> None:
    key = live.create_key("slow", users=[uid]).key
    register(live, key, receiver.url)
    receiver.gate.clear()  # the receiver hangs until released
    with live.client(key) as client:
        for i in range(3):
            client.add(f"fast write {i}", user_id=uid, infer=False)
        assert client.count(user_id=uid) == 3  # all three writes answered meanwhile
    assert receiver.requests == []
    receiver.gate.set()
    receiver.wait_for(lambda: len(receiver.requests) == 3)


def test_webhooks_only_see_their_owners_users(
    live: LiveServer, receiver: Receiver, uid: str
) -> None:
    other = f"{uid}-other"
    key = live.create_key("mine", users=[uid]).key
    register(live, key, receiver.url)
    with live.client() as admin:
        admin.add("someone else's secret", user_id=other, infer=False)
        admin.add("mine to see", user_id=uid, infer=False)
        receiver.wait_for(lambda: len(receiver.requests) == 1)
        # Events are routed in order: once a later one arrived, an earlier wrongly routed
        # one would have been sent too.
        admin.add("mine again", user_id=uid, infer=False)
        receiver.wait_for(lambda: len(receiver.requests) >= 2)
    seen = sorted(e["data"]["memory"] for e in receiver.events())
    assert seen == ["mine again", "mine to see"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://0.0.0.0/hook",
        "ftp://93.184.216.34/hook",
        "not a url",
    ],
)
def test_private_and_odd_targets_are_refused(url: str) -> None:
    with pytest.raises(ValidationError):
        check_target(url, allow_private=False)


def test_a_public_ip_target_is_accepted_without_any_lookup() -> None:
    assert check_target("https://93.184.216.34/hook", allow_private=False)


def test_the_server_refuses_private_targets_by_default(
    sandbox: Path, server_env: dict[str, str]
) -> None:
    with LiveServer(sandbox / "no-private", env=server_env) as server:
        answer = httpx.post(
            f"{server.url}/api/v1/webhooks",
            json={"url": "http://127.0.0.1:9/hook"},
            headers={"Authorization": f"Bearer {server.admin_key}"},
        )
    assert answer.status_code == 422
    assert "private" in answer.json()["detail"]
