"""The wire format of the memory server's REST API, shared by the sync and async clients.

Each operation is written once as a :class:`Call` (method, path, JSON body, query) plus the
decoder that turns the JSON answer back into mnemoweave's result types; error answers are
turned back into the ``mnemoweave.errors`` class the server named.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

import httpx

from . import errors
from ._env import env
from ._time import to_datetime, to_epoch
from .types import (
    AddResult,
    BatchResult,
    HistoryEntry,
    MemoryItem,
    MemoryList,
    ScopeList,
    SearchResult,
)

PREFIX = "/api/v1"
#: Erased from ``update``'s JSON body when not given: the server then keeps the old value.
KEEP: Any = object()


def _same(data: Any) -> Any:
    return data


@dataclass(slots=True)
class Call:
    """One HTTP request of the REST API and how to read its answer."""

    method: str
    path: str
    body: Any = None
    params: dict[str, Any] | None = None
    decode: Callable[[Any], Any] = field(default=_same)


def jsonable(value: Any, name: str) -> Any:
    """``value`` as plain JSON data (datetimes as ISO strings), or a ValidationError naming it."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise errors.ValidationError(f"{name} must be a finite number")
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v, f"{name}.{k}") for k, v in value.items()}
    if isinstance(value, Sequence | set | frozenset) and not isinstance(value, bytes | bytearray):
        return [jsonable(v, f"{name}[{i}]") for i, v in enumerate(value)]
    raise errors.ValidationError(
        f"{name} cannot be sent to the memory server: {type(value).__name__} is not JSON data"
    )


def _body(**values: Any) -> dict[str, Any]:
    return {k: jsonable(v, k) for k, v in values.items() if v is not KEEP}


def _memory_path(memory_id: Any, tail: str = "") -> str:
    if not isinstance(memory_id, str) or not memory_id.strip():
        raise errors.ValidationError(f"memory_id must be a non-empty string, got {memory_id!r}")
    return f"{PREFIX}/memories/{quote(memory_id, safe='')}{tail}"


def _scope_params(user_id: Any, agent_id: Any, run_id: Any) -> dict[str, Any]:
    ids = {"user_id": user_id, "agent_id": agent_id, "run_id": run_id}
    for key, value in ids.items():
        if value is not None and not isinstance(value, str):
            raise errors.ValidationError(f"{key} must be a non-empty string, got {value!r}")
    return {k: v for k, v in ids.items() if v is not None}


# -- transport helpers shared by both clients ----------------------------------------------
@dataclass(frozen=True, slots=True)
class RemoteLLM:
    """What a client knows of the server's LLM: its model name (the key stays on the server)."""

    model: str


def settings(host: str | None, api_key: str | None) -> tuple[str, str | None]:
    url = host or env("URL")
    if not url:
        raise errors.ConfigurationError(
            "no memory server given: pass host='http://127.0.0.1:8420' or set MNEMOWEAVE_URL"
        )
    if not url.startswith(("http://", "https://")):
        raise errors.ConfigurationError(f"host must be an http:// or https:// URL, got {url!r}")
    return url.rstrip("/"), api_key or env("API_KEY")


def headers(api_key: str | None, extra: Mapping[str, str] | None) -> dict[str, str]:
    out = {"Accept": "application/json", **dict(extra or {})}
    if api_key:
        out["Authorization"] = f"Bearer {api_key}"
    return out


def arguments(values: dict[str, Any], *skip: str) -> dict[str, Any]:
    """A method's arguments (from ``locals()``) to send, minus ``self`` and positionals."""
    return {k: v for k, v in values.items() if k not in skip}


def finish(call: Call, response: httpx.Response) -> Any:
    if response.status_code >= 400:
        raise error_for(response.status_code, response.text, response.headers)
    return call.decode(response.json() if response.content else None)


# -- operations --------------------------------------------------------------------------
def add(messages: Any, options: dict[str, Any]) -> Call:
    return Call(
        "POST", f"{PREFIX}/memories", _body(messages=messages, **options), None, _add_result
    )


def search(query: Any, options: dict[str, Any]) -> Call:
    return Call(
        "POST", f"{PREFIX}/memories/search", _body(query=query, **options), None, _search_result
    )


def get(memory_id: Any) -> Call:
    return Call("GET", _memory_path(memory_id), decode=MemoryItem.model_validate)


def get_all(options: dict[str, Any]) -> Call:
    return Call("POST", f"{PREFIX}/memories/list", _body(**options), None, _memory_list)


def count(options: dict[str, Any]) -> Call:
    return Call("POST", f"{PREFIX}/memories/count", _body(**options), None, lambda d: d["count"])


def history(memory_id: Any) -> Call:
    return Call("GET", _memory_path(memory_id, "/history"), decode=_history)


def feedback(memory_id: Any, rating: Any, reason: Any) -> Call:
    body = _body(feedback=rating, feedback_reason=reason)
    return Call("POST", _memory_path(memory_id, "/feedback"), body)


def scopes() -> Call:
    return Call("GET", f"{PREFIX}/scopes", decode=ScopeList.model_validate)


def update(memory_id: Any, options: dict[str, Any]) -> Call:
    return Call("PATCH", _memory_path(memory_id), _body(**options), None, MemoryItem.model_validate)


def delete(memory_id: Any, source: Any) -> Call:
    params = None if source is False else {"source": jsonable(source, "source")}
    return Call("DELETE", _memory_path(memory_id), params=params)


def delete_all(user_id: Any, agent_id: Any, run_id: Any) -> Call:
    return Call("DELETE", f"{PREFIX}/memories", params=_scope_params(user_id, agent_id, run_id))


def batch(kind: str, items: Any, **options: Any) -> Call:
    key = {"add": "records", "update": "updates", "delete": "memory_ids"}[kind]
    if isinstance(items, str | bytes) or not isinstance(items, Sequence):
        raise errors.ValidationError(f"batch_{kind} takes a list")
    body = _body(**{key: items}, **options)
    return Call("POST", f"{PREFIX}/batch/{kind}", body, None, BatchResult.model_validate)


def get_messages(options: dict[str, Any]) -> Call:
    return Call("POST", f"{PREFIX}/messages/list", _body(**options), None, _messages)


def append_messages(messages: Any, options: dict[str, Any]) -> Call:
    return Call("POST", f"{PREFIX}/messages", _body(messages=messages, **options), None, _nothing)


def clear_messages(options: dict[str, Any]) -> Call:
    return Call("POST", f"{PREFIX}/messages/clear", _body(**options), None, lambda d: d["deleted"])


def reset() -> Call:
    return Call("POST", f"{PREFIX}/admin/reset", decode=_nothing)


def verify() -> Call:
    return Call("POST", f"{PREFIX}/admin/verify")


def checkpoint() -> Call:
    return Call("POST", f"{PREFIX}/admin/checkpoint", decode=_nothing)


def info() -> Call:
    return Call("GET", f"{PREFIX}/info")


def embed(texts: Sequence[str]) -> Call:
    return Call("POST", f"{PREFIX}/embed", _body(texts=list(texts)), None, lambda d: d["vectors"])


# -- decoders ----------------------------------------------------------------------------
def _nothing(_: Any) -> None:
    return None


def _add_result(data: Any) -> AddResult:
    return AddResult.model_validate(data)


def _search_result(data: Any) -> SearchResult:
    return SearchResult.model_validate(data)


def _memory_list(data: Any) -> MemoryList:
    return MemoryList.model_validate(data)


def _history(data: Any) -> list[HistoryEntry]:
    return [HistoryEntry.model_validate(entry) for entry in data]


def _messages(data: Any) -> list[dict[str, Any]]:
    out = []
    for msg in data:
        msg = dict(msg)
        if msg.get("created_at") is not None:
            msg["created_at"] = to_datetime(to_epoch(msg["created_at"]))
        out.append(msg)
    return out


# -- errors ------------------------------------------------------------------------------
_BY_STATUS: dict[int, type[errors.MnemoweaveError]] = {
    400: errors.ValidationError,
    401: errors.AuthenticationError,
    403: errors.PermissionDeniedError,
    404: errors.NotFoundError,
    413: errors.ValidationError,
    422: errors.ValidationError,
    429: errors.RateLimitError,
}


def error_for(status: int, text: str, headers: Mapping[str, str]) -> errors.MnemoweaveError:
    """The exception an error answer stands for: the class the server named, else by status."""
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    detail = data.get("error") if isinstance(data, dict) else None
    detail = detail if isinstance(detail, dict) else {}
    message = str(detail.get("message") or (data or {}).get("detail") or text or f"HTTP {status}")
    name = detail.get("type")
    cls: type[errors.MnemoweaveError] = errors.RemoteError
    if isinstance(name, str) and name in errors.__all__:
        cls = getattr(errors, name)
    elif status in _BY_STATUS:
        cls = _BY_STATUS[status]
    if issubclass(cls, errors.RateLimitError):
        retry = headers.get("retry-after")
        return cls(message, status=status, retry_after=float(retry) if retry else None)
    if issubclass(cls, errors.RemoteError):
        return cls(message, status=status)
    if cls is errors.NotFoundError or cls is errors.ImmutableMemoryError:
        return cls(message, memory_id=detail.get("memory_id"))
    if cls is errors.ExtractionError:
        return cls(message, raw=detail.get("raw"))
    if cls is errors.DimensionMismatchError:
        return cls(message, expected=detail.get("expected"), got=detail.get("got"))
    return cls(message)


def unreachable(base_url: str, exc: Exception) -> errors.RemoteError:
    return errors.RemoteError(f"cannot reach the memory server at {base_url}: {exc}")
