"""Service routes: health, readiness, metrics, server info, scopes, message windows,
embedding, admin operations and webhook registration."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, PlainTextResponse

import mnemoweave
from mnemoweave import ScopeList
from mnemoweave.embed import embed_texts

from ._context import Principal, authenticate, context_of
from ._limits import check_texts
from ._models import (
    EmbedBody,
    MessagesAppendBody,
    MessagesListBody,
    Scoped,
    WebhookBody,
    plain_messages,
)
from ._webhooks import EVENTS, check_target

router = APIRouter()
api = APIRouter(prefix="/api/v1")

Auth = Annotated[Principal, Depends(authenticate)]


# -- liveness, readiness, metrics ----------------------------------------------------------
@router.get("/health", tags=["service"], summary="Liveness: the process answers")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready", tags=["service"], summary="Readiness: the store is open and answers")
def ready(request: Request) -> JSONResponse:
    ctx = getattr(request.app.state, "context", None)
    if ctx is None:
        return JSONResponse({"status": "starting"}, status_code=503)
    try:
        ctx.memory.count(user_id="__readiness__")
    except Exception as exc:
        return JSONResponse(
            {"status": "unavailable", "reason": type(exc).__name__}, status_code=503
        )
    return JSONResponse({"status": "ready"})


@router.get("/metrics", tags=["service"], summary="Prometheus metrics (text format)")
async def metrics(request: Request) -> PlainTextResponse:
    ctx = context_of(request)
    if not ctx.settings.metrics_public:
        (await authenticate(request)).require_admin()
    return PlainTextResponse(ctx.metrics.render(), media_type="text/plain; version=0.0.4")


# -- what the server is -----------------------------------------------------------------------
def _llm_model(llm: Any) -> str | None:
    if llm is None:
        return None
    config = getattr(llm, "config", None)
    return str(getattr(config, "model", None) or getattr(llm, "model", None) or type(llm).__name__)


@api.get("/info", tags=["service"], summary="The server's version, embedder, LLM and this key")
def info(request: Request, who: Auth) -> JSONResponse:
    ctx = context_of(request)
    mem = ctx.memory
    model = _llm_model(mem.llm)
    cfg = mem.config
    return JSONResponse(
        {
            "version": mnemoweave.__version__,
            "embedder": {"model": mem.embedder.model_id, "dim": int(mem.embedder.dim)},
            "llm": {"model": model} if model else None,
            "config": {
                "reconcile_limit": cfg.reconcile_limit,
                "keyword_weight": cfg.keyword_weight,
                "message_window": cfg.message_window,
                "durability": cfg.durability,
            },
            "limits": {
                "max_body_bytes": ctx.settings.max_body_bytes,
                "max_text_chars": ctx.settings.max_text_chars,
                "max_batch": ctx.settings.max_batch,
                "rate_limit": ctx.settings.rate_limit,
            },
            "key": who.key.to_dict(),
        }
    )


@api.get("/scopes", response_model=ScopeList, tags=["memories"], summary="Scopes and counts")
def scopes(request: Request, who: Auth) -> JSONResponse:
    found = context_of(request).memory.scopes()
    visible = [s for s in found.results if who.key.allows_user(s.user_id)]
    return JSONResponse(ScopeList(results=visible).to_dict())


@api.post("/embed", tags=["service"], summary="Embed texts with the server's embedder")
def embed(body: EmbedBody, request: Request, who: Auth) -> JSONResponse:
    ctx = context_of(request)
    check_texts(ctx.settings.max_text_chars, [("texts", body.texts)])
    if not body.texts:
        return JSONResponse({"vectors": []})
    vectors = embed_texts(ctx.memory.embedder, body.texts)
    return JSONResponse({"vectors": vectors.astype(float).tolist()})


# -- the raw message window -------------------------------------------------------------------
def _ids(who: Principal, body: Scoped) -> dict[str, Any]:
    return who.scope(body.user_id, body.agent_id, body.run_id)


@api.post("/messages/list", tags=["messages"], summary="A scope's recent raw messages")
def get_messages(body: MessagesListBody, request: Request, who: Auth) -> JSONResponse:
    ctx = context_of(request)
    found = ctx.memory.get_messages(**_ids(who, body), limit=body.limit)
    return JSONResponse([{**m, "created_at": m["created_at"].isoformat()} for m in found])


@api.post("/messages", tags=["messages"], summary="Append raw messages (no memories)")
def append_messages(body: MessagesAppendBody, request: Request, who: Auth) -> JSONResponse:
    ctx = context_of(request)
    who.require_write()
    messages = plain_messages(body.messages)
    check_texts(ctx.settings.max_text_chars, [("messages", messages)])
    ctx.memory.append_messages(messages, **_ids(who, body))
    return JSONResponse({"message": "appended"})


@api.post("/messages/clear", tags=["messages"], summary="Erase a scope's raw messages")
def clear_messages(body: Scoped, request: Request, who: Auth) -> JSONResponse:
    ctx = context_of(request)
    who.require_write()
    return JSONResponse({"deleted": ctx.memory.clear_messages(**_ids(who, body))})


# -- admin -----------------------------------------------------------------------------------
@api.post("/admin/reset", tags=["admin"], summary="Erase the whole store (admin key)")
def reset(request: Request, who: Auth) -> JSONResponse:
    who.require_admin()
    context_of(request).memory.reset()
    return JSONResponse({"message": "store reset"})


@api.post("/admin/verify", tags=["admin"], summary="Check the store's integrity (admin key)")
def verify(request: Request, who: Auth) -> JSONResponse:
    who.require_admin()
    return JSONResponse(context_of(request).memory.verify())


@api.post("/admin/checkpoint", tags=["admin"], summary="Fold the WAL into the database")
def checkpoint(request: Request, who: Auth) -> JSONResponse:
    who.require_admin()
    context_of(request).memory.checkpoint()
    return JSONResponse({"message": "checkpointed"})


# -- webhooks --------------------------------------------------------------------------------
@api.post("/webhooks", tags=["webhooks"], status_code=201, summary="Register a webhook")
def create_webhook(body: WebhookBody, request: Request, who: Auth) -> JSONResponse:
    ctx = context_of(request)
    who.require_write()
    url = check_target(body.url, allow_private=ctx.settings.webhooks_allow_private)
    events = tuple(dict.fromkeys(body.events)) if body.events else EVENTS
    hook = ctx.webhooks.add(url, events, who.key.id)
    return JSONResponse(hook.public(with_secret=True), status_code=201)


@api.get("/webhooks", tags=["webhooks"], summary="This key's webhooks (admin: all)")
def list_webhooks(request: Request, who: Auth) -> JSONResponse:
    ctx = context_of(request)
    owner = None if who.key.admin else who.key.id
    return JSONResponse([h.public() for h in ctx.webhooks.list(owner)])


@api.delete("/webhooks/{webhook_id}", tags=["webhooks"], summary="Remove a webhook")
def delete_webhook(webhook_id: str, request: Request, who: Auth) -> JSONResponse:
    ctx = context_of(request)
    who.require_write()
    ctx.webhooks.delete(webhook_id, None if who.key.admin else who.key.id)
    return JSONResponse({"message": "webhook deleted", "id": webhook_id})
