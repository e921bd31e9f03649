"""The REST API over ``Memory``: ``/api/v1/memories`` and ``/api/v1/batch``.

Every route authenticates, keeps the key inside its users (``Principal.scope`` / ``owned``),
checks text sizes, then makes the one ``Memory`` call of the same name. Handlers are plain
functions: FastAPI runs them in its thread pool, and ``Memory`` is thread-safe.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from mnemoweave import (
    AddResult,
    BatchResult,
    HistoryEntry,
    MemoryItem,
    MemoryList,
    SearchResult,
)
from mnemoweave.errors import NotFoundError, ValidationError

from ._context import Principal, ServerContext, authenticate, context_of
from ._limits import check_texts
from ._models import (
    AddBody,
    BatchAddBody,
    BatchDeleteBody,
    BatchUpdateBody,
    CountBody,
    FeedbackBody,
    ListBody,
    SearchBody,
    UpdateBody,
    plain_messages,
)

router = APIRouter(prefix="/api/v1", tags=["memories"])

Auth = Annotated[Principal, Depends(authenticate)]
MemoryId = Annotated[str, "the memory's id"]


def _json(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status)


def _ctx(request: Request) -> ServerContext:
    return context_of(request)


def _scoped(who: Principal, options: dict[str, Any]) -> dict[str, Any]:
    ids = who.scope(
        options.pop("user_id", None),
        options.pop("agent_id", None),
        options.pop("run_id", None),
        options.get("filters"),
    )
    return {**options, **{k: v for k, v in ids.items() if v is not None}}


def _bounded(ctx: ServerContext, name: str, items: list[Any]) -> None:
    if len(items) > ctx.settings.max_batch:
        raise ValidationError(
            f"{name} holds {len(items)} items; this server takes at most {ctx.settings.max_batch}"
        )


@router.post("/memories", response_model=AddResult, summary="Remember messages for a scope")
def add(body: AddBody, request: Request, who: Auth) -> JSONResponse:
    ctx = _ctx(request)
    who.require_write()
    messages = plain_messages(body.messages)
    check_texts(ctx.settings.max_text_chars, [("messages", messages)])
    options = _scoped(who, body.options("messages"))
    result = ctx.memory.add(messages, **options)
    assert isinstance(result, AddResult)
    ctx.metrics.observe_usage(result.usage)
    return _json(result.to_dict() | {"relations": result.relations})


@router.post("/memories/search", response_model=SearchResult, summary="Search a scope")
def search(body: SearchBody, request: Request, who: Auth) -> JSONResponse:
    ctx = _ctx(request)
    check_texts(ctx.settings.max_text_chars, [("query", body.query)])
    options = _scoped(who, body.options("query"))
    return _json(ctx.memory.search(body.query, **options).to_dict())


@router.post("/memories/list", response_model=MemoryList, summary="List a scope's memories")
def list_memories(body: ListBody, request: Request, who: Auth) -> JSONResponse:
    ctx = _ctx(request)
    return _json(ctx.memory.get_all(**_scoped(who, body.options())).to_dict())


@router.get("/memories", response_model=MemoryList, summary="List a scope's memories (query)")
def list_by_query(
    request: Request,
    who: Auth,
    user_id: str | None = None,
    agent_id: str | None = None,
    run_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
    include_expired: bool = False,
) -> JSONResponse:
    ctx = _ctx(request)
    options: dict[str, Any] = {"user_id": user_id, "agent_id": agent_id, "run_id": run_id}
    options.update(limit=limit, offset=offset, include_expired=include_expired)
    return _json(ctx.memory.get_all(**_scoped(who, options)).to_dict())


@router.post("/memories/count", summary="Count a scope's memories")
def count(body: CountBody, request: Request, who: Auth) -> JSONResponse:
    ctx = _ctx(request)
    return _json({"count": ctx.memory.count(**_scoped(who, body.options()))})


@router.get("/memories/{memory_id}", response_model=MemoryItem, summary="Get one memory")
def get(memory_id: MemoryId, request: Request, who: Auth) -> JSONResponse:
    return _json(who.owned(_ctx(request).memory, memory_id).to_dict())


@router.patch("/memories/{memory_id}", response_model=MemoryItem, summary="Update a memory")
def update(memory_id: MemoryId, body: UpdateBody, request: Request, who: Auth) -> JSONResponse:
    ctx = _ctx(request)
    who.require_write()
    check_texts(ctx.settings.max_text_chars, [("data", body.data), ("text", body.text)])
    who.owned(ctx.memory, memory_id)
    options = body.options("data")
    item = ctx.memory.update(memory_id, body.data, **options)
    return _json(item.to_dict())


@router.delete("/memories/{memory_id}", summary="Erase one memory completely")
def delete(memory_id: MemoryId, request: Request, who: Auth, source: bool = False) -> JSONResponse:
    """``source=true`` also erases the messages the memory was extracted from."""
    ctx = _ctx(request)
    who.require_write()
    who.owned(ctx.memory, memory_id)
    return _json(ctx.memory.delete(memory_id, source=source))


@router.get(
    "/memories/{memory_id}/history",
    response_model=list[HistoryEntry],
    summary="A memory's history",
)
def history(memory_id: MemoryId, request: Request, who: Auth) -> JSONResponse:
    ctx = _ctx(request)
    if who.key.restricted:
        try:
            who.owned(ctx.memory, memory_id)
        except NotFoundError:
            # An erased memory keeps bare history events but no owner: hide them from keys
            # bound to users, worded exactly as for an id without any history.
            raise NotFoundError(
                f"no history for memory id {memory_id!r}", memory_id=memory_id
            ) from None
    return _json([entry.to_dict() for entry in ctx.memory.history(memory_id)])


@router.post("/memories/{memory_id}/feedback", summary="Rate a memory (kept in its history)")
def feedback(memory_id: MemoryId, body: FeedbackBody, request: Request, who: Auth) -> JSONResponse:
    ctx = _ctx(request)
    who.require_write()
    check_texts(ctx.settings.max_text_chars, [("feedback_reason", body.feedback_reason)])
    who.owned(ctx.memory, memory_id)
    return _json(ctx.memory.feedback(memory_id, body.feedback, reason=body.feedback_reason))


@router.delete("/memories", summary="Erase every memory of a scope")
def delete_all(
    request: Request,
    who: Auth,
    user_id: str | None = None,
    agent_id: str | None = None,
    run_id: str | None = None,
) -> JSONResponse:
    ctx = _ctx(request)
    who.require_write()
    ids = who.scope(user_id, agent_id, run_id)
    return _json(ctx.memory.delete_all(**ids))


# -- batches --------------------------------------------------------------------------------
@router.post("/batch/add", response_model=BatchResult, summary="Store raw records at once")
def batch_add(body: BatchAddBody, request: Request, who: Auth) -> JSONResponse:
    ctx = _ctx(request)
    who.require_write()
    _bounded(ctx, "records", body.records)
    records = []
    for record in body.records:
        check_texts(
            ctx.settings.max_text_chars, [("text", record.get("text", record.get("memory")))]
        )
        ids = who.scope(record.get("user_id"), record.get("agent_id"), record.get("run_id"))
        records.append({**record, **{k: v for k, v in ids.items() if v is not None}})
    return _json(ctx.memory.batch_add(records).to_dict())


@router.post("/batch/update", response_model=BatchResult, summary="Update memories at once")
def batch_update(body: BatchUpdateBody, request: Request, who: Auth) -> JSONResponse:
    ctx = _ctx(request)
    who.require_write()
    _bounded(ctx, "updates", body.updates)
    for change in body.updates:
        check_texts(
            ctx.settings.max_text_chars,
            [("text", change.get("text")), ("data", change.get("data"))],
        )
        who.owned(ctx.memory, change.get("memory_id"))
    return _json(ctx.memory.batch_update(body.updates).to_dict())


@router.post("/batch/delete", response_model=BatchResult, summary="Erase memories at once")
def batch_delete(body: BatchDeleteBody, request: Request, who: Auth) -> JSONResponse:
    ctx = _ctx(request)
    who.require_write()
    _bounded(ctx, "memory_ids", body.memory_ids)
    for entry in body.memory_ids:
        who.owned(ctx.memory, entry.get("memory_id") if isinstance(entry, dict) else entry)
    ids: Any = body.memory_ids  # core also takes mem0's {'memory_id': ...} entries
    return _json(ctx.memory.batch_delete(ids, source=body.source).to_dict())
