"""Faults: scripted failures the server answers with instead of a normal reply.

A :class:`Fault` is a small immutable value. Put it in the server's script like any reply
(``server.script(Fault.rate_limit(), "ok")`` means "429, then success") or return it from a
handler; each fault applies to exactly one request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

__all__ = ["Fault"]

FaultKind = Literal["error", "hang", "disconnect", "malformed"]


def _seconds_headers(retry_after: float | None) -> tuple[tuple[str, str], ...]:
    """``Retry-After`` (seconds) and ``retry-after-ms``, as OpenAI sends them."""
    if retry_after is None:
        return ()
    if retry_after < 0:
        raise ValueError("retry_after must be >= 0 seconds")
    seconds = f"{retry_after:g}"
    return (("Retry-After", seconds), ("retry-after-ms", f"{round(retry_after * 1000)}"))


@dataclass(frozen=True)
class Fault:
    """One scripted failure. Build it with the class methods rather than by hand.

    ``kind`` is ``"error"`` (an HTTP error with an OpenAI-shaped JSON body), ``"hang"``
    (wait ``seconds`` without answering, then drop the connection), ``"disconnect"`` (drop
    the connection at once) or ``"malformed"`` (HTTP ``status`` with ``body`` verbatim).
    """

    kind: FaultKind
    status: int = 500
    message: str = ""
    error_type: str = "server_error"
    code: str | None = None
    param: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    seconds: float = 0.0
    body: str | None = None
    content_type: str = "application/json"

    @classmethod
    def error(
        cls,
        status: int,
        message: str,
        *,
        error_type: str = "api_error",
        code: str | None = None,
        param: str | None = None,
        retry_after: float | None = None,
        should_retry: bool | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Fault:
        """Any HTTP error, answered as ``{"error": {"message", "type", "param", "code"}}``.

        ``retry_after`` (seconds) sets ``Retry-After`` and ``retry-after-ms``;
        ``should_retry`` sets the SDK's ``x-should-retry`` header to force or forbid a retry.
        """
        if not 400 <= status <= 599:
            raise ValueError("an error fault needs an HTTP status in 400..599")
        extra = _seconds_headers(retry_after)
        if should_retry is not None:
            extra += (("x-should-retry", "true" if should_retry else "false"),)
        extra += tuple((headers or {}).items())
        return cls(
            kind="error",
            status=status,
            message=message,
            error_type=error_type,
            code=code,
            param=param,
            headers=extra,
        )

    @classmethod
    def rate_limit(
        cls, retry_after: float | None = 0.05, *, message: str = "Rate limit reached (scripted)."
    ) -> Fault:
        """HTTP 429 with ``Retry-After``; the SDK retries after exactly that delay (if > 0)."""
        return cls.error(
            429, message, error_type="requests", code="rate_limit_exceeded", retry_after=retry_after
        )

    @classmethod
    def server_error(
        cls,
        status: int = 500,
        *,
        retry_after: float | None = None,
        message: str = "The server had an error while processing your request (scripted).",
    ) -> Fault:
        """HTTP 5xx; the SDK retries it (with its own backoff unless ``retry_after`` is set)."""
        if not 500 <= status <= 599:
            raise ValueError("server_error needs a 5xx status")
        return cls.error(status, message, error_type="server_error", retry_after=retry_after)

    @classmethod
    def bad_request(
        cls, message: str, *, param: str | None = None, code: str | None = None
    ) -> Fault:
        """HTTP 400 ``invalid_request_error`` (the SDK never retries it)."""
        return cls.error(400, message, error_type="invalid_request_error", code=code, param=param)

    @classmethod
    def hang(cls, seconds: float) -> Fault:
        """Accept the request, answer nothing for ``seconds``, then close the connection.

        Pick ``seconds`` above the client's timeout to provoke a timeout; the wait ends
        early when the server stops.
        """
        if seconds <= 0:
            raise ValueError("hang needs seconds > 0")
        return cls(kind="hang", seconds=float(seconds))

    @classmethod
    def disconnect(cls) -> Fault:
        """Close the connection without any response (a connection error for the client)."""
        return cls(kind="disconnect")

    @classmethod
    def malformed(
        cls,
        body: str = '{"id": "chatcmpl-broken", "object": "chat.completion", "choices": [',
        *,
        status: int = 200,
        content_type: str = "application/json",
    ) -> Fault:
        """Answer ``status`` with ``body`` verbatim: by default truncated, invalid JSON."""
        return cls(kind="malformed", status=status, body=body, content_type=content_type)
