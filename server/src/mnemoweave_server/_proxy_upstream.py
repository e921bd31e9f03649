"""The chat proxy's upstream: one OpenAI-compatible endpoint, reached with the server's key.

Requests go out with the upstream key (read from the environment variable the settings
name, never from the settings themselves) and come back with only a few headers kept, so
nothing of the upstream's credentials reaches a client: a 401/403 from the upstream becomes
a 502 that says the proxy's credentials were refused, and the key is masked in any error
body passed on. Other upstream errors keep their status (429 with its ``Retry-After``, 5xx)
with a body naming the upstream; a timeout is a 504 and an unreachable upstream a 502.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
from fastapi.responses import JSONResponse, Response, StreamingResponse

from ._metrics import Metrics
from ._settings import ServerSettings

logger = logging.getLogger("mnemoweave.server")

#: Upstream headers a client may see; everything else (cookies, org ids...) stays here.
_KEPT_HEADERS = ("x-request-id", "retry-after", "retry-after-ms", "x-should-retry")
_KEPT_PREFIXES = ("x-ratelimit-",)


class Upstream:
    """An ``httpx.AsyncClient`` on the upstream's base URL, its key, and the model map."""

    def __init__(self, settings: ServerSettings, metrics: Metrics) -> None:
        assert settings.proxy_upstream is not None
        self.base_url = settings.proxy_upstream.rstrip("/")
        self.models = dict(settings.proxy_models)
        self.metrics = metrics
        self._key = os.environ.get(settings.proxy_api_key_env) or ""
        headers = {"Accept-Encoding": "identity"}  # pass stream bytes on exactly as sent
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        self.client = httpx.AsyncClient(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(
                settings.proxy_timeout, connect=min(10.0, settings.proxy_timeout)
            ),
            follow_redirects=False,
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    def model(self, requested: str) -> str:
        """The upstream model for a requested one (``"*"`` maps every other model)."""
        return self.models.get(requested) or self.models.get("*") or requested

    # -- sending ---------------------------------------------------------------------------
    async def get(self, path: str) -> Response:
        """A GET passed through (``/models``), errors mapped like chat requests."""
        try:
            answer = await self.client.get(path)
        except httpx.HTTPError as exc:
            return self._unreachable(exc)
        return self._plain(answer)

    async def chat(self, body: dict[str, Any]) -> tuple[Response, bytes | None]:
        """Send a non-streamed chat request: the response for the client, and the upstream
        body when it succeeded (to remember the exchange from)."""
        try:
            answer = await self.client.post("/chat/completions", json=body)
        except httpx.HTTPError as exc:
            return self._unreachable(exc), None
        response = self._plain(answer)
        return response, answer.content if answer.status_code < 400 else None

    async def chat_stream(
        self, body: dict[str, Any], on_chunk: Callable[[bytes], None], on_end: Callable[[], None]
    ) -> Response:
        """Send a streamed chat request and pass the upstream's bytes on as they arrive.

        ``on_chunk`` sees every chunk; ``on_end`` runs once the upstream stream ended cleanly
        (not when it broke off or the client went away).
        """
        request = self.client.build_request("POST", "/chat/completions", json=body)
        try:
            answer = await self.client.send(request, stream=True)
        except httpx.HTTPError as exc:
            return self._unreachable(exc)
        self.metrics.count("proxy_upstream_responses", "status", str(answer.status_code))
        if answer.status_code >= 400:
            await answer.aread()
            await answer.aclose()
            return self._error(answer)

        async def relay() -> AsyncIterator[bytes]:
            ended = False
            try:
                async for chunk in answer.aiter_raw():
                    on_chunk(chunk)
                    yield chunk
                ended = True
            except httpx.HTTPError as exc:
                logger.warning("mnemoweave-server: upstream stream broke off: %r", exc)
            finally:
                await answer.aclose()
                if ended:
                    on_end()

        return StreamingResponse(
            relay(),
            status_code=answer.status_code,
            media_type=answer.headers.get("content-type", "text/event-stream"),
            headers=self._kept(answer),
        )

    # -- answers ---------------------------------------------------------------------------
    def _kept(self, answer: httpx.Response) -> dict[str, str]:
        return {
            k: v
            for k, v in answer.headers.items()
            if k.lower() in _KEPT_HEADERS or k.lower().startswith(_KEPT_PREFIXES)
        }

    def _scrub(self, text: str) -> str:
        return text.replace(self._key, "***") if self._key else text

    def _plain(self, answer: httpx.Response) -> Response:
        self.metrics.count("proxy_upstream_responses", "status", str(answer.status_code))
        if answer.status_code >= 400:
            return self._error(answer)
        return Response(
            answer.content,
            status_code=answer.status_code,
            media_type=answer.headers.get("content-type", "application/json"),
            headers=self._kept(answer),
        )

    def _error(self, answer: httpx.Response) -> Response:
        status = answer.status_code
        if status in (401, 403, 407):
            message = (
                f"the upstream refused the proxy's credentials (HTTP {status}); the server's "
                "upstream API key is missing or wrong"
            )
            return JSONResponse(_openai_error(message, "upstream_auth_error", None), 502)
        upstream_message, kind, code = _upstream_error(answer)
        message = f"upstream answered HTTP {status}: {self._scrub(upstream_message)}"
        return JSONResponse(_openai_error(message, kind, code), status, headers=self._kept(answer))

    def _unreachable(self, exc: httpx.HTTPError) -> Response:
        if isinstance(exc, httpx.TimeoutException):
            self.metrics.count("proxy_upstream_responses", "status", "timeout")
            message = f"the upstream did not answer in time ({type(exc).__name__})"
            return JSONResponse(_openai_error(message, "upstream_timeout", None), 504)
        self.metrics.count("proxy_upstream_responses", "status", "unreachable")
        message = f"the upstream could not be reached ({type(exc).__name__})"
        return JSONResponse(_openai_error(message, "upstream_unreachable", None), 502)


def _openai_error(message: str, kind: str, code: Any) -> dict[str, Any]:
    """The server's error body (``detail``) whose ``error`` is OpenAI's shape, which SDKs
    turn into their exceptions' message, type and code."""
    error = {"message": message, "type": kind, "code": code, "param": None}
    return {"detail": message, "error": error}


def _upstream_error(answer: httpx.Response) -> tuple[str, str, Any]:
    """Message, type and code of an upstream error body (OpenAI's shape, or any text)."""
    text = answer.text
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        kind = error.get("type")
        return (
            str(error["message"]),
            kind if isinstance(kind, str) else "upstream_error",
            error.get("code"),
        )
    if isinstance(error, str):
        return error, "upstream_error", None
    return (text.strip()[:500] or answer.reason_phrase), "upstream_error", None
