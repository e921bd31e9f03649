"""The OpenAI-compatible chat proxy: ``POST /v1/chat/completions`` with long-term memory.

``openai.OpenAI(base_url="http://HOST:8420/v1", api_key="mw_...")`` is all a client
changes. Each request is authenticated with its mnemoweave key and names its user (the
``user`` field or ``X-Mnemoweave-User-Id``; 403 outside the key's users). Its last user
message is searched in that user's memories; the results, as the quoted memory block within
a token budget, join the system message (a new one when there is none); the request goes to
the upstream with the server's key and the mapped model, and the upstream's answer comes
back as it is (streams chunk by chunk). The exchange is remembered afterwards on a worker
thread, never delaying the answer; failures are logged and counted in ``/metrics``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import Response

from mnemoweave import AddResult, Memory
from mnemoweave.errors import ConfigurationError, ValidationError
from mnemoweave.llm.memory_block import render_memories

from ._context import Principal, ServerContext, authenticate, context_of
from ._limits import check_texts
from ._metrics import Metrics
from ._proxy_messages import StreamText, check_request, completion_text, inject, last_user_text
from ._proxy_upstream import Upstream
from ._session import request_scope

logger = logging.getLogger("mnemoweave.server")

router = APIRouter(tags=["chat proxy"])
Auth = Annotated[Principal, Depends(authenticate)]


class Rememberer:
    """Adds finished exchanges to the store on worker threads, off the request path.

    At most ``max_pending`` adds wait at once (more are dropped and counted); ``close``
    waits for the waiting ones, so a clean shutdown loses none.
    """

    def __init__(
        self,
        memory: Memory,
        metrics: Metrics,
        *,
        infer: bool | None,
        max_text_chars: int,
        max_pending: int = 256,
    ) -> None:
        self.memory = memory
        self.metrics = metrics
        self.infer = infer
        self.max_text_chars = max_text_chars
        self.max_pending = max_pending
        self._pending = 0
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="mnemoweave-remember")

    def submit(self, ids: Mapping[str, Any], user_text: str, reply_text: str) -> None:
        if not user_text or not reply_text:
            self.metrics.count("proxy_remembered", "outcome", "skipped")
            return
        with self._lock:
            if self._pending >= self.max_pending:
                self.metrics.count("proxy_remembered", "outcome", "dropped")
                logger.warning("mnemoweave-server: proxy exchange not remembered (queue full)")
                return
            self._pending += 1
        messages = [
            {"role": "user", "content": user_text},
            {"role": "assistant", "content": reply_text},
        ]
        self._pool.submit(self._remember, dict(ids), messages)

    def _remember(self, ids: dict[str, Any], messages: list[dict[str, str]]) -> None:
        outcome = "error"
        try:
            check_texts(self.max_text_chars, [("messages", messages)])
            result = self.memory.add(messages, **ids, infer=self.infer)
            assert isinstance(result, AddResult)
            self.metrics.observe_usage(result.usage)
            outcome = "ok"
        except Exception:
            logger.exception("mnemoweave-server: could not remember a proxied exchange")
        finally:
            with self._lock:
                self._pending -= 1
            self.metrics.count("proxy_remembered", "outcome", outcome)

    def close(self) -> None:
        self._pool.shutdown(wait=True)


@dataclass(frozen=True, slots=True)
class Proxy:
    upstream: Upstream
    rememberer: Rememberer


def _proxy(request: Request) -> Proxy:
    found = getattr(request.app.state, "proxy", None)
    if not isinstance(found, Proxy):
        raise ConfigurationError(
            "this server has no chat upstream: start it with --proxy-upstream URL "
            "(the base URL of an OpenAI-compatible API, e.g. http://127.0.0.1:11434/v1)"
        )
    return found


async def _body(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        raise ValidationError("the request body is not valid JSON") from None


async def _recall(ctx: ServerContext, ids: Mapping[str, Any], query: str) -> str:
    if not query:
        return ""
    settings = ctx.settings
    text, limit = query[: settings.max_text_chars], settings.proxy_recall_limit
    found = await asyncio.to_thread(lambda: ctx.memory.search(text, **ids, limit=limit))
    return render_memories(found.results, token_budget=settings.proxy_token_budget)


@router.post(
    "/v1/chat/completions",
    summary="OpenAI-compatible chat completions, with the user's memories recalled",
)
async def chat_completions(request: Request, who: Auth) -> Response:
    ctx = context_of(request)
    proxy = _proxy(request)
    body = check_request(await _body(request))
    ids = request_scope(who, request, user=body.get("user"), what="this chat request")
    user_text = last_user_text(body["messages"])
    block = await _recall(ctx, ids, user_text)
    forward = {
        **body,
        "model": proxy.upstream.model(body["model"]),
        "messages": inject(body["messages"], block),
    }
    remember = ctx.settings.proxy_remember and not who.key.read_only
    if body.get("stream"):
        reply = StreamText()

        def ended() -> None:
            if remember:
                proxy.rememberer.submit(ids, user_text, reply.text)

        return await proxy.upstream.chat_stream(forward, reply.feed, ended)
    response, raw = await proxy.upstream.chat(forward)
    if raw is not None and remember:
        proxy.rememberer.submit(ids, user_text, completion_text(raw))
    return response


@router.get("/v1/models", summary="The upstream's models (for OpenAI clients that list them)")
async def models(request: Request, who: Auth) -> Response:
    return await _proxy(request).upstream.get("/models")


@asynccontextmanager
async def running(app: FastAPI, ctx: ServerContext) -> AsyncIterator[None]:
    """The proxy's upstream client and remembering threads, for the app's lifetime."""
    settings = ctx.settings
    if settings.proxy_upstream is None:
        app.state.proxy = None
        yield
        return
    upstream = Upstream(settings, ctx.metrics)
    rememberer = Rememberer(
        ctx.memory, ctx.metrics, infer=settings.proxy_infer, max_text_chars=settings.max_text_chars
    )
    app.state.proxy = Proxy(upstream, rememberer)
    try:
        yield
    finally:
        app.state.proxy = None
        await upstream.aclose()
        await asyncio.to_thread(rememberer.close)
