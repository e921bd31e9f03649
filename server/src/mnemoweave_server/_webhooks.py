"""Webhooks: memory events delivered to registered URLs, signed, retried, never in the way.

``Memory(on_event=dispatcher.submit)`` puts each committed ADD/UPDATE/DELETE on a bounded
queue and returns at once; a background thread matches events to webhooks (a webhook only
receives events of users its owner key may touch) and sends them from a small thread pool,
one at a time and in commit order per webhook, retrying failures (connection errors, 429,
5xx) with exponential backoff. Each request
carries ``X-Mnemoweave-Signature: sha256=HMAC(secret, "<timestamp>.<body>")``.

Targets must resolve to public addresses unless the server allows private ones (tests,
one-host setups): checked when a webhook is registered and again before every delivery.
Redirects are not followed. Pending deliveries live in memory: a restart drops them.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import queue
import secrets
import socket
import sqlite3
import threading
import time
import uuid
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from hashlib import sha256
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from mnemoweave.errors import NotFoundError, ValidationError
from mnemoweave.events import MemoryEvent

from ._keys import KeyStore
from ._metrics import Metrics

logger = logging.getLogger("mnemoweave.server")

EVENTS = ("ADD", "UPDATE", "DELETE")
SIGNATURE_HEADER = "X-Mnemoweave-Signature"
TIMESTAMP_HEADER = "X-Mnemoweave-Timestamp"


# -- signing ------------------------------------------------------------------------------
def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp`` (epoch seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(
    secret: str,
    body: bytes,
    timestamp: str | int,
    signature: str,
    *,
    tolerance: float = 300.0,
    now: float | None = None,
) -> bool:
    """Check a delivery as a receiver: right signature, and sent within ``tolerance`` seconds."""
    try:
        stamp = int(timestamp)
    except (TypeError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - stamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, stamp, body), signature)


# -- where deliveries may go ----------------------------------------------------------------
def check_target(url: Any, *, allow_private: bool) -> str:
    """``url`` if it is an http(s) URL whose host resolves only to allowed addresses."""
    if not isinstance(url, str) or len(url) > 2048:
        raise ValidationError("url must be an http:// or https:// URL of at most 2048 characters")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(f"url must be an http:// or https:// URL, got {url!r}")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ValidationError(f"url {url!r} has an invalid port") from None
    if allow_private:
        return url
    host = parts.hostname
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            raise ValidationError(f"the webhook host {host!r} does not resolve") from None
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in found]
    blocked = [str(a) for a in addresses if not a.is_global]
    if blocked:
        raise ValidationError(
            f"webhook url {url!r} points at a private, loopback or reserved address "
            f"({', '.join(blocked)}); the server refuses those unless started with "
            "webhooks_allow_private (--allow-private-webhooks)"
        )
    return url


# -- registrations ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Webhook:
    id: str
    url: str
    events: tuple[str, ...]
    owner: str
    created_at: str
    secret: str = field(repr=False)

    def public(self, *, with_secret: bool = False) -> dict[str, Any]:
        out = {
            "id": self.id,
            "url": self.url,
            "events": list(self.events),
            "owner": self.owner,
            "created_at": self.created_at,
        }
        if with_secret:
            out["secret"] = self.secret
        return out


_SCHEMA = """
CREATE TABLE IF NOT EXISTS webhooks (
    id TEXT PRIMARY KEY, url TEXT NOT NULL, events TEXT NOT NULL, owner TEXT NOT NULL,
    secret TEXT NOT NULL, created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta (key, value) VALUES ('version', 0);
"""


class WebhookStore:
    """Registered webhooks in the server's own SQLite file (shared by every worker)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._conn = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False, timeout=30
        )
        self._lock = threading.Lock()
        with self._lock:
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.executescript(_SCHEMA)
        self._version = -1
        self._cache: list[Webhook] = []

    def add(self, url: str, events: tuple[str, ...], owner: str) -> Webhook:
        hook = Webhook(
            id=uuid.uuid4().hex,
            url=url,
            events=events,
            owner=owner,
            created_at=datetime.now(UTC).isoformat(),
            secret="whsec_" + secrets.token_urlsafe(32),
        )
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute(
                "INSERT INTO webhooks (id, url, events, owner, secret, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (hook.id, url, json.dumps(list(events)), owner, hook.secret, hook.created_at),
            )
            self._conn.execute("UPDATE meta SET value = value + 1 WHERE key = 'version'")
            self._conn.execute("COMMIT")
        return hook

    def delete(self, hook_id: str, owner: str | None) -> None:
        """Remove a webhook (``owner=None``: any owner, for admin keys)."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            sql, args = "DELETE FROM webhooks WHERE id = ?", [hook_id]
            if owner is not None:
                sql, args = sql + " AND owner = ?", [hook_id, owner]
            gone = self._conn.execute(sql, args).rowcount
            self._conn.execute("UPDATE meta SET value = value + 1 WHERE key = 'version'")
            self._conn.execute("COMMIT")
        if not gone:
            raise NotFoundError(f"no webhook with id {hook_id!r}")

    def list(self, owner: str | None = None) -> list[Webhook]:
        """The webhooks of ``owner`` (every one for ``None``), as the file holds them now."""
        with self._lock:
            version = self._conn.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
            if version[0] != self._version:
                rows = self._conn.execute(
                    "SELECT id, url, events, owner, created_at, secret FROM webhooks"
                    " ORDER BY created_at"
                ).fetchall()
                self._cache = [
                    Webhook(r[0], r[1], tuple(json.loads(r[2])), r[3], r[4], r[5]) for r in rows
                ]
                self._version = version[0]
            hooks = self._cache
        return [h for h in hooks if owner is None or h.owner == owner]

    def close(self) -> None:
        with self._lock:
            self._conn.close()


# -- delivery ---------------------------------------------------------------------------------
@dataclass(slots=True)
class _Delivery:
    hook: Webhook
    body: bytes
    event: str
    delivery_id: str
    attempt: int = 1


class Dispatcher:
    """Matches events to webhooks and delivers them in the background (see the module doc).

    Each webhook has a lane: its deliveries are sent one at a time, in commit order, so a
    receiver sees ADD before the UPDATE of the same memory; a delivery being retried holds
    back the later ones of its webhook only (other webhooks keep going).
    """

    def __init__(
        self,
        store: WebhookStore,
        keys: KeyStore,
        metrics: Metrics,
        *,
        allow_private: bool,
        timeout: float,
        attempts: int,
        backoff: float,
        capacity: int = 10_000,
    ) -> None:
        self.store, self.keys, self.metrics = store, keys, metrics
        self.allow_private, self.attempts, self.backoff = allow_private, attempts, backoff
        self._events: queue.Queue[MemoryEvent | None] = queue.Queue(maxsize=capacity)
        self._lanes: dict[str, deque[_Delivery]] = {}
        self._lanes_lock = threading.Lock()
        self._http = httpx.Client(timeout=timeout, follow_redirects=False)
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="mnemoweave-webhook")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mnemoweave-webhooks", daemon=True)
        self._thread.start()

    def submit(self, event: MemoryEvent) -> None:
        """The ``on_event`` hook: enqueue and return at once (drop, counted, when full)."""
        try:
            self._events.put_nowait(event)
        except queue.Full:
            self.metrics.count("webhook_deliveries", "outcome", "dropped")
            logger.warning("mnemoweave-server: webhook queue full; dropped an event")

    def _enqueue(self, delivery: _Delivery) -> None:
        """Append to the webhook's lane, starting a drainer when the lane was idle."""
        hook_id = delivery.hook.id
        with self._lanes_lock:
            lane = self._lanes.get(hook_id)
            if lane is not None:
                lane.append(delivery)
                return
            self._lanes[hook_id] = deque([delivery])
        self._pool.submit(self._drain, hook_id)

    def _drain(self, hook_id: str) -> None:
        while True:
            with self._lanes_lock:
                lane = self._lanes[hook_id]
                if not lane or self._stop.is_set():
                    del self._lanes[hook_id]
                    return
                delivery = lane[0]
            self._deliver(delivery)
            with self._lanes_lock:
                lane.popleft()

    def _route(self, event: MemoryEvent) -> None:
        hooks = [h for h in self.store.list() if event.event in h.events]
        if not hooks:
            return
        body = json.dumps(
            {
                "event": event.event,
                "data": event.to_dict(),
                "sent_at": datetime.now(UTC).isoformat(),
            }
        ).encode()
        for hook in hooks:
            owner = self.keys.get(hook.owner)
            if owner is None or owner.revoked_at or not owner.allows_user(event.user_id):
                continue
            self._enqueue(_Delivery(hook, body, event.event, uuid.uuid4().hex))

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                event = self._events.get(timeout=0.5)
            except queue.Empty:
                continue
            if event is None:
                continue
            try:
                self._route(event)
            except Exception:
                logger.exception("mnemoweave-server: could not route a webhook event")

    def _deliver(self, delivery: _Delivery) -> None:
        """Send one delivery, retrying with exponential backoff until it lands or gives up."""
        while True:
            retry, reason = self._attempt(delivery)
            if reason is None:
                self.metrics.count("webhook_deliveries", "outcome", "delivered")
                return
            if not retry or delivery.attempt >= self.attempts or self._stop.is_set():
                break
            self.metrics.count("webhook_deliveries", "outcome", "retried")
            if self._stop.wait(self.backoff * 2 ** (delivery.attempt - 1)):
                break
            delivery.attempt += 1
        self.metrics.count("webhook_deliveries", "outcome", "failed")
        logger.warning(
            "mnemoweave-server: webhook %s gave up after %d attempt(s): %s",
            delivery.hook.id,
            delivery.attempt,
            reason,
        )

    def _attempt(self, delivery: _Delivery) -> tuple[bool, str | None]:
        """One POST: ``(retryable, None)`` on success, else ``(retryable, reason)``."""
        stamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "mnemoweave-webhooks",
            "X-Mnemoweave-Event": delivery.event,
            "X-Mnemoweave-Delivery": delivery.delivery_id,
            TIMESTAMP_HEADER: str(stamp),
            SIGNATURE_HEADER: sign(delivery.hook.secret, stamp, delivery.body),
        }
        try:
            check_target(delivery.hook.url, allow_private=self.allow_private)
            response = self._http.post(delivery.hook.url, content=delivery.body, headers=headers)
        except ValidationError as exc:
            return False, str(exc)
        except httpx.HTTPError as exc:
            return True, f"{type(exc).__name__}: {exc}"
        if response.status_code < 300:
            return True, None
        retryable = response.status_code == 429 or response.status_code >= 500
        return retryable, f"HTTP {response.status_code}"

    def close(self, grace: float = 2.0) -> None:
        """Stop taking events; deliver what is pending within ``grace`` seconds, then stop."""
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and (not self._events.empty() or self._busy()):
            time.sleep(0.05)
        self._stop.set()
        self._thread.join(timeout=5)
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._http.close()

    def _busy(self) -> bool:
        with self._lanes_lock:
            return bool(self._lanes)
