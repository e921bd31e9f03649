"""The routes mem0's ``MemoryClient`` calls, so ``MemoryClient(host=this server)`` works.

Paths, payloads and answer shapes follow mem0ai's client (2.x calls ``/v3/memories/...`` for
add, list and search, ``/v1/...`` for the rest; older clients call ``/v1`` and ``/v2``
variants, also served). Scope ids may come at the top level or as plain ``filters``; options
mem0 has but mnemoweave does not (``app_id``, custom categories, graph) are refused by name,
and options that only tune mem0's own pipeline (``rerank``, ``version``...) are accepted and
have no effect. Adds run synchronously: the answer already holds the results, with status
``SUCCEEDED``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import JSONResponse

from mnemoweave import AddResult, ScopeList
from mnemoweave._validate import ENTITY_DELETED
from mnemoweave.errors import ValidationError
from mnemoweave.types import EntityKind

from ._context import Principal, ServerContext, authenticate, context_of, plain_filter_id
from ._limits import check_texts

router = APIRouter(tags=["mem0"])
Auth = Annotated[Principal, Depends(authenticate)]
Payload = Annotated[dict[str, Any], Body(default_factory=dict)]

_SCOPE = ("user_id", "agent_id", "run_id")
#: Accepted and without effect here (they steer mem0's hosted pipeline or output format).
_IGNORED = frozenset(
    {
        "version",
        "output_format",
        "async_mode",
        "org_id",
        "project_id",
        "rerank",
        "keyword_search",
        "latest_only",
        "fields",
        "delete_linked",
        "enable_graph",
    }
)
_ADD_KEYS = frozenset(
    {"messages", "filters", "metadata", "infer", "timestamp", "expiration_date", "immutable"}
    | {"categories", "memory_type", "prompt", "includes", "excludes", *_SCOPE}
)
_LIST_KEYS = frozenset(
    {"filters", "page", "page_size", "start_date", "end_date", "categories", "show_expired"}
    | {"limit", "top_k", "metadata", *_SCOPE}
)
_SEARCH_KEYS = _LIST_KEYS | {"query", "threshold"}


def _check_keys(payload: Mapping[str, Any], allowed: frozenset[str], what: str) -> dict[str, Any]:
    if not isinstance(payload, Mapping):
        raise ValidationError(f"the {what} body must be a JSON object")
    if payload.get("enable_graph"):
        raise ValidationError("graph memory (enable_graph) is not supported by this server")
    unknown = sorted(set(payload) - allowed - _IGNORED)
    if unknown:
        raise ValidationError(f"{what} does not support {unknown} on this server")
    return {k: v for k, v in payload.items() if k not in _IGNORED}


def _ids(who: Principal, values: Mapping[str, Any], filters: Any) -> dict[str, Any]:
    """Scope ids from the top level or plain filters, checked against the key."""
    ids = {
        k: values.get(k) if values.get(k) is not None else plain_filter_id(filters, k)
        for k in _SCOPE
    }
    if values.get("app_id") is not None:
        raise ValidationError("app_id is not supported by this server: use agent_id or run_id")
    return {
        k: v
        for k, v in who.scope(ids["user_id"], ids["agent_id"], ids["run_id"], filters).items()
        if v is not None
    }


def _event(event: Any) -> dict[str, Any]:
    out = event.to_dict()
    out["data"] = {"memory": event.memory}
    return out


def _item(item: Any) -> dict[str, Any]:
    return dict(item.to_dict())


def _paged(
    results: list[Any], total: int, page: int, size: int, request: Request
) -> dict[str, Any]:
    def link(number: int) -> str:
        return str(request.url.include_query_params(page=number, page_size=size))

    return {
        "count": total,
        "next": link(page + 1) if page * size < total else None,
        "previous": link(page - 1) if page > 1 else None,
        "results": results,
    }


def _positive(value: Any, name: str, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(f"{name} must be a positive integer, got {value!r}")
    return value


def _filters(options: dict[str, Any]) -> dict[str, Any] | None:
    """mem0's list/search filters plus its date, category and metadata shortcuts."""
    parts: list[Any] = []
    base = options.get("filters")
    if base is not None and not isinstance(base, Mapping):
        raise ValidationError("filters must be a JSON object")
    if base:
        parts.append(dict(base))
    for key, op in (("start_date", "gte"), ("end_date", "lte")):
        if options.get(key) is not None:
            parts.append({"created_at": {op: options[key]}})
    if options.get("categories"):
        parts.append({"categories": {"in": options["categories"]}})
    if options.get("metadata"):
        parts.append({"metadata": options["metadata"]})
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else {"AND": parts}


# -- construction ping -----------------------------------------------------------------------
#: mem0's client insists on an organisation and a project; a server has exactly one of each.
ORG_ID, PROJECT_ID = "mnemoweave", "default"


@router.get("/v1/ping/", summary="mem0 client: validate the API key")
async def ping(who: Auth) -> dict[str, Any]:
    return {
        "status": "ok",
        "message": "pong",
        "org_id": ORG_ID,
        "project_id": PROJECT_ID,
        "user_email": None,
    }


# -- add ------------------------------------------------------------------------------------
def _add(ctx: ServerContext, who: Principal, payload: dict[str, Any]) -> AddResult:
    who.require_write()
    options = _check_keys(payload, _ADD_KEYS | {"app_id"}, "add")
    messages = options.pop("messages", None)
    if messages is None:
        raise ValidationError("add needs 'messages'")
    check_texts(ctx.settings.max_text_chars, [("messages", messages)])
    filters = options.pop("filters", None)
    ids = _ids(who, options, filters)
    for key in (*_SCOPE, "app_id"):
        options.pop(key, None)
    result = ctx.memory.add(messages, **ids, **options)
    assert isinstance(result, AddResult)
    ctx.metrics.observe_usage(result.usage)
    return result


@router.post("/v3/memories/add/", summary="mem0 client 2.x: add")
def add_v3(payload: Payload, request: Request, who: Auth) -> JSONResponse:
    result = _add(context_of(request), who, payload)
    return JSONResponse(
        {
            "results": [_event(e) for e in result.results],
            "relations": [],
            "status": "SUCCEEDED",
            "message": "memories processed",
        }
    )


@router.post("/v1/memories/", summary="mem0 client 0.x/1.x: add")
def add_v1(payload: Payload, request: Request, who: Auth) -> JSONResponse:
    result = _add(context_of(request), who, payload)
    events = [_event(e) for e in result.results]
    if payload.get("output_format") == "v1.0":
        return JSONResponse(events)
    return JSONResponse({"results": events, "relations": []})


# -- list -----------------------------------------------------------------------------------
def _list(request: Request, who: Principal, payload: dict[str, Any], paged: bool) -> Any:
    ctx = context_of(request)
    options = _check_keys(payload, _LIST_KEYS | {"app_id"}, "get_all")
    query = request.query_params
    page = _positive(options.get("page", _int_param(query.get("page"))), "page", 1)
    size = _positive(
        options.get("page_size", _int_param(query.get("page_size"))),
        "page_size",
        _positive(options.get("limit", options.get("top_k")), "limit", 100),
    )
    filters = _filters(options)
    ids = _ids(who, options, filters)
    listed = ctx.memory.get_all(
        **ids,
        filters=filters,
        limit=min(size, ctx.settings.max_batch),
        offset=(page - 1) * size,
        include_expired=bool(options.get("show_expired", False)),
    )
    results = [_item(i) for i in listed.results]
    if paged or "page" in query or "page" in options:
        return _paged(results, listed.total, page, size, request)
    return results


def _int_param(raw: str | None) -> int | None:
    if raw is None:
        return None
    if not raw.isdigit():
        raise ValidationError(f"page and page_size must be positive integers, got {raw!r}")
    return int(raw)


@router.post("/v3/memories/", summary="mem0 client 2.x: get_all (paginated)")
def get_all_v3(payload: Payload, request: Request, who: Auth) -> JSONResponse:
    return JSONResponse(_list(request, who, payload, paged=True))


@router.post("/v2/memories/", summary="mem0 client 1.x: get_all")
def get_all_v2(payload: Payload, request: Request, who: Auth) -> JSONResponse:
    return JSONResponse(_list(request, who, payload, paged=False))


@router.get("/v1/memories/", summary="mem0 client 0.x: get_all by query parameters")
def get_all_v1(request: Request, who: Auth) -> JSONResponse:
    params: dict[str, Any] = {
        k: v for k, v in request.query_params.items() if k not in ("page", "page_size")
    }
    if "limit" in params:
        params["limit"] = _int_param(params["limit"])
    if "show_expired" in params:
        params["show_expired"] = params["show_expired"].lower() in ("1", "true", "yes")
    return JSONResponse(_list(request, who, params, paged=False))


# -- search ---------------------------------------------------------------------------------
def _search(request: Request, who: Principal, payload: dict[str, Any]) -> list[dict[str, Any]]:
    ctx = context_of(request)
    options = _check_keys(payload, _SEARCH_KEYS | {"app_id"}, "search")
    query: Any = options.get("query")
    if isinstance(query, str):
        check_texts(ctx.settings.max_text_chars, [("query", query)])
    filters = _filters(options)
    ids = _ids(who, options, filters)
    found = ctx.memory.search(
        query,  # core validates it and names a bad query
        **ids,
        filters=filters,
        limit=_positive(options.get("top_k", options.get("limit")), "top_k", 10),
        threshold=options.get("threshold"),
        include_expired=bool(options.get("show_expired", False)),
    )
    return [_item(i) for i in found.results]


@router.post("/v3/memories/search/", summary="mem0 client 2.x: search")
def search_v3(payload: Payload, request: Request, who: Auth) -> JSONResponse:
    return JSONResponse({"results": _search(request, who, payload)})


@router.post("/v2/memories/search/", summary="mem0 client 1.x: search")
def search_v2(payload: Payload, request: Request, who: Auth) -> JSONResponse:
    results = _search(request, who, payload)
    return JSONResponse({"results": results} if payload.get("output_format") == "v1.1" else results)


@router.post("/v1/memories/search/", summary="mem0 client 0.x: search")
def search_v1(payload: Payload, request: Request, who: Auth) -> JSONResponse:
    return search_v2(payload, request, who)


# -- one memory -----------------------------------------------------------------------------
@router.get("/v1/memories/{memory_id}/", summary="mem0 client: get")
def get(memory_id: str, request: Request, who: Auth) -> JSONResponse:
    return JSONResponse(_item(who.owned(context_of(request).memory, memory_id)))


@router.put("/v1/memories/{memory_id}/", summary="mem0 client: update")
def update(memory_id: str, payload: Payload, request: Request, who: Auth) -> JSONResponse:
    ctx = context_of(request)
    who.require_write()
    options = _check_keys(
        payload, frozenset({"text", "data", "metadata", "expiration_date"}), "update"
    )
    check_texts(
        ctx.settings.max_text_chars, [("text", options.get("text")), ("data", options.get("data"))]
    )
    who.owned(ctx.memory, memory_id)
    text = options.pop("text", None)
    item = ctx.memory.update(memory_id, options.pop("data", None), text=text, **options)
    return JSONResponse({**_item(item), "message": "Memory updated successfully!"})


@router.delete("/v1/memories/{memory_id}/", summary="mem0 client: delete")
def delete(memory_id: str, request: Request, who: Auth) -> JSONResponse:
    ctx = context_of(request)
    who.require_write()
    who.owned(ctx.memory, memory_id)
    ctx.memory.delete(memory_id)
    return JSONResponse({"message": "Memory deleted successfully!"})


@router.get("/v1/memories/{memory_id}/history/", summary="mem0 client: history")
def history(memory_id: str, request: Request, who: Auth) -> JSONResponse:
    from ._routes_memories import history as ours

    response = ours(memory_id, request, who)
    return response


@router.delete("/v1/memories/", summary="mem0 client: delete_all for a scope")
def delete_all(request: Request, who: Auth) -> JSONResponse:
    ctx = context_of(request)
    who.require_write()
    params = dict(request.query_params)
    _check_keys(params, frozenset({*_SCOPE, "app_id"}), "delete_all")
    ids = _ids(who, params, None)
    found = ctx.memory.delete_all(**ids)
    return JSONResponse({"message": "Memories deleted successfully!", "deleted": found["deleted"]})


# -- entities -------------------------------------------------------------------------------
@router.get("/v1/entities/", summary="mem0 client: users")
def entities(request: Request, who: Auth) -> JSONResponse:
    found = context_of(request).memory.scopes()
    visible = ScopeList(results=[s for s in found.results if who.key.allows_user(s.user_id)])
    kinds: tuple[EntityKind, ...] = ("user",) if who.key.restricted else ("user", "agent", "run")
    return JSONResponse(visible.entities(kinds).to_dict())


@router.delete("/v2/entities/{kind}/{name}/", summary="mem0 client: delete_users (one entity)")
def delete_entity(kind: str, name: str, request: Request, who: Auth) -> JSONResponse:
    ctx = context_of(request)
    who.require_write()
    keys = {"user": "user_id", "agent": "agent_id", "run": "run_id"}
    if kind not in keys:
        raise ValidationError(f"entity type {kind!r} is not supported; use one of {sorted(keys)}")
    ids = _ids(who, {keys[kind]: name}, None)
    ctx.memory.delete_all(**ids)
    return JSONResponse({"message": ENTITY_DELETED})


@router.delete("/v1/entities/{kind}/{name}/", summary="mem0 client 0.x: delete one entity")
def delete_entity_v1(kind: str, name: str, request: Request, who: Auth) -> JSONResponse:
    return delete_entity(kind, name, request, who)


# -- feedback -------------------------------------------------------------------------------
@router.post("/v1/feedback/", summary="mem0 client: feedback")
def feedback(payload: Payload, request: Request, who: Auth) -> JSONResponse:
    ctx = context_of(request)
    who.require_write()
    options = _check_keys(
        payload, frozenset({"memory_id", "feedback", "feedback_reason"}), "feedback"
    )
    memory_id = options.get("memory_id")
    check_texts(ctx.settings.max_text_chars, [("feedback_reason", options.get("feedback_reason"))])
    who.owned(ctx.memory, memory_id)
    out = ctx.memory.feedback(
        memory_id, options.get("feedback"), reason=options.get("feedback_reason")
    )
    return JSONResponse(out)


# -- batches --------------------------------------------------------------------------------
def _batch_items(ctx: ServerContext, payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    items = payload.get("memories") if isinstance(payload, Mapping) else None
    if not isinstance(items, list) or not all(isinstance(m, dict) for m in items):
        raise ValidationError("the body must be {'memories': [{'memory_id': ...}, ...]}")
    if len(items) > ctx.settings.max_batch:
        raise ValidationError(f"at most {ctx.settings.max_batch} memories per batch")
    return items


@router.put("/v1/batch/", summary="mem0 client: batch_update")
def batch_update(payload: Payload, request: Request, who: Auth) -> JSONResponse:
    ctx = context_of(request)
    who.require_write()
    items = _batch_items(ctx, payload)
    for change in items:
        check_texts(ctx.settings.max_text_chars, [("text", change.get("text"))])
        who.owned(ctx.memory, change.get("memory_id"))
    ctx.memory.batch_update(items)
    return JSONResponse({"message": f"Successfully updated {len(items)} memories"})


@router.delete("/v1/batch/", summary="mem0 client: batch_delete")
def batch_delete(payload: Payload, request: Request, who: Auth) -> JSONResponse:
    ctx = context_of(request)
    who.require_write()
    items = _batch_items(ctx, payload)
    for entry in items:
        who.owned(ctx.memory, entry.get("memory_id"))
    entries: Any = items  # core takes mem0's [{'memory_id': ...}] form as well
    ctx.memory.batch_delete(entries)
    return JSONResponse({"message": f"Successfully deleted {len(items)} memories"})
