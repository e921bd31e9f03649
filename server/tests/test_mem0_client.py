"""mem0's own ``MemoryClient`` (package ``mem0ai``) against our server, unchanged.

mem0 is imported inside the tests, after the session fixture pointed ``MEM0_DIR`` into the
sandbox and turned its telemetry off; a ``NetworkGuard`` proves nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mnemoweave.testing import NetworkGuard
from mnemoweave_server.testing import LiveServer


@pytest.fixture
def guard() -> Iterator[NetworkGuard]:
    with NetworkGuard() as net:
        yield net
    assert net.attempts == []


@pytest.fixture
def mem0(live: LiveServer, guard: NetworkGuard) -> Any:
    from mem0 import MemoryClient

    return MemoryClient(api_key=live.admin_key, host=live.url)


def test_construction_validates_the_key(live: LiveServer, guard: NetworkGuard) -> None:
    from mem0 import MemoryClient

    client = MemoryClient(api_key=live.admin_key, host=live.url)
    assert (client.org_id, client.project_id) == ("mnemoweave", "default")
    with pytest.raises(ValueError, match="unknown or revoked API key"):
        MemoryClient(api_key="mw_nope_nope", host=live.url)


def test_add_search_get_all_get(mem0: Any, uid: str) -> None:
    added = mem0.add(
        [
            {"role": "user", "content": "I am allergic to peanuts"},
            {"role": "assistant", "content": "I will remember that"},
        ],
        user_id=uid,
        metadata={"source": "mem0"},
        infer=False,
    )
    assert added["status"] == "SUCCEEDED"
    assert [e["event"] for e in added["results"]] == ["ADD", "ADD"]
    assert added["results"][0]["data"]["memory"] == "I am allergic to peanuts"
    mem0.add("I like hiking", filters={"user_id": uid}, infer=False)

    found = mem0.search("peanut allergy", filters={"user_id": uid}, top_k=1)
    assert [r["memory"] for r in found["results"]] == ["I am allergic to peanuts"]
    assert found["results"][0]["score"] > 0
    scoped = mem0.search("anything", filters={"AND": [{"user_id": uid}, {"source": "mem0"}]})
    assert {r["memory"] for r in scoped["results"]} == {
        "I am allergic to peanuts",
        "I will remember that",
    }

    page = mem0.get_all(filters={"user_id": uid}, page=1, page_size=2)
    assert page["count"] == 3
    assert len(page["results"]) == 2
    assert page["next"] is not None
    assert page["previous"] is None
    last = mem0.get_all(filters={"user_id": uid}, page=2, page_size=2)
    assert len(last["results"]) == 1
    assert last["next"] is None
    whole = mem0.get_all(filters={"user_id": uid})
    assert whole["count"] == 3

    first = added["results"][0]["id"]
    one = mem0.get(first)
    assert (one["memory"], one["user_id"], one["metadata"]) == (
        "I am allergic to peanuts",
        uid,
        {"source": "mem0"},
    )


def test_update_history_delete_delete_all(mem0: Any, uid: str) -> None:
    mid = mem0.add("Lives in Paris", user_id=uid, infer=False)["results"][0]["id"]
    other = mem0.add("Has a dog", user_id=uid, infer=False)["results"][0]["id"]
    updated = mem0.update(mid, text="Lives in Berlin", metadata={"moved": True})
    assert updated["memory"] == "Lives in Berlin"
    assert updated["metadata"] == {"moved": True}
    events = mem0.history(mid)
    assert [e["event"] for e in events] == ["ADD", "UPDATE"]
    assert events[1]["old_memory"] == "Lives in Paris"
    assert mem0.delete(mid) == {"message": "Memory deleted successfully!"}
    from mem0.exceptions import MemoryNotFoundError

    with pytest.raises(MemoryNotFoundError, match="no memory with id"):
        mem0.get(mid)
    assert "deleted" in mem0.delete_all(user_id=uid)["message"].lower()
    with pytest.raises(MemoryNotFoundError):
        mem0.get(other)


def test_feedback(mem0: Any, uid: str) -> None:
    mid = mem0.add("Prefers aisle seats", user_id=uid, infer=False)["results"][0]["id"]
    reply = mem0.feedback(memory_id=mid, feedback="NEGATIVE", feedback_reason="wrong seat")
    assert reply["message"] == "Feedback recorded"
    events = mem0.history(mid)
    assert [e["event"] for e in events] == ["ADD", "FEEDBACK"]
    assert (events[1]["feedback"], events[1]["feedback_reason"]) == ("NEGATIVE", "wrong seat")
    assert mem0.feedback(memory_id=mid)["message"] == "Feedback cleared"


def test_batches(mem0: Any, uid: str) -> None:
    ids = [mem0.add(t, user_id=uid, infer=False)["results"][0]["id"] for t in ("a1", "b1")]
    assert (
        "2"
        in mem0.batch_update(
            [{"memory_id": ids[0], "text": "a2"}, {"memory_id": ids[1], "text": "b2"}]
        )["message"]
    )
    assert mem0.get(ids[0])["memory"] == "a2"
    mem0.batch_delete([{"memory_id": ids[0]}])
    assert [m["id"] for m in mem0.get_all(filters={"user_id": uid})["results"]] == [ids[1]]


def test_users_and_delete_users(live: LiveServer, mem0: Any, uid: str) -> None:
    mem0.add("x", user_id=uid, infer=False)
    mem0.add("y", user_id=uid, agent_id=f"{uid}-agent", infer=False)
    entities = {(e["type"], e["name"]): e for e in mem0.users()["results"]}
    assert entities[("user", uid)]["total_memories"] == 2
    assert entities[("agent", f"{uid}-agent")]["total_memories"] == 1
    assert mem0.delete_users(user_id=uid) == {"message": "Entity deleted successfully."}
    assert ("user", uid) not in {(e["type"], e["name"]) for e in mem0.users()["results"]}


def test_reset_with_a_key_bound_to_users(live: LiveServer, guard: NetworkGuard, uid: str) -> None:
    """mem0's reset() lists entities and deletes each: a bound key only reaches its own."""
    from mem0 import MemoryClient

    other = f"{uid}-other"
    live.client().add("not yours", user_id=other, infer=False)
    key = live.create_key("bound", users=[uid]).key
    bound = MemoryClient(api_key=key, host=live.url)
    bound.add("mine", user_id=uid, infer=False)
    assert [e["name"] for e in bound.users()["results"]] == [uid]
    bound.reset()
    with live.client() as admin:
        assert admin.count(user_id=uid) == 0
        assert admin.count(user_id=other) == 1


def test_async_client(live: LiveServer, guard: NetworkGuard, uid: str) -> None:
    from mem0 import AsyncMemoryClient

    async def run() -> list[str]:
        client = AsyncMemoryClient(api_key=live.admin_key, host=live.url)
        await client.add("async mem0 fact", user_id=uid, infer=False)
        found = await client.search("async fact", filters={"user_id": uid})
        return [r["memory"] for r in found["results"]]

    assert asyncio.run(run()) == ["async mem0 fact"]


def test_older_client_routes(http: httpx.Client, uid: str) -> None:
    """The v1/v2 shapes mem0ai 0.x and 1.x clients send and expect."""
    added = http.post(
        "/v1/memories/",
        json={
            "messages": [{"role": "user", "content": "likes tea"}],
            "user_id": uid,
            "infer": False,
            "version": "v2",
            "output_format": "v1.0",
        },
    )
    assert added.status_code == 200
    assert added.json()[0]["event"] == "ADD"
    listed = http.get("/v1/memories/", params={"user_id": uid}).json()
    assert [m["memory"] for m in listed] == ["likes tea"]
    v2 = http.post("/v2/memories/", json={"filters": {"user_id": uid}}).json()
    assert [m["memory"] for m in v2] == ["likes tea"]
    found = http.post("/v2/memories/search/", json={"query": "tea", "filters": {"user_id": uid}})
    assert found.json()[0]["memory"] == "likes tea"
    wrapped = http.post(
        "/v1/memories/search/",
        json={"query": "tea", "user_id": uid, "output_format": "v1.1"},
    ).json()
    assert wrapped["results"][0]["memory"] == "likes tea"


def test_mem0_options_we_do_not_have_are_refused_by_name(http: httpx.Client, uid: str) -> None:
    for extra, needle in (
        ({"app_id": "app"}, "app_id"),
        ({"custom_categories": [{"x": "y"}]}, "custom_categories"),
        ({"enable_graph": True}, "graph"),
    ):
        answer = http.post(
            "/v3/memories/add/", json={"messages": "x", "user_id": uid, "infer": False, **extra}
        )
        assert answer.status_code == 422, answer.text
        assert needle in answer.json()["detail"]


def test_mem0_multimodal_shapes_as_written(mem0: Any, uid: str) -> None:
    import base64

    png = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(8)).decode()
    doc = "data:text/markdown;base64," + base64.b64encode(b"# Plan\n\nMove to Porto.").decode()
    added = mem0.add(
        [
            {"role": "user", "content": {"type": "image_url", "image_url": {"url": png}}},
            {"role": "user", "content": {"type": "mdx_url", "mdx_url": {"url": doc}}},
        ],
        user_id=uid,
        infer=False,
    )
    texts = [e["data"]["memory"] for e in added["results"]]
    assert texts[0].startswith("[image 1: inline image/png, 16 bytes, sha256:")
    assert texts[1].startswith("[document mdx inline sha256:")
    assert texts[1].endswith("Move to Porto.")
