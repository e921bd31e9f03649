"""The web inspector at ``/ui``: scopes, memories with their scores, one memory's history.

Server-rendered HTML with one line of JavaScript (the delete confirmation); no build step.
A browser signs in with an API key, kept in an HttpOnly, SameSite=Strict cookie, and every page
applies that key's scope rules exactly as the API does: a key bound to some users sees only
their scopes, and another user's memory id answers "not found", like an id that never existed.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from mnemoweave.errors import MnemoweaveError, NotFoundError, PermissionDeniedError

from ._context import Principal, context_of

router = APIRouter(prefix="/ui", include_in_schema=False)

COOKIE = "mnemoweave_ui_key"
_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem}"
    "table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:.3rem .5rem;"
    "text-align:left;vertical-align:top}th{background:#f3f3f3}.error{color:#a00}"
    "nav a{margin-right:1rem}form.inline{display:inline}"
)


def _e(value: Any) -> str:
    return "" if value is None else html.escape(str(value))


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    doc = (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{_e(title)}"
        f" - mnemoweave</title><style>{_STYLE}</style></head><body>"
        "<nav><a href='/ui'>Scopes</a><a href='/ui/logout'>Sign out</a></nav>"
        f"<h1>{_e(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(doc, status_code=status)


def _table(headers: Iterable[str], rows: Iterable[Iterable[str]], table_id: str) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table id='{table_id}'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _principal(request: Request) -> Principal | None:
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    key = context_of(request).keys.authenticate(token)
    return None if key is None else Principal(key)


def _login_form(message: str = "") -> HTMLResponse:
    error = f"<p class='error' id='error'>{_e(message)}</p>" if message else ""
    form = (
        f"{error}<form method='post' action='/ui/login'><label>API key "
        "<input type='password' name='key' id='key' autocomplete='off'></label> "
        "<button type='submit' id='signin'>Sign in</button></form>"
    )
    return _page("Sign in", form, 401 if message else 200)


def _error(exc: MnemoweaveError) -> HTMLResponse:
    status = 404 if isinstance(exc, NotFoundError) else 403
    if not isinstance(exc, NotFoundError | PermissionDeniedError):
        status = 400
    return _page("Error", f"<p class='error' id='error'>{_e(exc)}</p>", status)


@router.get("/login")
def login_page() -> HTMLResponse:
    return _login_form()


@router.post("/login")
async def login(request: Request) -> Response:
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    token = (form.get("key") or [""])[0].strip()
    if not token or context_of(request).keys.authenticate(token) is None:
        return _login_form("unknown or revoked API key")
    response = RedirectResponse("/ui", status_code=303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/ui")
    return response


@router.get("/logout")
def logout() -> Response:
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(COOKIE, path="/ui")
    return response


def _scope_link(user: Any, agent: Any, run: Any) -> str:
    query = {k: v for k, v in (("user_id", user), ("agent_id", agent), ("run_id", run)) if v}
    return "/ui/memories?" + urlencode(query)


@router.get("")
def scopes(request: Request) -> Response:
    who = _principal(request)
    if who is None:
        return RedirectResponse("/ui/login", status_code=303)
    memory = context_of(request).memory
    visible = [
        s
        for s in memory.scopes().results
        if not who.key.restricted or who.key.allows_user(s.user_id)
    ]
    rows = [
        [
            f"<a href='{_e(_scope_link(s.user_id, s.agent_id, s.run_id))}'>{_e(s.user_id)}</a>",
            _e(s.agent_id),
            _e(s.run_id),
            _e(s.count),
        ]
        for s in visible
    ]
    return _page("Scopes", _table(["user", "agent", "run", "memories"], rows, "scopes"))


@router.get("/memories")
def memories(request: Request) -> Response:
    who = _principal(request)
    if who is None:
        return RedirectResponse("/ui/login", status_code=303)
    args = request.query_params
    ids = {k: args.get(k) or None for k in ("user_id", "agent_id", "run_id")}
    query = (args.get("q") or "").strip()
    memory = context_of(request).memory
    try:
        scope = who.scope(ids["user_id"], ids["agent_id"], ids["run_id"])
        if query:
            found = memory.search(query, **scope, limit=20, explain=True).results
        else:
            found = memory.get_all(**scope, limit=200).results
    except MnemoweaveError as exc:
        return _error(exc)
    hidden = "".join(
        f"<input type='hidden' name='{k}' value='{_e(v)}'>" for k, v in ids.items() if v
    )
    form = (
        f"<form method='get' action='/ui/memories'>{hidden}<input name='q' id='q' "
        f"value='{_e(query)}' placeholder='search'> <button id='search'>Search</button></form>"
    )
    headers = ["memory", "created", "categories"]
    if query:
        headers += ["dense", "keyword", "fused"]
    rows = []
    for item in found:
        row = [
            f"<a class='memory' href='/ui/memories/{_e(item.id)}'>{_e(item.memory)}</a>",
            _e(item.created_at),
            _e(", ".join(item.categories)),
        ]
        if query:
            scores = item.explain or {}
            row += [f"{scores.get(k, 0.0):.3f}" for k in ("dense", "keyword", "fused")]
        rows.append(row)
    title = "Memories of " + ", ".join(f"{k}={v}" for k, v in ids.items() if v)
    return _page(title, form + _table(headers, rows, "memories"))


@router.get("/memories/{memory_id}")
def memory_page(request: Request, memory_id: str) -> Response:
    who = _principal(request)
    if who is None:
        return RedirectResponse("/ui/login", status_code=303)
    memory = context_of(request).memory
    try:
        item = who.owned(memory, memory_id)
        events = memory.history(memory_id)
    except MnemoweaveError as exc:
        return _error(exc)
    fields = [
        [_e(k), _e(v)]
        for k, v in item.model_dump(exclude_none=True).items()
        if k not in ("score", "explain")
    ]
    timeline = [[_e(h.created_at), _e(h.event), _e(h.old_memory), _e(h.new_memory)] for h in events]
    delete = (
        f"<form class='inline' method='post' action='/ui/memories/{_e(item.id)}/delete' "
        "onsubmit=\"return confirm('Delete this memory?')\">"
        "<button type='submit' id='delete'>Delete</button></form>"
    )
    body = (
        _table(["field", "value"], fields, "fields")
        + "<h2>History</h2>"
        + _table(["when", "event", "before", "after"], timeline, "history")
        + f"<p>{delete}</p>"
    )
    return _page("Memory", body)


@router.post("/memories/{memory_id}/delete")
def delete(request: Request, memory_id: str) -> Response:
    who = _principal(request)
    if who is None:
        return RedirectResponse("/ui/login", status_code=303)
    memory = context_of(request).memory
    try:
        who.require_write()
        item = who.owned(memory, memory_id)
        memory.delete(memory_id)
    except MnemoweaveError as exc:
        return _error(exc)
    back = _scope_link(item.user_id, item.agent_id, item.run_id)
    return _page(
        "Deleted",
        f"<p id='deleted'>Deleted memory {_e(memory_id)}.</p><a href='{_e(back)}'>Back</a>",
    )
