"""Issue 14, defects 7 (input side) and 14: odd input gets a ``ValidationError``, never a raw one.

Lone surrogates and NUL characters cannot be stored, deep nesting is bounded, huge filters
compile (or are refused by name), offsets past SQLite's range read an empty page, texts are
bounded by ``max_text_chars``, flags must be booleans, and ``immutable=True`` protects a memory
from ``update`` unless ``force=True``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from mnemoweave import (
    ConfigurationError,
    ImmutableMemoryError,
    Memory,
    NotFoundError,
    ValidationError,
)

SURROGATE = "bad \ud800 text"
NUL = "bad \x00 text"


def deep(levels: int) -> dict[str, Any]:
    root: dict[str, Any] = {}
    node = root
    for _ in range(levels):
        node["a"] = {}
        node = node["a"]
    return root


# -- unstorable strings ----------------------------------------------------------------------
UNSTORABLE_CALLS = [
    lambda api, s: api.add(s, user_id="u"),
    lambda api, s: api.add({"role": "user", "content": "hi", "name": s}, user_id="u"),
    lambda api, s: api.add("hi", user_id=s),
    lambda api, s: api.add("hi", agent_id="a", run_id=s),
    lambda api, s: api.add("hi", user_id="u", metadata={"k": s}),
    lambda api, s: api.add("hi", user_id="u", metadata={s: 1}),
    lambda api, s: api.add("hi", user_id="u", metadata={"k": [{"deep": s}]}),
    lambda api, s: api.add("hi", user_id="u", categories=[s]),
    lambda api, s: api.add("hi", user_id="u", prompt=s),
    lambda api, s: api.batch_add([{"text": s, "user_id": "u"}]),
    lambda api, s: api.batch_add([{"text": "hi", "user_id": "u", "actor_id": s}]),
    lambda api, s: api.search(s, user_id="u"),
    lambda api, s: api.search("hi", user_id="u", filters={"k": s}),
    lambda api, s: api.search("hi", user_id="u", filters={s: 1}),
    lambda api, s: api.get_all(user_id="u", filters={"memory": {"contains": s}}),
    lambda api, s: api.get_all(user_id="u", filters={"k": {"in": ["ok", s]}}),
    lambda api, s: api.get_all(filters={"user_id": s}),
    lambda api, s: api.get(s),
    lambda api, s: api.history(s),
    lambda api, s: api.delete(s),
    lambda api, s: api.append_messages(s, user_id="u"),
]


@pytest.mark.parametrize("bad", [SURROGATE, NUL])
def test_unstorable_strings_are_validation_errors(api: Any, bad: str) -> None:
    keep = api.add("kept", user_id="u").results[0].id
    for number, call in enumerate(UNSTORABLE_CALLS):
        with pytest.raises(ValidationError, match=r"surrogate|NUL"):
            call(api, bad)
        assert [r.id for r in api.get_all(user_id="u").results] == [keep], number


@pytest.mark.parametrize("bad", [SURROGATE, NUL])
def test_update_with_unstorable_strings_changes_nothing(api: Any, bad: str) -> None:
    mid = api.add("kept", user_id="u", metadata={"k": 1}).results[0].id
    with pytest.raises(ValidationError, match=r"surrogate|NUL"):
        api.update(mid, bad)
    with pytest.raises(ValidationError, match=r"surrogate|NUL"):
        api.update(mid, metadata={"k": bad})
    with pytest.raises(ValidationError, match=r"surrogate|NUL"):
        api.batch_update([{"memory_id": mid, "text": "fine"}, {"memory_id": mid, "text": bad}])
    item = api.get(mid)
    assert (item.memory, item.metadata) == ("kept", {"k": 1})


# -- nesting, size and range -------------------------------------------------------------------
def test_deep_metadata_is_refused_by_name(api: Any) -> None:
    with pytest.raises(ValidationError, match="nests deeper than 64"):
        api.add("x", user_id="u", metadata=deep(5000))
    cyclic: dict[str, Any] = {}
    cyclic["self"] = cyclic
    with pytest.raises(ValidationError, match="nests deeper"):
        api.add("x", user_id="u", metadata=cyclic)
    mid = api.add("x", user_id="u", metadata=deep(60)).results[0].id
    assert api.get(mid).metadata == deep(60)


def test_deep_filters_are_refused_by_name(api: Any) -> None:
    api.add("x", user_id="u", metadata={"k": 1})
    flt: dict[str, Any] = {"k": 1}
    for _ in range(3000):
        flt = {"NOT": flt}
    with pytest.raises(ValidationError, match="nest deeper than 32"):
        api.get_all(user_id="u", filters=flt)
    cyclic: dict[str, Any] = {"AND": []}
    cyclic["AND"].append(cyclic)
    with pytest.raises(ValidationError, match="nest deeper"):
        api.search("x", user_id="u", filters=cyclic)
    with pytest.raises(ValidationError, match="nests deeper"):
        api.get_all(user_id="u", filters={"k": {"eq": deep(5000)}})
    shallow: dict[str, Any] = {"k": 1}
    for _ in range(30):
        shallow = {"AND": [shallow]}
    assert api.get_all(user_id="u", filters=shallow).total == 1


def test_a_2000_way_or_works_and_unbounded_filters_are_refused(api: Any) -> None:
    api.batch_add(
        [{"text": f"fact {i}", "user_id": "u", "metadata": {"k": i, "j": -i}} for i in range(50)]
    )
    wide = {"OR": [{"k": i} for i in range(0, 4000, 2)]}  # 2,000 equalities on one key
    assert api.get_all(user_id="u", filters=wide).total == 25
    assert len(api.search("fact", user_id="u", filters=wide, limit=100).results) == 25
    mixed = {"OR": [{"k": i, "j": -i} for i in range(2000)]}  # 4,000 conditions
    with pytest.raises(ValidationError, match="more than 1000 conditions"):
        api.get_all(user_id="u", filters=mixed)
    fits = {"OR": [{"k": i, "j": -i} for i in range(0, 1000, 2)]}  # exactly 1,000
    assert api.get_all(user_id="u", filters=fits).total == 25
    anded = {f"k{i}": {"ne": i} for i in range(1000)}  # a long AND chain compiles too
    assert api.get_all(user_id="u", filters=anded).total == 50
    with pytest.raises(ValidationError, match="more than 20000 values"):
        api.get_all(user_id="u", filters={"k": {"in": list(range(20_001))}})
    assert api.get_all(user_id="u", filters={"k": {"in": list(range(20_000))}}).total == 50


def test_offsets_and_limits_at_the_edges(api: Any) -> None:
    api.batch_add([{"text": f"fact {i}", "user_id": "u"} for i in range(3)])
    for offset in (2**63 - 1, 2**63, 10**30):
        page = api.get_all(user_id="u", offset=offset)
        assert (page.results, page.total) == ([], 3)
    for bad in (-1, 1.5, "1", True):
        with pytest.raises(ValidationError, match="offset"):
            api.get_all(user_id="u", offset=bad)
    for bad in (0, 2**63, 100_001, True, 2.0):
        with pytest.raises(ValidationError, match="limit"):
            api.get_all(user_id="u", limit=bad)
        with pytest.raises(ValidationError, match="limit"):
            api.search("fact", user_id="u", limit=bad)
    with pytest.raises(ValidationError, match="limit"):
        api.get_messages(user_id="u", limit=2**63)


@pytest.mark.parametrize("value", [10**400, -(10**400), float("nan"), float("inf")])
def test_numbers_sqlite_cannot_hold_are_refused_in_metadata_and_filters(
    api: Any, value: float
) -> None:
    with pytest.raises(ValidationError, match="metadata"):
        api.add("x", user_id="u", metadata={"n": value})
    with pytest.raises(ValidationError, match="filter value"):
        api.get_all(user_id="u", filters={"n": value})
    with pytest.raises(ValidationError, match="filter value"):
        api.get_all(user_id="u", filters={"n": {"gt": value}})
    assert api.count(user_id="u") == 0


def test_big_integers_are_kept_and_compare_as_sqlite_reads_them(api: Any) -> None:
    small = api.add("x", user_id="u", metadata={"n": 2**63 - 1}).results[0].id
    big = api.add("y", user_id="u", metadata={"n": 10**30}).results[0].id
    assert api.get(big).metadata == {"n": 10**30}  # the JSON keeps every digit
    assert [r.id for r in api.get_all(user_id="u", filters={"n": 2**63 - 1}).results] == [small]
    assert [r.id for r in api.get_all(user_id="u", filters={"n": 10**30}).results] == [big]
    assert [r.id for r in api.get_all(user_id="u", filters={"n": {"gt": 2**64}}).results] == [big]


# -- max_text_chars --------------------------------------------------------------------------
def test_max_text_chars_bounds_every_text_input(store_dir: Path) -> None:
    mem = Memory(store_dir, embedder="hash", max_text_chars=50)
    ok, long = "a" * 50, "a" * 51
    mid = mem.add(ok, user_id="u").results[0].id
    calls = [
        lambda: mem.add(long, user_id="u"),
        lambda: mem.add(
            [{"role": "user", "content": ok}, {"role": "user", "content": long}], user_id="u"
        ),
        lambda: mem.add({"role": "user", "content": [{"type": "text", "text": long}]}, user_id="u"),
        lambda: mem.add({"role": "user", "content": "hi", "name": long}, user_id="u"),
        lambda: mem.add("hi", user_id="u", prompt=long),
        lambda: mem.batch_add([{"text": ok, "user_id": "u"}, {"text": long, "user_id": "u"}]),
        lambda: mem.update(mid, long),
        lambda: mem.batch_update([{"memory_id": mid, "text": long}]),
        lambda: mem.search(long, user_id="u"),
        lambda: mem.append_messages(long, user_id="u"),
    ]
    for call in calls:
        with pytest.raises(ValidationError, match="51 characters; the limit is 50"):
            call()
    assert [(r.id, r.memory) for r in mem.get_all(user_id="u").results] == [(mid, ok)]
    assert len(mem.get_messages(user_id="u")) == 1
    mem.close()


def test_max_text_chars_default_and_config_checks(store_dir: Path) -> None:
    with Memory(store_dir, embedder="hash") as mem:
        assert mem.config.max_text_chars == 100_000
        mem.add("x" * 100_000, user_id="u")
        with pytest.raises(ValidationError, match="100,001 characters; the limit is 100,000"):
            mem.add("x" * 100_001, user_id="u")
    for bad in (0, -1, True, "10", 1.5):
        with pytest.raises(ConfigurationError, match="max_text_chars"):
            Memory(store_dir, embedder="hash", max_text_chars=bad)


# -- flags, paths, config values -------------------------------------------------------------
FLAGS = [
    ("add", "background"),
    ("add", "immutable"),
    ("add", "window"),
    ("search", "explain"),
    ("search", "include_expired"),
    ("search", "show_expired"),
    ("get_all", "include_expired"),
    ("get_all", "show_expired"),
    ("count", "include_expired"),
    ("update", "force"),
]


def test_boolean_arguments_take_only_booleans(api: Any) -> None:
    mid = api.add("seed", user_id="u").results[0].id
    calls = {
        "add": lambda **kw: api.add("new text", user_id="u", **kw),
        "search": lambda **kw: api.search("seed", user_id="u", **kw),
        "get_all": lambda **kw: api.get_all(user_id="u", **kw),
        "count": lambda **kw: api.count(user_id="u", **kw),
        "update": lambda **kw: api.update(mid, "changed", **kw),
    }
    for method, argument in FLAGS:
        for bad in ("x", 1, 0.0, "False"):
            name = argument.replace("show_expired", "include_expired")
            with pytest.raises(ValidationError, match=name):
                calls[method](**{argument: bad})
    assert [(r.id, r.memory) for r in api.get_all(user_id="u").results] == [(mid, "seed")]


def test_other_enum_and_flag_inputs(api: Any) -> None:
    mid = api.add("seed", user_id="u").results[0].id
    with pytest.raises(ValidationError, match="infer"):
        api.add("x", user_id="u", infer="yes")
    with pytest.raises(ValidationError, match="memory_type"):
        api.add("x", agent_id="a", memory_type="semantic")
    with pytest.raises(ValidationError, match=r"records\[0\].immutable"):
        api.batch_add([{"text": "x", "user_id": "u", "immutable": "true"}])
    with pytest.raises(ValidationError, match=r"updates\[0\].force"):
        api.batch_update([{"memory_id": mid, "text": "x", "force": 1}])
    with pytest.raises(ValidationError, match="threshold"):
        api.search("seed", user_id="u", threshold="0.5")
    assert api.count(user_id="u") == 1


def test_background_handle_checks_its_timeout(mem: Memory) -> None:
    handle = mem.add("x", user_id="u", background=True)
    with pytest.raises(ValidationError, match="timeout"):
        handle.result(timeout="1")
    with pytest.raises(ValidationError, match="timeout"):
        mem.flush(timeout=float("nan"))
    assert handle.result(timeout=60).results[0].event == "ADD"


@pytest.mark.parametrize("bad", [5, 5.0, b"dir", "", "   ", "a\x00b", ["dir"]])
def test_memory_path_must_be_a_directory_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bad: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigurationError, match="path"):
        Memory(bad, embedder="hash")
    with pytest.raises(ConfigurationError, match="path"):
        Memory(config={"path": bad}, embedder="hash")
    assert os.listdir(tmp_path) == []


def test_memory_path_accepts_str_and_pathlike(tmp_path: Path) -> None:
    with Memory(tmp_path / "a", embedder="hash") as mem:
        assert mem.path == tmp_path / "a"
    with Memory(str(tmp_path / "b"), embedder="hash") as mem:
        assert mem.path == tmp_path / "b"


@pytest.mark.parametrize(
    "options",
    [
        {"reconcile_limit": True},
        {"message_window": 10.5},
        {"keyword_weight": "0.5"},
        {"busy_timeout": float("inf")},
        {"busy_timeout": float("nan")},
        {"durability": "sometimes"},
    ],
)
def test_config_values_are_not_coerced(store_dir: Path, options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError, match=next(iter(options))):
        Memory(store_dir, embedder="hash", **options)


# -- immutable -------------------------------------------------------------------------------
def test_update_refuses_an_immutable_memory_unless_forced(api: Any) -> None:
    mid = (
        api.add("Ana's birthday is 3 May", user_id="u", immutable=True, metadata={"k": 1})
        .results[0]
        .id
    )
    other = api.add("Ana likes tea", user_id="u").results[0].id
    attempts = [
        lambda: api.update(mid, "Ana's birthday is 4 May"),
        lambda: api.update(mid, metadata={"k": 2}),
        lambda: api.update(mid, categories=["dates"]),
        lambda: api.update(mid, expiration_date="2030-01-01"),
        lambda: api.batch_update(
            [{"memory_id": other, "text": "Ana likes coffee"}, {"memory_id": mid, "text": "x"}]
        ),
    ]
    for attempt in attempts:
        with pytest.raises(ImmutableMemoryError, match="immutable=True; pass force=True") as info:
            attempt()
        assert info.value.memory_id == mid
    item = api.get(mid)
    assert (item.memory, item.metadata, item.categories, item.expiration_date) == (
        "Ana's birthday is 3 May",
        {"k": 1},
        [],
        None,
    )
    assert api.get(other).memory == "Ana likes tea"  # the batch was all or nothing
    assert [h.event for h in api.history(mid)] == ["ADD"]
    changed = api.update(mid, "Ana's birthday is 4 May", force=True)
    assert (changed.memory, changed.immutable) == ("Ana's birthday is 4 May", True)
    api.batch_update([{"memory_id": mid, "metadata": {"k": 3}, "force": True}])
    assert api.get(mid).metadata == {"k": 3}
    api.delete(mid)  # erasure is never blocked
    with pytest.raises(NotFoundError):
        api.get(mid)
