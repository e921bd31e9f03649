"""Request limits: body size (an ASGI middleware), text lengths, and a per-key rate limit."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Any

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._errors import PayloadTooLarge, error_body


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with a 413 (declared or streamed)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await _send_json(send, 413, self._message())
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    # FastAPI re-raises HTTPExceptions from body reading; ours become JSON.
                    raise HTTPException(413, self._message())
            return message

        await self.app(scope, counted, send)

    def _message(self) -> str:
        return f"the request body is larger than this server accepts ({self.limit} bytes)"


async def _send_json(send: Send, status: int, message: str) -> None:
    import json

    body = json.dumps(error_body("ValidationError", message)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", b"%d" % len(body)),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def check_texts(limit: int, named: Iterable[tuple[str, Any]]) -> None:
    """Raise a 413 ``ValidationError`` naming the first text longer than ``limit`` characters.

    ``named`` pairs a field name with a value: a string, a message dict, or a list of either
    (message contents are checked, including the text parts of multi-part content).
    """
    for name, value in named:
        for where, text in _texts(name, value):
            if len(text) > limit:
                raise PayloadTooLarge(
                    f"{where} is {len(text)} characters long; this server accepts {limit}"
                )


def _texts(name: str, value: Any) -> Iterable[tuple[str, str]]:
    if isinstance(value, str):
        yield name, value
    elif isinstance(value, dict):
        content = value.get("content")
        yield from _texts(f"{name}.content", content)
        text = value.get("text")
        if isinstance(text, str):
            yield f"{name}.text", text
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _texts(f"{name}[{i}]", item)


class RateLimiter:
    """A token bucket per API key: ``rate`` requests a second on average, ``burst`` at once."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key_id: str) -> float | None:
        """Spend one token; ``None`` if allowed, else the seconds until one is available."""
        if self.rate <= 0:
            return None
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key_id, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key_id] = (tokens - 1.0, now)
                return None
            self._buckets[key_id] = (tokens, now)
            return (1.0 - tokens) / self.rate
