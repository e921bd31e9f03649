"""MnemoweaveStore: the adapter contract, then LangGraph's BaseStore semantics.

The conformance part restates, in our own tests, what LangGraph's store test-suites expect of
any BaseStore (InMemoryStore, SqliteStore, PostgresStore): batch ordering, prefix search on
label boundaries, filters and their operators, pagination, unindexed items, list_namespaces
with prefixes, suffixes, wildcards and depth, namespace validation, and delete-by-None.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest

pytest.importorskip("langgraph.store.base")

from langgraph.store.base import (
    GetOp,
    InvalidNamespaceError,
    Item,
    ListNamespacesOp,
    MatchCondition,
    PutOp,
    SearchItem,
    SearchOp,
)

from mnemoweave import ConfigurationError, Memory, ValidationError
from mnemoweave.remote import MemoryClient
from mnemoweave_adapters.contract import AdapterContractTests
from mnemoweave_langchain import MnemoweaveStore
from mnemoweave_langchain._filters import matches

# -- the contract ---------------------------------------------------------------------------


@dataclass
class StoreDriver:
    store: MnemoweaveStore
    namespace: tuple[str, ...]


class TestStoreContract(AdapterContractTests):
    has_async = True
    supports_delete = True
    renders_block = False
    entry_point = "langchain"
    allowed_overrides: ClassVar[dict[str, str]] = {
        "test_core_writes_are_visible_through_adapter": (
            "a LangGraph store holds (namespace, key) -> value items, and a plain mnemoweave "
            "memory has neither a key nor a value; the replacement checks the same property "
            "(every read goes to the shared store, nothing is cached) with an item written by "
            "another Memory/MnemoweaveStore pair over the same directory or database"
        ),
    }

    def make_adapter(self, memory: Memory, *, user_id: str) -> StoreDriver:
        return StoreDriver(
            MnemoweaveStore(memory, index={"fields": ["text"]}), ("users", user_id, "memories")
        )

    def make_input(self, text: str) -> Any:
        return {"text": text, "source": "contract"}

    def remember(self, adapter: StoreDriver, payload: Any) -> None:
        adapter.store.put(adapter.namespace, uuid.uuid4().hex, payload)

    def recall(self, adapter: StoreDriver, query: str) -> str:
        items = adapter.store.search(adapter.namespace[:2], query=query)
        return "\n".join(item.value["text"] for item in items)

    async def aremember(self, adapter: StoreDriver, payload: Any) -> None:
        await adapter.store.aput(adapter.namespace, uuid.uuid4().hex, payload)

    async def arecall(self, adapter: StoreDriver, query: str) -> str:
        items = await adapter.store.asearch(adapter.namespace[:2], query=query)
        return "\n".join(item.value["text"] for item in items)

    def forget_all(self, adapter: StoreDriver) -> None:
        for item in adapter.store.search(adapter.namespace, limit=1000):
            adapter.store.delete(item.namespace, item.key)

    def test_core_writes_are_visible_through_adapter(
        self, adapter: StoreDriver, memory: Memory
    ) -> None:
        """An item written through another handle on the same store is read back."""
        if isinstance(memory, MemoryClient):  # the remote run: another client, same server
            other: Memory | MemoryClient = MemoryClient(memory.host, api_key=memory.api_key)
        else:
            other = Memory(memory.path, embedder="hash", backend=memory.config.backend)
        try:
            self.remember(
                self.make_adapter(other, user_id="contract-user"),
                self.make_input("My favourite colour is teal and my cat is called Biscuit"),
            )
        finally:
            other.close()
        assert "teal" in self.recall(adapter, "favourite colour teal cat Biscuit")


# -- fixtures -------------------------------------------------------------------------------


@pytest.fixture
def store(memory: Memory) -> MnemoweaveStore:
    return MnemoweaveStore(memory)


@pytest.fixture
def text_store(memory: Memory) -> MnemoweaveStore:
    return MnemoweaveStore(memory, index={"fields": ["text"]})


def keys(items: list[SearchItem]) -> list[str]:
    return [item.key for item in items]


def namespaces(items: list[SearchItem]) -> set[tuple[str, ...]]:
    return {item.namespace for item in items}


# -- put / get / delete ---------------------------------------------------------------------


def test_get_returns_exactly_what_was_put(store: MnemoweaveStore) -> None:
    value = {
        "title": "Café notes",
        "nested": {"b": [1, 2.5, None, True], "a": {"deep": "x"}},
        "empty": {},
        "z": 0,
    }
    store.put(("docs", "u1"), "k", value)
    item = store.get(("docs", "u1"), "k")
    assert isinstance(item, Item)
    assert item.value == value
    assert list(item.value) == list(value)  # field order too
    assert item.namespace == ("docs", "u1")
    assert item.key == "k"
    assert item.created_at is not None
    assert item.created_at.tzinfo is not None
    assert store.get(("docs", "u2"), "k") is None
    assert store.get(("docs",), "k") is None
    assert store.get(("docs", "u1"), "other") is None


def test_second_put_replaces_in_place_and_keeps_history(
    text_store: MnemoweaveStore, memory: Memory
) -> None:
    ns = ("users", "ann", "prefs")
    text_store.put(ns, "drink", {"text": "Ann drinks green tea"})
    first = text_store.get(ns, "drink")
    time.sleep(0.01)
    text_store.put(ns, "drink", {"text": "Ann drinks black coffee", "since": 2024})
    second = text_store.get(ns, "drink")
    assert second.value == {"text": "Ann drinks black coffee", "since": 2024}
    assert second.created_at == first.created_at
    assert second.updated_at > first.updated_at
    rows = memory.get_all(user_id="ann").results
    assert len(rows) == 1
    events = [(h.event, h.new_memory) for h in memory.history(rows[0].id)]
    assert events == [("ADD", "Ann drinks green tea"), ("UPDATE", "Ann drinks black coffee")]


def test_delete_erases_and_missing_delete_is_silent(store: MnemoweaveStore, memory: Memory) -> None:
    store.put(("users", "ann"), "k", {"v": 1})
    store.delete(("users", "ann"), "k")
    assert store.get(("users", "ann"), "k") is None
    assert memory.count(user_id="ann") == 0
    store.delete(("users", "ann"), "k")
    store.delete(("never", "seen"), "k")


def test_batch_put_none_deletes_and_last_write_wins(store: MnemoweaveStore) -> None:
    store.put(("t",), "gone", {"v": 0})
    results = store.batch(
        [
            PutOp(("t",), "a", {"v": 1}),
            PutOp(("t",), "a", {"v": 2}),
            PutOp(("t",), "gone", None),
            PutOp(("t",), "b", {"v": 3}),
            PutOp(("t",), "b", None),
        ]
    )
    assert results == [None] * 5
    assert store.get(("t",), "a").value == {"v": 2}
    assert store.get(("t",), "gone") is None
    assert store.get(("t",), "b") is None


def test_batch_reads_run_before_writes_and_keep_order(store: MnemoweaveStore) -> None:
    store.put(("test", "foo"), "key1", {"data": "value1"})
    store.put(("test", "bar"), "key2", {"data": "value2"})
    results = store.batch(
        [
            GetOp(("test", "foo"), "key1"),
            PutOp(("test",), "key3", {"data": "value3"}),
            SearchOp(("test",), filter={"data": "value1"}),
            ListNamespacesOp(),
            GetOp(("test",), "key3"),
        ]
    )
    assert isinstance(results[0], Item)
    assert results[0].value == {"data": "value1"}
    assert results[1] is None
    assert keys(results[2]) == ["key1"]
    assert results[3] == [("test", "bar"), ("test", "foo")]
    assert results[4] is None  # the put in the same batch lands after the reads
    assert store.get(("test",), "key3").value == {"data": "value3"}


def test_async_api_matches_sync(store: MnemoweaveStore) -> None:
    async def scenario() -> tuple[Any, ...]:
        await store.aput(("a", "b"), "k", {"text": "hello async"})
        got = await store.aget(("a", "b"), "k")
        found = await store.asearch(("a",), query="hello")
        listed = await store.alist_namespaces(prefix=("a",))
        batch = await store.abatch([GetOp(("a", "b"), "k"), GetOp(("a", "b"), "nope")])
        await store.adelete(("a", "b"), "k")
        return got, found, listed, batch, await store.aget(("a", "b"), "k")

    got, found, listed, batch, after = asyncio.run(scenario())
    assert got.value == {"text": "hello async"}
    assert keys(found) == ["k"]
    assert listed == [("a", "b")]
    assert batch[0].value == got.value
    assert batch[1] is None
    assert after is None


# -- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "namespace", [(), ("the", "thing.about"), ("some", "fun", ""), ("langgraph", "foo")]
)
def test_public_put_rejects_namespaces_langgraph_rejects(
    store: MnemoweaveStore, namespace: tuple[str, ...]
) -> None:
    with pytest.raises(InvalidNamespaceError):
        store.put(namespace, "k", {"v": 1})
    with pytest.raises(InvalidNamespaceError):
        asyncio.run(store.aput(namespace, "k", {"v": 1}))


def test_batch_accepts_the_langgraph_root_and_rejects_bad_labels(store: MnemoweaveStore) -> None:
    store.batch([PutOp(("langgraph", "foo"), "bar", {"v": 1})])
    assert store.get(("langgraph", "foo"), "bar").value == {"v": 1}
    assert store.search(("langgraph", "foo"))[0].value == {"v": 1}
    for bad in [(), ("ok", 3), ("ok", "")]:
        with pytest.raises(InvalidNamespaceError) as caught:
            store.batch([PutOp(bad, "k", {"v": 1})])
        assert isinstance(caught.value, ValidationError)  # also mnemoweave's error type


@pytest.mark.parametrize(
    "value", [["not", "a", "dict"], {"when": object()}, {"x": math.nan}, {1: "int key"}]
)
def test_values_must_be_json_objects(store: MnemoweaveStore, value: Any) -> None:
    with pytest.raises(ValidationError):
        store.batch([PutOp(("t",), "k", value)])
    assert store.search(()) == []


def test_ttl_is_refused_clearly(store: MnemoweaveStore) -> None:
    assert store.supports_ttl is False
    with pytest.raises(NotImplementedError, match="TTL"):
        store.put(("t",), "k", {"v": 1}, ttl=5)
    with pytest.raises(NotImplementedError, match="TTL"):
        store.batch([PutOp(("t",), "k", {"v": 1}, ttl=5.0)])
    store.put(("t",), "k", {"v": 1}, ttl=None)
    assert store.get(("t",), "k") is not None


@pytest.mark.parametrize(
    ("index", "message"),
    [
        ({"embed": lambda texts: [[0.0] for _ in texts], "dims": 1}, "this Memory embeds with"),
        ({"dims": 7}, "dims=7"),
        ({"fields": ["text"], "distance_type": "l2"}, "not supported"),
        ({"fields": ["text"], "ann_index_config": {}}, "unsupported"),
        ({"fields": ["a"], "text_fields": ["b"]}, "not both"),
        ({"embed": "openai:text-embedding-3-small", "dims": 1536}, "over the network"),
        ("text", "dict"),
    ],
)
def test_index_config_is_checked(memory: Memory, index: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        MnemoweaveStore(memory, index=index)


def test_index_fields_must_be_paths(memory: Memory) -> None:
    with pytest.raises(ValidationError):
        MnemoweaveStore(memory, index={"fields": "text"})
    with pytest.raises(ValidationError):
        MnemoweaveStore(42)  # type: ignore[arg-type]


def test_limits_and_offsets_are_checked(store: MnemoweaveStore) -> None:
    store.put(("t",), "k", {"v": 1})
    assert store.search(("t",), limit=0) == []
    with pytest.raises(ValidationError):
        store.search(("t",), limit=-1)
    with pytest.raises(ValidationError):
        store.search(("t",), offset=-2)
    with pytest.raises(ValidationError):
        store.search(("t",), filter={"v": {"$regex": "x"}})
    with pytest.raises(ValidationError):
        store.search(("t",), filter={"v": {"$gt": 1, "plain": 2}})


# -- search: namespaces and pagination ------------------------------------------------------


def test_prefix_search_stops_at_label_boundaries(store: MnemoweaveStore) -> None:
    for ns in [
        ("foo",),
        ("foo", "child"),
        ("foo", "child", "deep"),
        ("foobar",),
        ("foobar", "baz"),
        ("foo2",),
    ]:
        store.put(ns, "k", {"v": 1})
    assert namespaces(store.search(("foo",), limit=100)) == {
        ("foo",),
        ("foo", "child"),
        ("foo", "child", "deep"),
    }
    assert namespaces(store.search(("foobar",), limit=100)) == {("foobar",), ("foobar", "baz")}
    assert namespaces(store.search(("fo",), limit=100)) == set()
    assert len(store.search((), limit=100)) == 6


def test_prefix_search_is_literal_and_case_sensitive(store: MnemoweaveStore) -> None:
    for ns in [
        ("user_1",),
        ("user_1", "child"),
        ("userX1",),
        ("a%b",),
        ("axxb",),
        ("star*",),
        ("starX",),
        ("Foo",),
        ("foo",),
        ("sl/ash", "x"),
        ("sl", "ash"),
    ]:
        store.put(ns, "k", {"v": 1})
    assert namespaces(store.search(("user_1",))) == {("user_1",), ("user_1", "child")}
    assert namespaces(store.search(("a%b",))) == {("a%b",)}
    assert namespaces(store.search(("star*",))) == {("star*",)}
    assert namespaces(store.search(("foo",))) == {("foo",)}
    assert namespaces(store.search(("Foo",))) == {("Foo",)}
    assert namespaces(store.search(("sl/ash",))) == {("sl/ash", "x")}
    assert namespaces(store.search(("sl",))) == {("sl", "ash")}


def test_listing_pages_are_disjoint_and_newest_first(store: MnemoweaveStore) -> None:
    for i in range(7):
        store.put(("base", f"sub{i % 2}"), f"item{i}", {"i": i})
    first = store.search(("base",), limit=3)
    second = store.search(("base",), limit=3, offset=3)
    third = store.search(("base",), limit=3, offset=6)
    assert [len(first), len(second), len(third)] == [3, 3, 1]
    assert keys(first) + keys(second) + keys(third) == [f"item{i}" for i in reversed(range(7))]
    assert store.search(("base",), offset=7) == []
    assert all(item.score is None for item in first)


def test_query_pages_are_disjoint_and_ranked(text_store: MnemoweaveStore) -> None:
    for i in range(5):
        text_store.put(("test",), f"doc{i}", {"text": f"test document number {i}"})
    page1 = text_store.search(("test",), query="test document", limit=2)
    page2 = text_store.search(("test",), query="test document", limit=2, offset=2)
    everything = text_store.search(("test",), query="test document", limit=10)
    assert len(page1) == len(page2) == 2
    assert not set(keys(page1)) & set(keys(page2))
    assert keys(everything)[:4] == keys(page1) + keys(page2)
    scores = [item.score for item in everything]
    assert scores == sorted(scores, reverse=True)


# -- search: filters ------------------------------------------------------------------------


@pytest.fixture
def catalogue(store: MnemoweaveStore) -> MnemoweaveStore:
    docs = {
        "doc1": {
            "text": "red apple",
            "color": "red",
            "score": 4.5,
            "tags": ["fruit"],
            "meta": {"owner": "ann", "level": 2},
            "active": True,
        },
        "doc2": {
            "text": "red car",
            "color": "red",
            "score": 3.0,
            "tags": ["vehicle"],
            "meta": {"owner": "bob", "level": 1},
            "active": False,
        },
        "doc3": {
            "text": "green apple",
            "color": "green",
            "score": 4.0,
            "tags": ["fruit"],
            "meta": {"owner": "ann", "level": 3},
            "active": True,
            "note": None,
        },
        "doc4": {
            "text": "blue car",
            "color": "blue",
            "score": 3.5,
            "tags": ["vehicle", "x"],
            "meta": {"owner": "cy", "level": 1},
            "active": True,
            "note": "O'Brien's",
        },
        "doc5": {
            "text": "blue sky",
            "color": "blue",
            "score": "n/a",
            "tags": [],
            "meta": "flat",
            "active": 1,
        },
    }
    for key, value in docs.items():
        store.put(("shop", "items"), key, value)
    store.put(("elsewhere",), "doc1", {"color": "red", "score": 9})
    return store


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ({"color": "red"}, {"doc1", "doc2"}),
        ({"color": {"$eq": "blue"}}, {"doc4", "doc5"}),
        ({"color": {"$ne": "red"}}, {"doc3", "doc4", "doc5"}),
        ({"score": {"$gt": 3.2}}, {"doc1", "doc3", "doc4"}),
        ({"score": {"$gte": 4.0}, "color": "green"}, {"doc3"}),
        ({"score": {"$lt": 4}}, {"doc2", "doc4"}),
        ({"score": {"$lte": 3.5, "$gt": 3.0}}, {"doc4"}),
        ({"score": {"$lt": float("inf")}}, {"doc1", "doc2", "doc3", "doc4"}),
        ({"score": {"$lt": 10**100}}, {"doc1", "doc2", "doc3", "doc4"}),
        ({"score": {"$eq": float("nan")}}, set()),
        ({"active": True}, {"doc1", "doc3", "doc4", "doc5"}),
        ({"active": False}, {"doc2"}),
        ({"tags": ["fruit"]}, {"doc1", "doc3"}),
        ({"tags": []}, {"doc5"}),
        ({"meta": {"owner": "ann"}}, {"doc1", "doc3"}),
        ({"meta.level": {"$gte": 2}}, {"doc1", "doc3"}),
        ({"note": None}, {"doc1", "doc2", "doc3", "doc5"}),
        ({"note": "O'Brien's"}, {"doc4"}),
        ({"color": "red' OR '1'='1"}, set()),
        ({"color": '{"a": 1}'}, set()),
        ({"missing": {"$ne": 1}}, {"doc1", "doc2", "doc3", "doc4", "doc5"}),
        ({'we"ird': "x"}, set()),
    ],
)
def test_filters_match_langgraph_semantics(
    catalogue: MnemoweaveStore, flt: dict[str, Any], expected: set[str]
) -> None:
    assert set(keys(catalogue.search(("shop",), filter=flt, limit=50))) == expected
    ranked = catalogue.search(("shop",), query="apple car sky", filter=flt, limit=50)
    assert set(keys(ranked)) == expected


def test_filters_with_pagination_when_python_decides(catalogue: MnemoweaveStore) -> None:
    flt = {"meta": {"level": 1}}  # a nested condition: checked in Python
    assert keys(catalogue.search(("shop",), filter=flt, limit=1)) == ["doc4"]
    assert keys(catalogue.search(("shop",), filter=flt, limit=1, offset=1)) == ["doc2"]
    assert catalogue.search(("shop",), filter=flt, offset=2) == []
    ranked = catalogue.search(("shop",), query="red car", filter=flt, limit=1)
    assert keys(ranked) == ["doc2"]


# -- search: queries and indexing -----------------------------------------------------------


def test_query_ranks_by_the_indexed_text(text_store: MnemoweaveStore) -> None:
    text_store.put(("test",), "doc1", {"text": "zany zebra Xerxes"})
    text_store.put(("test",), "doc2", {"text": "something about dogs"})
    text_store.put(("test",), "doc3", {"text": "text about birds"})
    assert keys(text_store.search(("test",), query="zany Xerxes"))[0] == "doc1"
    text_store.put(("test",), "doc1", {"text": "new text about dogs"})
    assert keys(text_store.search(("test",), query="zany Xerxes"))[0] != "doc1"
    assert keys(text_store.search(("test",), query="new text about dogs"))[0] == "doc1"


def test_unindexed_items_follow_the_ranked_ones(text_store: MnemoweaveStore) -> None:
    text_store.put(("test",), "doc1", {"text": "dogs and cats"})
    text_store.put(("test",), "doc2", {"text": "birds"})
    text_store.put(("test",), "doc3", {"text": "more birds"})
    text_store.put(("test",), "doc4", {"text": "new text about dogs"}, index=False)
    text_store.put(("test",), "doc5", {"other": "no text field at all"})
    found = text_store.search(("test",), query="new text about dogs", limit=3)
    assert "doc4" not in keys(found)
    everything = text_store.search(("test",), query="new text about dogs", limit=10)
    assert keys(everything)[:3] == keys(found)
    assert set(keys(everything)[3:]) == {"doc4", "doc5"}
    assert [i.score for i in everything[3:]] == [None, None]
    assert keys(text_store.search(("test",), query="dogs", limit=2, offset=3)) == ["doc5", "doc4"]
    assert len(text_store.search(("test",))) == 5  # listing shows everything


def test_per_put_index_overrides_the_default(memory: Memory) -> None:
    store = MnemoweaveStore(memory, index={"fields": ["key17"]})
    store.put(
        ("test",), "doc3", {"key0": "aaa", "key1": "bbb", "key2": "ccc"}, index=["key0", "key1"]
    )
    store.put(
        ("test",), "doc4", {"key0": "eee", "key1": "bbb", "key3": "ggg"}, index=["key1", "key3"]
    )
    assert keys(store.search(("test",), query="aaa"))[0] == "doc3"
    assert keys(store.search(("test",), query="ggg"))[0] == "doc4"
    assert set(keys(store.search(("test",), query="bbb"))) == {"doc3", "doc4"}
    assert memory.search("ccc", agent_id="langgraph").results[0].memory in {"aaa\nbbb", "bbb\nggg"}


def test_nested_and_array_paths_are_indexed(memory: Memory) -> None:
    store = MnemoweaveStore(memory, index={"fields": ["meta.title", "chapters[*].body"]})
    store.put(
        ("books",),
        "b1",
        {"meta": {"title": "Sailing"}, "chapters": [{"body": "wind and waves"}, {"body": "knots"}]},
    )
    store.put(("books",), "b2", {"meta": {"title": "Baking"}, "chapters": [{"body": "bread"}]})
    assert keys(store.search(("books",), query="knots"))[0] == "b1"
    assert keys(store.search(("books",), query="bread"))[0] == "b2"
    texts = {r.memory for r in memory.get_all(agent_id="langgraph").results}
    assert texts == {"Sailing\nwind and waves\nknots", "Baking\nbread"}


def test_whole_value_is_indexed_by_default(store: MnemoweaveStore, memory: Memory) -> None:
    store.put(("users", "ann", "memories"), "m1", {"fact": "Ann is allergic to peanuts"})
    hit = memory.search("peanuts", user_id="ann").results[0]
    assert hit.memory == '{"fact": "Ann is allergic to peanuts"}'
    assert keys(store.search(("users", "ann"), query="peanut allergy")) == ["m1"]


@pytest.mark.parametrize("query", ["", "   ", None, "test " * 100, "test!@#$%^&*()"])
def test_query_edge_cases(text_store: MnemoweaveStore, query: str | None) -> None:
    text_store.put(("test",), "doc1", {"text": "test document"})
    assert keys(text_store.search(("test",), query=query)) == ["doc1"]


def test_non_ascii_text(text_store: MnemoweaveStore) -> None:
    texts = ["这是中文", "これは日本語です", "이건 한국어야", "Это русский", "यह रूसी है"]
    for i, text in enumerate(texts, 1):
        text_store.put(("user_123", "memories"), str(i), {"text": text})
    for i, text in enumerate(texts, 1):
        assert keys(text_store.search(("user_123", "memories"), query=text))[0] == str(i)


# -- list_namespaces ------------------------------------------------------------------------


@pytest.fixture
def tree(store: MnemoweaveStore) -> MnemoweaveStore:
    for i, ns in enumerate(
        [
            ("a", "b", "c"),
            ("a", "b", "d", "e"),
            ("a", "b", "d", "i"),
            ("a", "b", "f"),
            ("a", "c", "f"),
            ("b", "a", "f"),
            ("users", "123"),
            ("users", "456", "settings"),
            ("admin", "users", "789"),
        ]
    ):
        store.put(ns, f"id_{i}", {"data": f"value_{i:02d}"})
    return store


def test_list_namespaces_prefix_suffix_and_wildcards(tree: MnemoweaveStore) -> None:
    assert tree.list_namespaces(prefix=("a", "b")) == [
        ("a", "b", "c"),
        ("a", "b", "d", "e"),
        ("a", "b", "d", "i"),
        ("a", "b", "f"),
    ]
    assert tree.list_namespaces(suffix=("f",)) == [
        ("a", "b", "f"),
        ("a", "c", "f"),
        ("b", "a", "f"),
    ]
    assert tree.list_namespaces(prefix=("a",), suffix=("f",)) == [("a", "b", "f"), ("a", "c", "f")]
    assert tree.list_namespaces(prefix=("a", "*", "f")) == [("a", "b", "f"), ("a", "c", "f")]
    assert tree.list_namespaces(suffix=("*", "f")) == [
        ("a", "b", "f"),
        ("a", "c", "f"),
        ("b", "a", "f"),
    ]
    assert tree.list_namespaces(prefix=("*", "users")) == [("admin", "users", "789")]
    assert tree.list_namespaces(prefix=("users", "123")) == [("users", "123")]
    assert tree.list_namespaces(prefix=("nonexistent",)) == []
    assert tree.list_namespaces(prefix=("a", "b", "c", "d")) == []


def test_list_namespaces_depth_and_pages(tree: MnemoweaveStore) -> None:
    assert tree.list_namespaces(prefix=("a", "b"), max_depth=3) == [
        ("a", "b", "c"),
        ("a", "b", "d"),
        ("a", "b", "f"),
    ]
    assert tree.list_namespaces(max_depth=1) == [("a",), ("admin",), ("b",), ("users",)]
    assert tree.list_namespaces(prefix=("a", "b"), limit=2) == [
        ("a", "b", "c"),
        ("a", "b", "d", "e"),
    ]
    assert tree.list_namespaces(prefix=("a", "b"), offset=2) == [
        ("a", "b", "d", "i"),
        ("a", "b", "f"),
    ]
    assert len(tree.list_namespaces()) == 9
    tree.batch([ListNamespacesOp(match_conditions=(MatchCondition("suffix", ("f",)),))])
    with pytest.raises(ValidationError):
        tree.list_namespaces(max_depth=0)


def test_list_namespaces_on_an_empty_store(store: MnemoweaveStore) -> None:
    assert store.list_namespaces() == []


def test_list_namespaces_pagination_is_stable(store: MnemoweaveStore) -> None:
    for i in range(12):
        store.put(("namespace", f"sub_{i:02d}"), "k", {"i": i})
    pages = [store.list_namespaces(prefix=("namespace",), limit=5, offset=o) for o in (0, 5, 10)]
    assert [ns for page in pages for ns in page] == [
        ("namespace", f"sub_{i:02d}") for i in range(12)
    ]


# -- namespaces <-> mnemoweave scopes ---------------------------------------------------------


def test_users_namespaces_are_mnemoweave_users(text_store: MnemoweaveStore, memory: Memory) -> None:
    text_store.put(("users", "alice", "memories"), "m1", {"text": "Alice likes oolong tea"})
    text_store.put(("users", "alicia", "memories"), "m1", {"text": "Alicia likes oolong tea"})
    (row,) = memory.search("oolong tea", user_id="alice").results
    assert (row.user_id, row.agent_id, row.memory) == (
        "alice",
        "langgraph",
        "Alice likes oolong tea",
    )
    assert text_store.scope_for(("users", "alice", "x")) == {
        "agent_id": "langgraph",
        "user_id": "alice",
    }
    assert text_store.namespace_for("alice") == ("users", "alice")
    assert namespaces(text_store.search(("users", "alice"), query="oolong")) == {
        ("users", "alice", "memories")
    }


@pytest.mark.parametrize(
    "namespace",
    [("notes", "bob"), ("bob",), ("a/b", "c%d", "e"), ("users", "ns:trick"), ("users",)],
)
def test_other_namespaces_use_a_reversible_user_id(
    store: MnemoweaveStore, memory: Memory, namespace: tuple[str, ...]
) -> None:
    store.put(namespace, "k", {"v": "x"})
    (row,) = memory.get_all(agent_id="langgraph").results
    assert row.user_id.startswith("ns:")
    assert store.namespace_for(row.user_id) == namespace[:2]
    assert store.scope_for(namespace)["user_id"] == row.user_id


def test_store_agent_id_and_users_root_are_configurable(memory: Memory) -> None:
    store = MnemoweaveStore(memory, agent_id="my-app", users_root="memories")
    store.put(("memories", "dana"), "k", {"v": 1})
    assert memory.get_all(user_id="dana", agent_id="my-app").total == 1
    store.put(("users", "dana"), "k", {"v": 1})  # "users" is no longer a user root
    assert memory.get_all(user_id="ns:users/dana", agent_id="my-app").total == 1
    plain = MnemoweaveStore(memory, agent_id="other", users_root=None)
    plain.put(("memories", "eve"), "k", {"v": 1})
    assert memory.get_all(user_id="ns:memories/eve", agent_id="other").total == 1
    assert MnemoweaveStore(memory).search(()) == []  # another agent_id sees nothing
    no_users = MnemoweaveStore(memory, users_root=None)
    assert no_users.scope_for(("users", "x"))["user_id"] == "ns:users/x"
    with pytest.raises(ValidationError):
        no_users.namespace_for("x")
    with pytest.raises(ValidationError):
        MnemoweaveStore(memory, agent_id=" ")


def test_tenants_stay_apart_in_core_searches(text_store: MnemoweaveStore, memory: Memory) -> None:
    for user in ("u1", "u2", "u3"):
        for i in range(3):
            text_store.put(("users", user, "notes"), f"n{i}", {"text": f"{user} secret {i}"})
    for user in ("u1", "u2", "u3"):
        texts = [r.memory for r in memory.search("secret", user_id=user, limit=50).results]
        assert len(texts) == 3
        assert all(t.startswith(user) for t in texts)
        assert {i.namespace[1] for i in text_store.search(("users", user), query="secret")} == {
            user
        }
    assert len(text_store.search(("users",), query="secret", limit=50)) == 9


def test_duplicate_rows_from_a_race_are_healed(store: MnemoweaveStore, memory: Memory) -> None:
    ns = ("users", "eve", "notes")
    store.put(ns, "k", {"v": 1})
    other = MnemoweaveStore(Memory(memory.path, embedder="hash"))
    # Simulate two processes inserting the same new key at once.
    record = other._record(PutOp(ns, "k", {"v": 2}))
    memory.batch_add([{**store.scope_for(ns), **record}])
    assert memory.count(user_id="eve") == 2
    assert len(store.search(ns)) == 1
    store.put(ns, "k", {"v": 3})
    assert memory.count(user_id="eve") == 1
    assert store.get(ns, "k").value == {"v": 3}
    other.memory.close()


def test_plain_memories_are_not_store_items(store: MnemoweaveStore, memory: Memory) -> None:
    memory.add("a plain memory", user_id="ann", agent_id="langgraph", infer=False)
    store.put(("users", "ann"), "k", {"v": 1})
    assert keys(store.search(("users", "ann"))) == ["k"]
    assert keys(store.search(("users", "ann"), query="plain memory")) == ["k"]
    assert store.list_namespaces() == [("users", "ann")]


def test_a_second_directory_handle_sees_writes(tmp_path: Path) -> None:
    first = Memory(tmp_path / "shared", embedder="hash")
    second = Memory(tmp_path / "shared", embedder="hash")
    try:
        MnemoweaveStore(first).put(("users", "zoe"), "k", {"text": "written by one"})
        assert MnemoweaveStore(second).get(("users", "zoe"), "k").value == {
            "text": "written by one"
        }
    finally:
        first.close()
        second.close()


def test_plain_memories_never_skew_store_pages(store: MnemoweaveStore, memory: Memory) -> None:
    store.put(("a",), "k1", {"v": 1})
    store.put(("b",), "k2", {"v": 2})
    for i in range(3):  # newer than the items, in the store-wide scope
        memory.add(f"plain {i}", user_id="x", agent_id="langgraph", infer=False)
    assert keys(store.search((), limit=1)) == ["k2"]
    assert keys(store.search((), limit=1, offset=1)) == ["k1"]
    assert set(keys(store.search((), query="plain", limit=2))) == {"k1", "k2"}
    assert store.list_namespaces() == [("a",), ("b",)]


FIELD_VALUES: list[Any] = [
    1,
    1.0,
    2,
    0,
    -3.5,
    True,
    False,
    None,
    "1",
    "a",
    "b",
    "",
    "{x}",
    [1],
    {"a": 1},
    10**30,
]


@pytest.mark.parametrize("arg", [1, 2, 0, True, False, "a", "1", "", -3.5, 10**30, 2.5])
@pytest.mark.parametrize("op", ["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", None])
def test_sql_pushdown_agrees_with_python(memory: Memory, op: str | None, arg: Any) -> None:
    """Every condition answers the same whether SQL or Python decides it."""
    store = MnemoweaveStore(memory)
    store.batch([PutOp(("v",), f"k{i}", {"f": value}) for i, value in enumerate(FIELD_VALUES)])
    store.put(("v",), "missing", {"other": 1})
    flt = {"f": arg if op is None else {op: arg}}
    expected = {item.key for item in store.search(("v",), limit=100) if matches(item.value, flt)}
    assert set(keys(store.search(("v",), filter=flt, limit=100))) == expected
