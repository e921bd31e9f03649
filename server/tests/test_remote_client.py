"""``mnemoweave.remote`` against a live server: same results and errors as a local Memory."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mnemoweave import (
    AddHandle,
    AuthenticationError,
    ConfigurationError,
    HistoryEntry,
    ImmutableMemoryError,
    Memory,
    MemoryItem,
    NotFoundError,
    PermissionDeniedError,
    SearchResult,
    ValidationError,
)
from mnemoweave.embed import embed_texts
from mnemoweave.remote import MemoryClient
from mnemoweave_server.testing import LiveServer

VOLATILE = {"id", "created_at", "updated_at", "valid_from", "recorded_at", "memory_id"}


def same(item: Any) -> Any:
    """A result with ids and timestamps taken out, so two stores can be compared."""
    if isinstance(item, list):
        return [same(i) for i in item]
    if hasattr(item, "to_dict"):
        item = item.to_dict()
    if isinstance(item, dict):
        return {k: same(v) for k, v in item.items() if k not in VOLATILE}
    return item


def script(mem: Any, uid: str) -> list[Any]:
    """The same calls, made on a local Memory and on a remote client."""
    out: list[Any] = []
    added = mem.add(
        [{"role": "user", "content": "I adopted a cat named Biscuit", "name": "Tess"}],
        user_id=uid,
        metadata={"topic": "pets"},
        infer=False,
        categories=["pets"],
    )
    out.append(same(added))
    mem.add("My favourite colour is teal", user_id=uid, agent_id="bot", infer=False)
    mid = added.results[0].id
    out.append(same(mem.search("cat Biscuit", user_id=uid, explain=True)))
    out.append(same(mem.search("teal", user_id=uid, filters={"agent_id": "bot"}, limit=1)))
    out.append(same(mem.get_all(user_id=uid, limit=1, offset=1)))
    out.append(same(mem.get_all(user_id=uid, page=2, page_size=1, output_format="v1.1")))
    out.append(same(mem.search("teal", user_id=uid, version="v2")))  # ignored, as locally
    out.append([same(e) for e in mem.users().results if e.name in (uid, "bot")])
    out.append(mem.count(user_id=uid))
    out.append(same(mem.update(mid, "I adopted a cat named Crumble", metadata={"topic": "cats"})))
    out.append(same(mem.feedback(mid, "POSITIVE", reason="spot on")))
    out.append(same(mem.history(mid)))
    out.append(same(mem.batch_add([{"text": "likes jazz", "user_id": uid}])))
    out.append([(m["role"], m["content"]) for m in mem.get_messages(user_id=uid)])
    out.append(mem.clear_messages(user_id=uid))
    out.append(same(mem.delete(mid)))
    out.append(mem.delete_all(user_id=uid))
    mem.add("one more", user_id=uid, infer=False)
    out.append(mem.delete_users(user_id=uid))
    out.append(mem.count(user_id=uid))
    return out


def test_remote_results_equal_local_results(admin: MemoryClient, tmp_path: Path, uid: str) -> None:
    local = Memory(tmp_path / "local", embedder="hash")
    try:
        expected = script(local, uid)
    finally:
        local.close()
    assert script(admin, uid) == expected


def test_remote_results_have_memorys_types(admin: MemoryClient, uid: str) -> None:
    mid = admin.add("types please", user_id=uid, infer=False).results[0].id
    found = admin.search("types", user_id=uid)
    assert isinstance(found, SearchResult)
    assert isinstance(found.results[0], MemoryItem)
    assert found["results"][0]["memory"] == "types please"  # mem0-style reads still work
    assert isinstance(admin.get(mid).created_at.year, int)
    assert all(isinstance(e, HistoryEntry) for e in admin.history(mid))
    assert admin.scopes().users() == {uid: 1} or uid in admin.scopes().users()


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda m, u: m.get("no-such-memory"), NotFoundError),
        (lambda m, u: m.update("no-such-memory", "x"), NotFoundError),
        (lambda m, u: m.search("", user_id=u), ValidationError),
        (lambda m, u: m.search("q"), ValidationError),
        (lambda m, u: m.get_all(user_id=u, filters={"a": {"like": 1}}), ValidationError),
        (lambda m, u: m.add("x", user_id=u, infer=True), Exception),
        (lambda m, u: m.batch_delete(["no-such-memory"]), NotFoundError),
    ],
)
def test_remote_errors_are_the_local_errors(
    admin: MemoryClient, tmp_path: Path, uid: str, call: Any, error: type[Exception]
) -> None:
    local = Memory(tmp_path / "local", embedder="hash")
    try:
        with pytest.raises(error) as there:
            call(local, uid)
    finally:
        local.close()
    with pytest.raises(type(there.value)) as here:
        call(admin, uid)
    assert str(here.value) == str(there.value)


def test_background_adds_flush_like_local(admin: MemoryClient, uid: str) -> None:
    handles = [admin.add(f"fact {i}", user_id=uid, infer=False, background=True) for i in range(5)]
    assert all(isinstance(h, AddHandle) for h in handles)
    admin.flush()
    assert all(h.done() for h in handles)
    assert admin.count(user_id=uid) == 5
    failing = admin.add("x", infer=False, background=True)  # no scope: fails on the server
    assert isinstance(failing, AddHandle)
    with pytest.raises(ValidationError):
        failing.result()


def test_async_client_across_event_loops(live: LiveServer, uid: str) -> None:
    client = live.async_client()

    async def add_and_count() -> int:
        await client.add("async fact", user_id=uid, infer=False)
        handle = await client.add("background fact", user_id=uid, infer=False, background=True)
        await handle
        return await client.count(user_id=uid)

    assert asyncio.run(add_and_count()) == 2
    assert asyncio.run(add_and_count()) == 4  # a second loop: a fresh connection pool
    found = asyncio.run(client.search("async fact", user_id=uid))
    assert found.results[0].memory == "async fact"

    async def close() -> None:
        await client.close()

    asyncio.run(close())


def test_keys_are_checked(live: LiveServer, uid: str) -> None:
    with (
        MemoryClient(live.url, api_key="mw_0000_wrong") as wrong,
        pytest.raises(AuthenticationError),
    ):
        wrong.count(user_id=uid)
    with MemoryClient(live.url) as none, pytest.raises(AuthenticationError):
        none.count(user_id=uid)
    reader = live.create_key("reader", read_only=True).key
    with live.client(reader) as ro:
        assert ro.count(user_id=uid) == 0
        with pytest.raises(PermissionDeniedError, match="read-only"):
            ro.add("nope", user_id=uid, infer=False)


def test_remote_embedder_matches_the_servers(admin: MemoryClient, tmp_path: Path) -> None:
    local = Memory(tmp_path / "local", embedder="hash")
    try:
        assert admin.embedder.model_id == local.embedder.model_id
        assert admin.embedder.dim == local.embedder.dim
        remote = admin.embedder.embed(["hello world"])
        assert remote.shape == (1, local.embedder.dim)
        assert np.allclose(remote, embed_texts(local.embedder, ["hello world"]), atol=1e-6)
    finally:
        local.close()
    assert admin.llm is None
    assert admin.path is None
    assert admin.config.message_window == 200


def test_immutable_updates_need_force_and_deletes_take_source(
    admin: MemoryClient, uid: str
) -> None:
    mid = admin.add("fixed fact", user_id=uid, infer=False, immutable=True).results[0].id
    with pytest.raises(ImmutableMemoryError) as refused:
        admin.update(mid, "changed")
    assert refused.value.memory_id == mid
    assert admin.update(mid, "changed", force=True).memory == "changed"
    assert admin.delete(mid, source=True) == {
        "message": "Memory deleted successfully!",
        "id": mid,
        "sources_deleted": 0,
        "erased_from_disk": True,
    }
    other = admin.add("another", user_id=uid, infer=False).results[0].id
    assert admin.batch_delete([other], source=True).results == [
        {"id": other, "event": "DELETE", "erased_from_disk": True}
    ]
    assert admin.count(user_id=uid) == 0


def test_rerank_travels_in_the_search_body(admin: MemoryClient, uid: str) -> None:
    """The shared server has no reranker: rerank=True must be refused, not ignored."""
    admin.add("I like green tea", user_id=uid, infer=False)
    assert admin.search("tea", user_id=uid, rerank=False).results
    with pytest.raises(ConfigurationError, match="needs a reranker"):
        admin.search("tea", user_id=uid, rerank=True)
