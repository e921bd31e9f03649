"""The scope a request works in when its route takes no scope ids (MCP, the chat proxy).

Such requests name the scope with headers (``X-Mnemoweave-User-Id``, ``-Agent-Id``,
``-Run-Id``), query parameters of the same names without the prefix, or (the proxy) the
OpenAI ``user`` field; a key bound to exactly one user may leave the user out. The result is
checked with :meth:`Principal.scope`, so a key never reaches a user it is not bound to.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from mnemoweave.errors import ValidationError

from ._context import Principal

HEADERS = {
    "user_id": "x-mnemoweave-user-id",
    "agent_id": "x-mnemoweave-agent-id",
    "run_id": "x-mnemoweave-run-id",
}


def request_scope(
    who: Principal, request: Request, *, user: str | None = None, what: str = "this request"
) -> dict[str, Any]:
    """The scope ids ``request`` names (``user`` from the body wins over nothing, and must
    agree with a header), checked against the key; at least one id, else a ValidationError."""
    given: dict[str, str] = {}
    for key, header in HEADERS.items():
        value = request.headers.get(header)
        if value is None:
            value = request.query_params.get(key)
        if value is not None:
            if not value.strip():
                raise ValidationError(f"the {header} header (or ?{key}=) is empty")
            given[key] = value.strip()
    if user is not None:
        if given.get("user_id", user) != user:
            raise ValidationError(
                f"the user field ({user!r}) and the {HEADERS['user_id']} header "
                f"({given['user_id']!r}) name different users"
            )
        given["user_id"] = user
    users, prefix = who.key.users, who.key.user_prefix
    if "user_id" not in given and users is not None and len(users) == 1 and prefix is None:
        given["user_id"] = users[0]
    if not given:
        raise ValidationError(
            f"{what} names no scope: send the X-Mnemoweave-User-Id header (or ?user_id=); "
            "X-Mnemoweave-Agent-Id and X-Mnemoweave-Run-Id narrow it"
        )
    ids = who.scope(given.get("user_id"), given.get("agent_id"), given.get("run_id"))
    return {k: v for k, v in ids.items() if v is not None}
