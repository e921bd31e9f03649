"""API keys and tenancy: 401 without a key, 403 outside its scope, and nothing of another
user visible through any route, filter or error message (a property test)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mnemoweave_server.testing import LiveServer


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_requests_need_a_valid_live_key(live: LiveServer, uid: str) -> None:
    search = {"query": "q", "user_id": uid}
    url = f"{live.url}/api/v1/memories/search"
    assert httpx.post(url, json=search).status_code == 401
    for header in ("Bearer mw_abc_def", "Basic dXNlcjpwYXNz", "Bearer", "Token x y"):
        assert httpx.post(url, json=search, headers={"Authorization": header}).status_code == 401
    made = live.create_key("short-lived")
    assert httpx.post(url, json=search, headers=bearer(made.key)).status_code == 200
    assert httpx.post(url, json=search, headers={"X-API-Key": made.key}).status_code == 200
    assert (
        httpx.post(url, json=search, headers={"Authorization": f"Token {made.key}"}).status_code
        == 200
    )
    live.keys.revoke(made.info.id)  # the running server re-reads the keys file
    answer = httpx.post(url, json=search, headers=bearer(made.key))
    assert answer.status_code == 401
    assert answer.json()["error"]["type"] == "AuthenticationError"


def test_a_bound_key_is_refused_outside_its_users(live: LiveServer, uid: str) -> None:
    key = live.create_key("alice-only", users=[uid]).key
    prefix = live.create_key("tenant-prefix", user_prefix=f"{uid}:").key
    url = f"{live.url}/api/v1/memories/search"
    for who, user, status in (
        (key, uid, 200),
        (key, f"{uid}-other", 403),
        (key, None, 403),
        (prefix, f"{uid}:team", 200),
        (prefix, uid, 403),
    ):
        body = {"query": "q", **({"user_id": user} if user else {"agent_id": "a"})}
        answer = httpx.post(url, json=body, headers=bearer(who))
        assert answer.status_code == status, answer.text
        if status == 403:
            assert answer.json()["error"]["type"] == "PermissionDeniedError"


def test_read_only_keys_cannot_write(live: LiveServer, uid: str) -> None:
    key = live.create_key("reader", users=[uid], read_only=True).key
    with httpx.Client(base_url=live.url, headers=bearer(key)) as http:
        assert http.post("/api/v1/memories/list", json={"user_id": uid}).status_code == 200
        for method, path, body in (
            ("POST", "/api/v1/memories", {"messages": "x", "user_id": uid, "infer": False}),
            ("POST", "/api/v1/batch/add", {"records": [{"text": "x", "user_id": uid}]}),
            ("POST", "/api/v1/webhooks", {"url": "http://127.0.0.1:9/hook"}),
            ("POST", "/v3/memories/add/", {"messages": "x", "user_id": uid}),
        ):
            answer = http.request(method, path, json=body)
            assert answer.status_code == 403, (path, answer.text)
        assert (
            http.request("DELETE", "/api/v1/memories", params={"user_id": uid}).status_code == 403
        )


# -- the property: a key bound to A never sees or changes anything of B --------------------------
@dataclass
class Tenants:
    a: str
    b: str
    key: str
    b_ids: list[str]
    b_agent: str
    b_run: str
    admin: httpx.Client
    http: httpx.Client

    def b_state(self) -> list[tuple[str, str]]:
        listed = self.admin.post("/api/v1/memories/list", json={"user_id": self.b, "limit": 100})
        return sorted((m["id"], m["memory"]) for m in listed.json()["results"])


SECRET = "SECRET-OF-B"


@pytest.fixture(scope="module")
def tenants(live: LiveServer) -> Iterator[Tenants]:
    a, b = f"a-{uuid.uuid4().hex[:8]}", f"b-{uuid.uuid4().hex[:8]}"
    agent, run = f"agent-{uuid.uuid4().hex[:8]}", f"run-{uuid.uuid4().hex[:8]}"
    admin = httpx.Client(base_url=live.url, headers=bearer(live.admin_key), timeout=30)
    records = [
        {"text": f"{SECRET} plain", "user_id": b},
        {"text": f"{SECRET} with agent", "user_id": b, "agent_id": agent},
        {"text": f"{SECRET} with run", "user_id": b, "run_id": run, "metadata": {"tag": "x"}},
        {"text": f"{SECRET} agent only", "agent_id": agent},
        {"text": "a's own fact", "user_id": a, "agent_id": agent},
    ]
    ids = [
        r["id"]
        for r in admin.post("/api/v1/batch/add", json={"records": records}).json()["results"]
    ]
    admin.patch(f"/api/v1/memories/{ids[0]}", json={"text": f"{SECRET} plain, updated"})
    admin.post("/api/v1/messages", json={"messages": f"{SECRET} window", "user_id": b})
    key = live.create_key("tenant-a", users=[a]).key
    http = httpx.Client(base_url=live.url, headers=bearer(key), timeout=30)
    yield Tenants(a, b, key, ids[:4], agent, run, admin, http)
    http.close()
    admin.close()


def _filters(t: Tenants) -> st.SearchStrategy[Any]:
    return st.sampled_from(
        [
            None,
            {"user_id": t.b},
            {"AND": [{"user_id": t.b}]},
            {"OR": [{"user_id": t.a}, {"user_id": t.b}]},
            {"NOT": {"user_id": t.a}},
            {"agent_id": t.b_agent},
            {"run_id": t.b_run},
            {"memory": {"contains": "SECRET"}},
            {"user_id": {"in": [t.a, t.b]}},
            {"user_id": {"ne": t.a}},
            {"tag": "x"},
        ]
    )


def _requests(t: Tenants) -> st.SearchStrategy[tuple[str, str, Any, Any, bool]]:
    """(method, path, json, params, by_id): every route that reads or writes memories."""
    users = st.sampled_from([t.a, t.b, None])
    ids = st.sampled_from(t.b_ids)
    scope = st.fixed_dictionaries(
        {},
        optional={
            "user_id": users,
            "agent_id": st.sampled_from([t.b_agent, None]),
            "run_id": st.sampled_from([t.b_run, None]),
        },
    )
    filters = _filters(t)

    def clean(d: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in d.items() if v is not None}

    scoped = st.builds(lambda s, f: clean({**s, "filters": f}), scope, filters)
    by_id = st.one_of(
        ids.map(lambda i: ("GET", f"/api/v1/memories/{i}", None, None, True)),
        ids.map(lambda i: ("PATCH", f"/api/v1/memories/{i}", {"text": "pwned"}, None, True)),
        ids.map(lambda i: ("DELETE", f"/api/v1/memories/{i}", None, None, True)),
        ids.map(lambda i: ("GET", f"/api/v1/memories/{i}/history", None, None, True)),
        ids.map(lambda i: ("GET", f"/v1/memories/{i}/", None, None, True)),
        ids.map(lambda i: ("PUT", f"/v1/memories/{i}/", {"text": "pwned"}, None, True)),
        ids.map(lambda i: ("DELETE", f"/v1/memories/{i}/", None, None, True)),
        ids.map(lambda i: ("GET", f"/v1/memories/{i}/history/", None, None, True)),
        ids.map(
            lambda i: (
                "POST",
                "/api/v1/batch/update",
                {"updates": [{"memory_id": i, "text": "p"}]},
                None,
                True,
            )
        ),
        ids.map(lambda i: ("POST", "/api/v1/batch/delete", {"memory_ids": [i]}, None, True)),
        ids.map(
            lambda i: (
                "PUT",
                "/v1/batch/",
                {"memories": [{"memory_id": i, "text": "p"}]},
                None,
                True,
            )
        ),
        ids.map(lambda i: ("DELETE", "/v1/batch/", {"memories": [{"memory_id": i}]}, None, True)),
    )
    by_scope = st.one_of(
        scoped.map(
            lambda b: ("POST", "/api/v1/memories/search", {"query": "SECRET", **b}, None, False)
        ),
        scoped.map(lambda b: ("POST", "/api/v1/memories/list", b, None, False)),
        scope.map(lambda b: ("POST", "/api/v1/memories/count", clean(b), None, False)),
        scope.map(lambda b: ("GET", "/api/v1/memories", None, clean(b), False)),
        scope.map(lambda b: ("DELETE", "/api/v1/memories", None, clean(b), False)),
        scope.map(lambda b: ("POST", "/api/v1/messages/list", clean(b), None, False)),
        scope.map(lambda b: ("POST", "/api/v1/messages/clear", clean(b), None, False)),
        st.just(("GET", "/api/v1/scopes", None, None, False)),
        st.just(("GET", "/v1/entities/", None, None, False)),
        filters.map(
            lambda f: (
                "POST",
                "/v3/memories/search/",
                {"query": "SECRET", "filters": f},
                None,
                False,
            )
        ),
        filters.map(lambda f: ("POST", "/v3/memories/", {"filters": f}, None, False)),
        filters.map(
            lambda f: (
                "POST",
                "/v2/memories/search/",
                {"query": "SECRET", "filters": f},
                None,
                False,
            )
        ),
        scope.map(lambda b: ("GET", "/v1/memories/", None, clean(b), False)),
        scope.map(lambda b: ("DELETE", "/v1/memories/", None, clean(b), False)),
        st.sampled_from([("user", t.b), ("agent", t.b_agent), ("run", t.b_run)]).map(
            lambda e: ("DELETE", f"/v2/entities/{e[0]}/{e[1]}/", None, None, False)
        ),
        scope.map(
            lambda b: (
                "POST",
                "/v3/memories/add/",
                {"messages": "m", "infer": False, **clean(b)},
                None,
                False,
            )
        ),
    )
    return st.one_of(by_id, by_scope)


def _send(http: httpx.Client, method: str, path: str, body: Any, params: Any) -> httpx.Response:
    return http.request(method, path, json=body, params=params)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_a_key_bound_to_a_never_reaches_b(tenants: Tenants, data: st.DataObject) -> None:
    t = tenants
    before = t.b_state()
    method, path, body, params, by_id = data.draw(_requests(t))
    answer = _send(t.http, method, path, body, params)
    text = answer.text
    assert answer.status_code < 500, text
    assert SECRET not in text
    # B's id may only come back as the caller's own words in a refusal.
    asked = t.b in json.dumps([body, params, path])
    assert t.b not in text or (asked and answer.status_code in (403, 422)), text
    if by_id:
        # A foreign id must look exactly like an id that never existed.
        victim = next(i for i in t.b_ids if i in path or i in json.dumps(body))
        fresh = str(uuid.uuid4())
        twin_path = path.replace(victim, fresh)
        twin_body = json.loads(json.dumps(body).replace(victim, fresh)) if body else body
        twin = _send(t.http, method, twin_path, twin_body, params)
        assert answer.status_code == twin.status_code == 404, text
        assert text == twin.text.replace(fresh, victim)
    assert t.b_state() == before  # nothing of B changed
    with_window = t.admin.post("/api/v1/messages/list", json={"user_id": t.b}).json()
    assert [m["content"] for m in with_window] == [f"{SECRET} window"]
    agent_only = t.admin.get(f"/api/v1/memories/{t.b_ids[3]}")
    assert agent_only.status_code == 200
