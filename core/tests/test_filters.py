"""Filter grammar: operators on metadata, categories, timestamps, and logical combinations."""

from __future__ import annotations

from typing import Any

import pytest

from mnemoweave import Memory, ValidationError


@pytest.fixture
def seeded(mem: Memory) -> Memory:
    mem.batch_add(
        [
            {
                "text": "trip to Rome",
                "user_id": "u",
                "metadata": {"kind": "travel", "stars": 5, "tags": ["italy", "food"]},
                "categories": ["travel"],
                "timestamp": 1000,
            },
            {
                "text": "trip to Oslo",
                "user_id": "u",
                "metadata": {"kind": "travel", "stars": 3, "note": "Cold but Lovely"},
                "categories": ["travel", "winter"],
                "timestamp": 2000,
            },
            {
                "text": "dentist appointment",
                "user_id": "u",
                "metadata": {"kind": "health", "stars": 1},
                "categories": ["health"],
                "timestamp": 3000,
            },
            {
                "text": "trip to Lima",
                "user_id": "other",
                "metadata": {"kind": "travel", "stars": 5},
            },
        ]
    )
    return mem


def texts(mem: Memory, filters: dict) -> set[str]:
    return {r.memory for r in mem.get_all(user_id="u", filters=filters).results}


def test_equality_and_operators_on_metadata(seeded: Memory) -> None:
    assert texts(seeded, {"kind": "travel"}) == {"trip to Rome", "trip to Oslo"}
    assert texts(seeded, {"metadata": {"kind": "health"}}) == {"dentist appointment"}
    assert texts(seeded, {"stars": {"gte": 3}}) == {"trip to Rome", "trip to Oslo"}
    assert texts(seeded, {"stars": {"gt": 3}}) == {"trip to Rome"}
    assert texts(seeded, {"stars": {"lt": 3}}) == {"dentist appointment"}
    assert texts(seeded, {"stars": {"lte": 3, "gt": 1}}) == {"trip to Oslo"}
    assert texts(seeded, {"kind": {"ne": "travel"}}) == {"dentist appointment"}
    assert texts(seeded, {"stars": {"in": [1, 5]}}) == {"trip to Rome", "dentist appointment"}
    assert texts(seeded, {"stars": {"nin": [1, 5]}}) == {"trip to Oslo"}
    assert texts(seeded, {"tags": {"contains": "food"}}) == {"trip to Rome"}
    assert texts(seeded, {"note": {"contains": "Lovely"}}) == {"trip to Oslo"}
    assert texts(seeded, {"note": {"contains": "lovely"}}) == set()
    assert texts(seeded, {"note": {"icontains": "LOVELY"}}) == {"trip to Oslo"}
    assert texts(seeded, {"note": "*"}) == {"trip to Oslo"}


def test_categories_and_text_and_timestamps(seeded: Memory) -> None:
    assert texts(seeded, {"categories": {"contains": "winter"}}) == {"trip to Oslo"}
    assert texts(seeded, {"categories": {"in": ["health", "winter"]}}) == {
        "trip to Oslo",
        "dentist appointment",
    }
    assert texts(seeded, {"categories": {"nin": ["travel"]}}) == {"dentist appointment"}
    assert texts(seeded, {"categories": {"icontains": "HEALTH"}}) == {"dentist appointment"}
    assert texts(seeded, {"memory": {"icontains": "TRIP"}}) == {"trip to Rome", "trip to Oslo"}
    assert texts(seeded, {"valid_from": {"gte": 1500, "lt": 2500}}) == {"trip to Oslo"}
    assert texts(seeded, {"valid_from": {"gte": "1970-01-01T00:50:00Z"}}) == {"dentist appointment"}


def test_logical_operators(seeded: Memory) -> None:
    assert texts(seeded, {"OR": [{"stars": 1}, {"stars": 3}]}) == {
        "trip to Oslo",
        "dentist appointment",
    }
    assert texts(seeded, {"AND": [{"kind": "travel"}, {"NOT": {"stars": 5}}]}) == {"trip to Oslo"}
    assert texts(seeded, {"NOT": [{"kind": "travel"}, {"stars": 5}]}) == {
        "trip to Oslo",
        "dentist appointment",
    }


def test_filters_never_widen_the_scope(seeded: Memory) -> None:
    # An OR on user_id cannot reach another tenant: the scope is ANDed in front of it.
    leaked = texts(seeded, {"OR": [{"user_id": "other"}, {"kind": "travel"}]})
    assert "trip to Lima" not in leaked
    # A scope given only in filters works (mem0 v2 style) and is exact.
    res = seeded.search("trip", filters={"user_id": "other"})
    assert [r.memory for r in res.results] == ["trip to Lima"]
    with pytest.raises(ValidationError, match="conflicts"):
        seeded.search("trip", user_id="u", filters={"user_id": "other"})


def test_search_uses_filters(seeded: Memory) -> None:
    res = seeded.search("trip", user_id="u", filters={"stars": {"gte": 4}})
    assert [r.memory for r in res.results] == ["trip to Rome"]


@pytest.mark.parametrize(
    ("flt", "message"),
    [
        ({"stars": {"like": 3}}, "unknown filter operator 'like'"),
        ({"and": [{"a": 1}]}, "upper case"),
        ({"AND": []}, "non-empty list"),
        ({"stars": {}}, "empty operator dict"),
        ({"stars": {"in": 3}}, "list of values"),
        ({"created_at": {"contains": "x"}}, "does not apply to timestamps"),
        ({"created_at": {"gt": "yesterday"}}, "ISO-8601"),
        ({"categories": {"gt": 2}}, "list field"),
        ({"user_id": 5}, "pass a string"),
        ('{"kind": 1}', "filters must be a dict"),
    ],
)
def test_bad_filters_raise_clear_errors(seeded: Memory, flt: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        seeded.get_all(user_id="u", filters=flt)  # type: ignore[arg-type]


# -- issue 14, defect 8: no silent empty results ---------------------------------------------
@pytest.fixture
def nulls(api: Any) -> Any:
    api.batch_add(
        [
            {"text": "stored null", "user_id": "n", "metadata": {"k": None}},
            {"text": "stored text", "user_id": "n", "metadata": {"k": "v"}},
            {"text": "stored zero", "user_id": "n", "metadata": {"k": 0}},
            {"text": "stored false", "user_id": "n", "metadata": {"k": False}},
            {"text": "stored list", "user_id": "n", "metadata": {"k": ["v", None]}},
            {"text": "no key", "user_id": "n", "metadata": {"other": 1}},
        ]
    )
    return api


def found(api: Any, filters: dict[str, Any]) -> set[str]:
    listed = {r.memory for r in api.get_all(user_id="n", filters=filters).results}
    searched = {r.memory for r in api.search("stored", user_id="n", filters=filters).results}
    assert listed == searched
    return listed


ALL = {"stored null", "stored text", "stored zero", "stored false", "stored list", "no key"}


def test_null_semantics(nulls: Any) -> None:
    # Equality with None matches a stored null and an absent key.
    assert found(nulls, {"k": None}) == {"stored null", "no key"}
    assert found(nulls, {"k": {"eq": None}}) == {"stored null", "no key"}
    # ne None matches every non-null value (and is exactly NOT eq None).
    non_null = {"stored text", "stored zero", "stored false", "stored list"}
    assert found(nulls, {"k": {"ne": None}}) == non_null
    assert found(nulls, {"NOT": {"k": None}}) == non_null
    # "*" matches any stored value, a stored null included.
    assert found(nulls, {"k": "*"}) == ALL - {"no key"}
    assert found(nulls, {"k": {"in": [None, "v"]}}) == {"stored null", "no key", "stored text"}
    assert found(nulls, {"k": {"nin": [None, "v"]}}) == {
        "stored zero",
        "stored false",
        "stored list",
    }
    # Ordering and containment have no meaning for None: refused, not silently empty.
    with pytest.raises(ValidationError, match="string or number"):
        found(nulls, {"k": {"contains": None}})
    with pytest.raises(ValidationError, match="takes a number, a string or a datetime"):
        found(nulls, {"k": {"gt": None}})


def test_comparisons_are_typed(nulls: Any) -> None:
    # Booleans are the numbers 1 and 0 (as in Python), never the strings "0" / "false".
    assert found(nulls, {"k": 0}) == {"stored zero", "stored false"}
    assert found(nulls, {"k": False}) == {"stored zero", "stored false"}
    assert found(nulls, {"k": "0"}) == set()
    assert found(nulls, {"k": ["v", None]}) == {"stored list"}
    assert found(nulls, {"k": '["v",null]'}) == set()  # a string never equals a stored list
    assert found(nulls, {"k": {"gt": -1}}) == {"stored zero", "stored false"}  # not texts
    assert found(nulls, {"k": {"gte": ""}}) == {"stored text"}  # texts only
    assert found(nulls, {"k": {"contains": "v"}}) == {"stored text", "stored list"}
    assert found(nulls, {"NOT": {"k": {"contains": "v"}}}) == ALL - {"stored text", "stored list"}
    # ne / nin are exact negations: an absent key is "not equal" too.
    assert found(nulls, {"k": {"ne": "v"}}) == ALL - {"stored text"}


def test_columns_compare_with_none_too(api: Any) -> None:
    api.add({"role": "user", "content": "named", "name": "Ana"}, user_id="c")
    api.add("plain", user_id="c", expiration_date="2999-01-01")

    def texts_for(flt: dict[str, Any]) -> set[str]:
        return {r.memory for r in api.get_all(user_id="c", filters=flt).results}

    assert texts_for({"actor_id": None}) == {"plain"}
    assert texts_for({"actor_id": {"ne": None}}) == {"named"}
    assert texts_for({"actor_id": {"in": [None, "Ana"]}}) == {"named", "plain"}
    assert texts_for({"expiration_date": None}) == {"named"}
    assert texts_for({"expiration_date": "*"}) == {"plain"}
    assert texts_for({"NOT": {"expiration_date": {"gt": "2500-01-01"}}}) == {"named"}


KEYS = [
    "a\nb",
    "tab\there",
    "bell\x07",
    'say "hi"',
    "back\\slash",
    "it's",
    "a.b",
    "$",
    "",
    "[0]",
    "\u2028",
    "emoji 🎉",
    "AND",
    "metadata",
    "user_id",
    "*",
]


def test_any_storable_metadata_key_can_be_matched(api: Any) -> None:
    for i, key in enumerate(KEYS):
        api.add(f"key {i}", user_id="k", metadata={key: i, "also": [key]})
    for i, key in enumerate(KEYS):
        by_nested = api.get_all(user_id="k", filters={"metadata": {key: i}}).results
        assert [r.memory for r in by_nested] == [f"key {i}"], key
        assert api.get_all(user_id="k", filters={"metadata": {key: "*"}}).total == 1, key
        assert api.get_all(user_id="k", filters={"metadata": {key: {"gte": i}}}).total >= 1
        assert api.get_all(user_id="k", filters={"also": {"contains": key}}).total == 1, key
    # Keys that are not operator or column names also work at the top level.
    assert [r.memory for r in api.get_all(user_id="k", filters={"a\nb": 0}).results] == ["key 0"]


def test_thresholds_that_cannot_match_are_refused(api: Any) -> None:
    api.add("tea", user_id="u")
    for bad in (float("nan"), float("inf"), -float("inf"), 1.5, -0.1, 70):
        with pytest.raises(ValidationError, match="threshold must be a number between 0 and 1"):
            api.search("tea", user_id="u", threshold=bad)
    assert len(api.search("tea", user_id="u", threshold=0.0).results) == 1
    api.add("green tea in the morning", user_id="u")
    # 1.0 is reached by a perfect match only (cosine 1: the same text).
    assert [r.memory for r in api.search("tea", user_id="u", threshold=1.0).results] == ["tea"]
    assert api.search("coffee", user_id="u", threshold=1.0).results == []
