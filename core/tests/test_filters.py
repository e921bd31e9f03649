"""Filter grammar: operators on metadata, categories, timestamps, and logical combinations."""

from __future__ import annotations

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
