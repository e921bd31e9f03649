"""Every REST route end to end: real uvicorn, real HTTP (httpx), JSON in and out."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from mnemoweave_server.testing import LiveServer


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def error(response: httpx.Response, status: int, type_name: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"]["type"] == type_name
    assert body["detail"] == body["error"]["message"]
    return str(body["detail"])


def test_add_search_get_list_count(http: httpx.Client, uid: str) -> None:
    added = ok(
        http.post(
            "/api/v1/memories",
            json={
                "messages": [
                    {"role": "user", "content": "My favourite colour is teal"},
                    {"role": "assistant", "content": "Teal is a fine colour"},
                ],
                "user_id": uid,
                "agent_id": "helper",
                "metadata": {"source": "chat"},
                "infer": False,
                "timestamp": "2026-01-02T03:04:05Z",
                "expiration_date": "2999-01-01",
                "immutable": True,
                "categories": ["colours"],
            },
        )
    )
    assert [e["event"] for e in added["results"]] == ["ADD", "ADD"]
    assert added["relations"] == []
    assert added["usage"]["llm_calls"] == 0
    first = added["results"][0]["id"]

    found = ok(
        http.post(
            "/api/v1/memories/search",
            json={"query": "favourite colour", "user_id": uid, "limit": 1, "explain": True},
        )
    )["results"]
    assert len(found) == 1
    assert found[0]["id"] == first
    assert set(found[0]["explain"]) >= {"dense", "keyword", "fused"}
    assert found[0]["score"] == pytest.approx(found[0]["explain"]["fused"])

    item = ok(http.get(f"/api/v1/memories/{first}"))
    assert item["memory"] == "My favourite colour is teal"
    assert (item["user_id"], item["agent_id"], item["immutable"]) == (uid, "helper", True)
    assert item["metadata"] == {"source": "chat"}
    assert item["categories"] == ["colours"]
    assert item["valid_from"].startswith("2026-01-02T03:04:05")
    assert item["expiration_date"].startswith("2999-01-01")

    listed = ok(http.post("/api/v1/memories/list", json={"user_id": uid, "limit": 1}))
    assert listed["total"] == 2
    assert len(listed["results"]) == 1
    page2 = ok(http.get("/api/v1/memories", params={"user_id": uid, "limit": 1, "offset": 1}))
    assert page2["total"] == 2
    assert page2["results"][0]["id"] != listed["results"][0]["id"]
    filtered = ok(
        http.post(
            "/api/v1/memories/list",
            json={"user_id": uid, "filters": {"role": "assistant"}},
        )
    )
    assert [m["memory"] for m in filtered["results"]] == ["Teal is a fine colour"]
    assert ok(http.post("/api/v1/memories/count", json={"user_id": uid}))["count"] == 2


def test_search_thresholds_filters_and_as_of(http: httpx.Client, uid: str) -> None:
    mid = ok(
        http.post(
            "/api/v1/memories",
            json={"messages": "I live in Paris", "user_id": uid, "infer": False},
        )
    )["results"][0]["id"]
    ok(
        http.post(
            "/api/v1/memories", json={"messages": "I own a bike", "user_id": uid, "infer": False}
        )
    )
    before = ok(http.get(f"/api/v1/memories/{mid}"))["updated_at"]
    ok(http.patch(f"/api/v1/memories/{mid}", json={"data": "I live in Berlin"}))
    now = ok(
        http.post("/api/v1/memories/search", json={"query": "where do I live", "user_id": uid})
    )
    assert "I live in Berlin" in [r["memory"] for r in now["results"]]
    then = ok(
        http.post(
            "/api/v1/memories/search",
            json={"query": "where do I live", "user_id": uid, "as_of": before},
        )
    )
    assert "I live in Paris" in [r["memory"] for r in then["results"]]
    none = ok(
        http.post(
            "/api/v1/memories/search",
            json={"query": "where do I live", "user_id": uid, "threshold": 0.999},
        )
    )
    assert none["results"] == []
    bikes = ok(
        http.post(
            "/api/v1/memories/search",
            json={"query": "bike", "user_id": uid, "filters": {"memory": {"contains": "bike"}}},
        )
    )
    assert [r["memory"] for r in bikes["results"]] == ["I own a bike"]


def test_update_history_delete(http: httpx.Client, uid: str) -> None:
    mid = ok(
        http.post(
            "/api/v1/memories", json={"messages": "likes tea", "user_id": uid, "infer": False}
        )
    )["results"][0]["id"]
    updated = ok(
        http.patch(
            f"/api/v1/memories/{mid}",
            json={"text": "likes coffee", "metadata": {"k": 1}, "categories": ["drinks"]},
        )
    )
    assert (updated["memory"], updated["metadata"], updated["categories"]) == (
        "likes coffee",
        {"k": 1},
        ["drinks"],
    )
    ok(http.patch(f"/api/v1/memories/{mid}", json={"expiration_date": "2999-12-31"}))
    assert ok(http.get(f"/api/v1/memories/{mid}"))["expiration_date"].startswith("2999-12-31")
    ok(http.patch(f"/api/v1/memories/{mid}", json={"expiration_date": None}))
    assert ok(http.get(f"/api/v1/memories/{mid}"))["expiration_date"] is None
    events = ok(http.get(f"/api/v1/memories/{mid}/history"))
    assert [e["event"] for e in events] == ["ADD", "UPDATE"]
    assert events[1]["old_memory"] == "likes tea"
    assert events[1]["new_memory"] == "likes coffee"
    assert ok(http.delete(f"/api/v1/memories/{mid}")) == {
        "message": "Memory deleted successfully!",
        "id": mid,
        "erased_from_disk": True,
    }
    error(http.get(f"/api/v1/memories/{mid}"), 404, "NotFoundError")
    erased = ok(http.get(f"/api/v1/memories/{mid}/history"))
    assert erased[-1]["is_deleted"] is True
    assert all(e["old_memory"] is None and e["new_memory"] is None for e in erased)


def test_delete_by_scope_and_batches(http: httpx.Client, uid: str) -> None:
    batch = ok(
        http.post(
            "/api/v1/batch/add",
            json={"records": [{"text": f"fact {i}", "user_id": uid} for i in range(3)]},
        )
    )
    ids = [r["id"] for r in batch["results"]]
    assert len(ids) == 3
    ok(
        http.post(
            "/api/v1/batch/update",
            json={"updates": [{"memory_id": ids[0], "text": "fact zero"}]},
        )
    )
    assert ok(http.get(f"/api/v1/memories/{ids[0]}"))["memory"] == "fact zero"
    deleted = ok(http.post("/api/v1/batch/delete", json={"memory_ids": [ids[1]]}))
    assert deleted["results"] == [{"id": ids[1], "event": "DELETE", "erased_from_disk": True}]
    gone = ok(http.delete("/api/v1/memories", params={"user_id": uid}))
    assert gone["deleted"] == 2
    assert ok(http.post("/api/v1/memories/count", json={"user_id": uid}))["count"] == 0


def test_message_window_routes(http: httpx.Client, uid: str) -> None:
    ok(http.post("/api/v1/messages", json={"messages": ["hello", "world"], "user_id": uid}))
    window = ok(http.post("/api/v1/messages/list", json={"user_id": uid, "limit": 1}))
    assert [(m["role"], m["content"]) for m in window] == [("user", "world")]
    assert window[0]["created_at"]
    assert ok(http.post("/api/v1/messages/clear", json={"user_id": uid}))["deleted"] == 2
    assert ok(http.post("/api/v1/messages/list", json={"user_id": uid})) == []


def test_scopes_info_embed(http: httpx.Client, uid: str) -> None:
    ok(http.post("/api/v1/memories", json={"messages": "x", "user_id": uid, "infer": False}))
    ok(
        http.post(
            "/api/v1/memories",
            json={"messages": "y", "user_id": uid, "run_id": "r1", "infer": False},
        )
    )
    scopes = ok(http.get("/api/v1/scopes"))["results"]
    mine = sorted((s["run_id"] or "", s["count"]) for s in scopes if s["user_id"] == uid)
    assert mine == [("", 1), ("r1", 1)]
    info = ok(http.get("/api/v1/info"))
    assert info["embedder"]["dim"] > 0
    assert info["llm"] is None
    assert info["key"]["admin"] is True
    assert "hash" not in info["key"]
    vectors = ok(http.post("/api/v1/embed", json={"texts": ["a", "b"]}))["vectors"]
    assert len(vectors) == 2
    assert len(vectors[0]) == info["embedder"]["dim"]


def test_admin_routes(live: LiveServer, http: httpx.Client) -> None:
    assert ok(http.post("/api/v1/admin/verify"))["ok"] is True
    assert ok(http.post("/api/v1/admin/checkpoint")) == {"message": "checkpointed"}
    writer = live.create_key("writer").key
    for path in ("/api/v1/admin/reset", "/api/v1/admin/verify", "/api/v1/admin/checkpoint"):
        answer = http.post(path, headers={"Authorization": f"Bearer {writer}"})
        error(answer, 403, "PermissionDeniedError")


def test_health_ready_metrics_docs(live: LiveServer, http: httpx.Client) -> None:
    assert httpx.get(f"{live.url}/health").json() == {"status": "ok"}
    assert httpx.get(f"{live.url}/ready").json() == {"status": "ready"}
    http.post("/api/v1/memories/search", json={"query": "q", "user_id": "metrics-user"})
    text = httpx.get(f"{live.url}/metrics").text
    assert "# TYPE mnemoweave_http_requests_total counter" in text
    line = re.search(
        r'mnemoweave_http_requests_total\{method="POST",route="/api/v1/memories/search",'
        r'status="200"\} (\d+)',
        text,
    )
    assert line is not None
    assert int(line.group(1)) >= 1
    assert 'mnemoweave_http_request_duration_seconds_bucket{method="POST"' in text
    assert "mnemoweave_llm_calls_total" in text
    assert "mnemoweave_llm_prompt_tokens_total" in text
    assert "metrics-user" not in text  # route templates only, never ids
    spec = httpx.get(f"{live.url}/openapi.json").json()
    assert "/api/v1/memories/search" in spec["paths"]
    assert "/v3/memories/add/" in spec["paths"]
    assert "swagger" in httpx.get(f"{live.url}/docs").text.lower()


@pytest.mark.parametrize(
    ("method", "path", "body", "needle"),
    [
        ("post", "/api/v1/memories/search", {"query": "", "user_id": "u"}, "query must not be"),
        ("post", "/api/v1/memories/search", {"query": "q"}, "at least one of user_id"),
        ("post", "/api/v1/memories/search", {"query": "q", "user_id": "u", "limit": 0}, "limit"),
        ("post", "/api/v1/memories/search", {"query": "q", "user_id": "u", "limit": "5"}, "limit"),
        ("post", "/api/v1/memories/search", {"query": 5, "user_id": "u"}, "query"),
        ("post", "/api/v1/memories/search", {"query": "q", "user_id": "u", "bogus": 1}, "bogus"),
        (
            "post",
            "/api/v1/memories/list",
            {"user_id": "u", "filters": {"x": {"regex": "a"}}},
            "unknown filter operator",
        ),
        ("post", "/api/v1/memories", {"messages": [], "user_id": "u"}, "messages"),
        (
            "post",
            "/api/v1/memories",
            {"messages": "x", "user_id": "u", "infer": True},
            "needs an LLM",
        ),
        (
            "post",
            "/api/v1/memories",
            {"messages": "x", "user_id": "u", "timestamp": "soon"},
            "timestamp",
        ),
    ],
)
def test_bad_input_is_a_named_4xx(
    http: httpx.Client, method: str, path: str, body: Any, needle: str
) -> None:
    answer = http.request(method.upper(), path, json=body)
    assert 400 <= answer.status_code < 500, answer.text
    assert needle in answer.json()["detail"]


def test_malformed_json_and_wrong_methods_are_4xx(http: httpx.Client) -> None:
    broken = http.post(
        "/api/v1/memories", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert "JSON" in error(broken, 422, "ValidationError")
    assert http.put("/api/v1/memories/search").status_code == 405
    error(http.get("/api/v1/memories/no-such-id"), 404, "NotFoundError")


def test_cors_is_off_by_default(live: LiveServer) -> None:
    answer = httpx.options(
        f"{live.url}/api/v1/memories/search",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in answer.headers
