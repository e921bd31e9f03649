"""Property tests over odd input (issue 14): only our errors escape, and scopes stay readable.

Hypothesis feeds odd strings (surrogates, NUL, control and separator characters, operator
names), odd numbers (huge ints, NaN, epoch milliseconds) and nested structures into add,
search, get_all, update and filters. Whatever happens, an exception that escapes must be a
``MnemoweaveError``, and every scope must still read afterwards. A differential test checks
the SQL filter compiler against a small Python model of the documented filter semantics.
Runs are bounded and derandomized, so the suite stays fast and deterministic.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from datetime import UTC, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mnemoweave import AddHandle, AsyncAddHandle, Memory, MnemoweaveError

FUZZ = settings(
    max_examples=120,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

ODD_STRINGS = st.one_of(
    st.text(max_size=12),
    st.text(st.characters(categories=["Cs", "Cc", "Zl", "Zp", "Cf", "Co"]), max_size=4),
    st.sampled_from(
        [
            "",
            " ",
            "*",
            "\x00",
            "a\ud800",
            "AND",
            "OR",
            "NOT",
            "and",
            "metadata",
            "user_id",
            'a"b',
            "a\\b",
            "it's",
            "$.x",
            "[0]",
            "%_",
            "\u2028x",
            "\ufeff",
            "x" * 300,
        ]
    ),
)
NUMBERS = st.one_of(
    st.integers(),
    st.floats(),
    st.sampled_from([2**63, -(2**63) - 1, 10**400, 1.7e12, 1e20, -1e12, -0.0, 5e-324]),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, ODD_STRINGS)
JSONISH = st.recursive(
    SCALARS,
    lambda kids: st.one_of(
        st.lists(kids, max_size=3),
        st.dictionaries(st.one_of(ODD_STRINGS, NUMBERS), kids, max_size=3),
    ),
    max_leaves=8,
)


def _nested(levels: int) -> Any:
    value: Any = "leaf"
    for _ in range(levels):
        value = {"a": [value]}
    return value


ANYTHING = st.one_of(
    JSONISH,
    st.binary(max_size=4),
    st.just(object()),
    st.just(_nested(400)),
    st.tuples(ODD_STRINGS, NUMBERS),
    st.frozensets(st.integers(), max_size=2),
)
TIMES = st.one_of(
    st.none(),
    NUMBERS,
    ODD_STRINGS,
    st.sampled_from(["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-10:00", "2026-01-01"]),
    st.datetimes(
        timezones=st.one_of(
            st.none(),
            st.just(UTC),
            st.builds(
                timezone,
                st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23)),
            ),
        )
    ),
)
FIELDS = st.one_of(
    ODD_STRINGS,
    st.sampled_from(
        [
            "categories",
            "created_at",
            "valid_to",
            "expiration_date",
            "memory",
            "actor_id",
            "immutable",
            "metadata",
            "user_id",
            "k",
            "tags",
        ]
    ),
)
OPERATORS = st.sampled_from(
    ["eq", "ne", "gt", "gte", "lt", "lte", "in", "nin", "contains", "icontains", "like"]
)
CONDITIONS = st.one_of(
    JSONISH,
    st.dictionaries(
        OPERATORS, st.one_of(JSONISH, TIMES, st.lists(SCALARS, max_size=3)), max_size=2
    ),
)
FILTERS = st.recursive(
    st.dictionaries(FIELDS, CONDITIONS, max_size=3),
    lambda kids: st.one_of(
        st.builds(lambda v: {"AND": v}, st.lists(kids, max_size=3)),
        st.builds(lambda v: {"OR": v}, st.lists(kids, max_size=3)),
        st.builds(lambda v: {"NOT": v}, st.one_of(kids, st.lists(kids, max_size=2))),
        st.builds(lambda v: {"metadata": v}, kids),
    ),
    max_leaves=6,
)
MAYBE_FILTERS = st.one_of(st.none(), FILTERS, ANYTHING)
MESSAGES = st.one_of(
    ODD_STRINGS,
    ANYTHING,
    st.lists(
        st.one_of(
            ODD_STRINGS,
            st.fixed_dictionaries(
                {
                    "role": st.one_of(st.sampled_from(["user", "assistant", "system"]), SCALARS),
                    "content": st.one_of(ODD_STRINGS, ANYTHING),
                },
                optional={"name": st.one_of(ODD_STRINGS, SCALARS)},
            ),
        ),
        max_size=3,
    ),
)
IDS = st.one_of(st.none(), ODD_STRINGS, SCALARS)


def only_our_errors(call: Callable[[], Any]) -> Any:
    """Run ``call``; a ``MnemoweaveError`` is fine (returned), anything else fails the test."""
    try:
        return call()
    except MnemoweaveError as exc:
        return exc
    except Exception as exc:  # the property under test
        raise AssertionError(f"{type(exc).__name__} escaped: {exc!r}") from exc


def usable(scope: Any) -> bool:
    """Whether ``scope`` is an id mnemoweave accepts (so reads of it must work)."""
    if not isinstance(scope, str) or not scope.strip() or "\x00" in scope:
        return False
    try:
        scope.encode()
    except UnicodeEncodeError:
        return False
    return True


def scope_reads(api: Any, scope: str) -> None:
    """Every read of a scope still works (one stored row can never poison it)."""
    listed = api.get_all(user_id=scope, include_expired=True, limit=1000)
    for item in listed.results:
        api.get(item.id).to_dict()
        api.history(item.id)
    api.search("anything", user_id=scope, include_expired=True)
    api.count(user_id=scope)


def odd_call(valid: dict[str, Any], odd: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Keyword arguments that are valid except for one or two drawn from ``odd``.

    Making every argument odd at once would mostly test the first check that fails.
    """

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        names = draw(st.lists(st.sampled_from(sorted(odd)), min_size=1, max_size=2, unique=True))
        kwargs = dict(valid)
        for name in names:
            kwargs[name] = draw(odd[name], label=name)
        return kwargs

    return build()


ADD_VALID = {"messages": "hello there", "user_id": "u", "immutable": False, "background": False}
ADD_ODD = {
    "messages": st.one_of(ODD_STRINGS, MESSAGES),
    "user_id": IDS,
    "agent_id": IDS,
    "run_id": IDS,
    "metadata": st.one_of(st.dictionaries(ODD_STRINGS, JSONISH, max_size=3), ANYTHING),
    "timestamp": TIMES,
    "expiration_date": TIMES,
    "categories": st.one_of(ANYTHING, st.lists(ODD_STRINGS, max_size=3)),
    "immutable": SCALARS,
    "background": st.one_of(st.booleans(), SCALARS),
    "prompt": st.one_of(ODD_STRINGS, SCALARS),
    "window": SCALARS,
}


@FUZZ
@given(kwargs=odd_call(ADD_VALID, ADD_ODD))
def test_add_raises_only_our_errors(api: Any, kwargs: dict[str, Any]) -> None:
    messages = kwargs.pop("messages")
    out = only_our_errors(lambda: api.add(messages, infer=False, **kwargs))
    if isinstance(out, AddHandle):
        only_our_errors(out.result)
    elif isinstance(out, AsyncAddHandle):
        only_our_errors(lambda: api.run(out.result()))
    for key in ("user_id", "agent_id", "run_id"):
        if usable(kwargs.get(key)):
            scope_reads(api, kwargs[key])


@pytest.fixture
def seeded(mem: Memory) -> Memory:
    mem.batch_add(
        [
            {"text": "tea in Rome", "user_id": "u", "metadata": {"k": 1, "tags": ["a", None]}},
            {"text": "tea in Oslo", "user_id": "u", "metadata": {"k": "1", "": None, "a\nb": []}},
            {"text": "coffee", "user_id": "u", "categories": ["drinks"], "timestamp": 0},
            {"text": "mate", "user_id": "u", "expiration_date": "9999-12-31"},
        ]
    )
    return mem


READ_VALID = {"query": "tea", "filters": None, "limit": 10, "offset": 0}
READ_ODD = {
    "query": st.one_of(ODD_STRINGS, ANYTHING),
    "filters": MAYBE_FILTERS,
    "limit": st.one_of(NUMBERS, SCALARS),
    "offset": st.one_of(NUMBERS, SCALARS),
    "threshold": st.one_of(NUMBERS, SCALARS),
    "as_of": TIMES,
    "keyword_weight": st.one_of(NUMBERS, SCALARS),
    "explain": SCALARS,
}


@FUZZ
@given(kwargs=odd_call(READ_VALID, READ_ODD))
def test_reads_raise_only_our_errors(seeded: Memory, kwargs: dict[str, Any]) -> None:
    query, offset = kwargs.pop("query"), kwargs.pop("offset")
    only_our_errors(lambda: seeded.search(query, user_id="u", **kwargs))
    only_our_errors(
        lambda: seeded.get_all(
            user_id="u", filters=kwargs["filters"], limit=kwargs["limit"], offset=offset
        )
    )
    only_our_errors(lambda: seeded.get_all(filters=kwargs["filters"]))
    only_our_errors(lambda: seeded.get(query))
    scope_reads(seeded, "u")


UPDATE_VALID: dict[str, Any] = {"data": "new text"}
UPDATE_ODD = {
    "data": st.one_of(ODD_STRINGS, ANYTHING),
    "metadata": ANYTHING,
    "expiration_date": TIMES,
    "categories": ANYTHING,
    "force": st.one_of(st.booleans(), SCALARS),
}


@FUZZ
@given(kwargs=odd_call(UPDATE_VALID, UPDATE_ODD))
def test_update_raises_only_our_errors(seeded: Memory, kwargs: dict[str, Any]) -> None:
    target = seeded.get_all(user_id="u", include_expired=True).results[0].id
    only_our_errors(lambda: seeded.update(target, **kwargs))
    record = {"memory_id": target, "text": kwargs.get("data"), **kwargs}
    record.pop("data")
    only_our_errors(lambda: seeded.batch_update([record]))
    scope_reads(seeded, "u")


# -- the filter compiler against a model of the documented semantics -------------------------
KEYS = ["k", "j", "a\nb", 'q"t', ""]
POOL = [
    None,
    True,
    False,
    0,
    1,
    -1,
    2.5,
    1.0,
    "",
    "a",
    "A",
    "ab",
    "b",
    "*",
    "é",
    "🎉",
    [],
    {},
    ["a", 1, None],
    ["A"],
    {"x": 1, "y": [2.0]},
    {"y": [2], "x": 1.0},
]
VALUES = st.sampled_from(POOL)
META = st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=3)
INVALID = object()
NUMBER_KINDS = ("integer", "real", "true", "false")


def _jtype(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "real"
    if isinstance(value, str):
        return "text"
    return "array" if isinstance(value, list) else "object"


def _canon(value: Any) -> str:
    def normal(v: Any) -> Any:
        if isinstance(v, bool) or (isinstance(v, float) and v.is_integer()):
            return int(v)
        if isinstance(v, dict):
            return {k: normal(x) for k, x in v.items()}
        if isinstance(v, list):
            return [normal(x) for x in v]
        return v

    return json.dumps(normal(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _eq(kind: str, value: Any, arg: Any) -> bool:
    if arg is None:
        return kind in ("", "null")
    if isinstance(arg, str):
        return kind == "text" and value == arg
    if isinstance(arg, int | float):  # booleans are the numbers 1 and 0, as in Python
        return kind in NUMBER_KINDS and value == arg
    return kind in ("array", "object") and _canon(value) == _canon(arg)


def _model_field(meta: dict[str, Any], key: str, cond: Any) -> Any:
    kind = _jtype(meta[key]) if key in meta else ""
    value = meta.get(key)
    if isinstance(cond, dict):  # always an operator dict: {"eq": {...}} compares objects
        known = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "nin", "contains", "icontains")
        if not cond or any(op not in known for op in cond):
            return INVALID
        ops: Any = cond.items()
    else:
        ops = [("exists", None)] if cond == "*" and isinstance(cond, str) else [("eq", cond)]
    result = True
    for op, arg in ops:
        if op == "exists":
            hit = kind != ""
        elif op in ("eq", "ne"):
            hit = _eq(kind, value, arg) != (op == "ne")
        elif op in ("in", "nin"):
            hit = any(_eq(kind, value, a) for a in arg) != (op == "nin")
        elif op in ("gt", "gte", "lt", "lte"):
            if arg is None or isinstance(arg, bool | list | dict):
                return INVALID
            same = (kind == "text") if isinstance(arg, str) else kind in NUMBER_KINDS
            compare = {
                "gt": lambda a, b: a > b,
                "gte": lambda a, b: a >= b,
                "lt": lambda a, b: a < b,
                "lte": lambda a, b: a <= b,
            }[op]
            hit = same and compare(value, arg)
        else:  # contains / icontains
            if arg is None or isinstance(arg, bool | list | dict):
                return INVALID
            if op == "icontains" and not isinstance(arg, str):
                return INVALID
            if kind == "array":
                if op == "icontains":
                    hit = any(isinstance(v, str) and v.casefold() == arg.casefold() for v in value)
                else:
                    hit = any(_eq(_jtype(v), v, arg) for v in value)
            elif kind == "text" and isinstance(arg, str):
                hit = (arg.casefold() in value.casefold()) if op == "icontains" else arg in value
            else:
                hit = False
        result = result and hit
    return result


def _model(meta: dict[str, Any], flt: dict[str, Any]) -> Any:
    results = []
    for key, cond in flt.items():
        if key in ("AND", "OR"):
            parts = [_model(meta, f) for f in cond]
            if INVALID in parts:
                return INVALID
            results.append(all(parts) if key == "AND" else any(parts))
        elif key == "NOT":
            inner = _model(meta, cond)
            if inner is INVALID:
                return INVALID
            results.append(not inner)
        elif key == "metadata":
            inner = _model(meta, cond)
            if inner is INVALID:
                return INVALID
            results.append(inner)
        else:
            hit = _model_field(meta, key, cond)
            if hit is INVALID:
                return INVALID
            results.append(hit)
    return all(results)


LEAF_CONDITIONS = st.one_of(
    VALUES,
    st.just("*"),
    st.dictionaries(
        st.sampled_from(["eq", "ne", "gt", "gte", "lt", "lte", "contains", "icontains"]),
        VALUES,
        min_size=1,
        max_size=2,
    ),
    st.builds(lambda op, v: {op: v}, st.sampled_from(["in", "nin"]), st.lists(VALUES, max_size=3)),
)
MODEL_FILTERS = st.recursive(
    st.dictionaries(st.sampled_from(KEYS[:3]), LEAF_CONDITIONS, min_size=1, max_size=2),
    lambda kids: st.one_of(
        st.builds(lambda v: {"AND": v}, st.lists(kids, min_size=1, max_size=3)),
        st.builds(lambda v: {"OR": v}, st.lists(kids, min_size=1, max_size=3)),
        st.builds(lambda v: {"NOT": v}, kids),
        st.builds(lambda k, c: {"metadata": {k: c}}, st.sampled_from(KEYS), LEAF_CONDITIONS),
    ),
    max_leaves=5,
)
_SCOPES = itertools.count()


@settings(FUZZ, max_examples=200)
@given(metas=st.lists(META, min_size=1, max_size=6), flt=MODEL_FILTERS)
def test_filters_match_the_documented_semantics(
    mem: Memory, metas: list[dict[str, Any]], flt: dict[str, Any]
) -> None:
    user = f"model-{next(_SCOPES)}"
    ids = [
        r["id"]
        for r in mem.batch_add(
            [{"text": f"row {i}", "user_id": user, "metadata": m} for i, m in enumerate(metas)]
        ).results
    ]
    expected = [_model(m, flt) for m in metas]
    got = only_our_errors(lambda: mem.get_all(user_id=user, filters=flt, limit=1000))
    if INVALID in expected:
        assert isinstance(got, MnemoweaveError), (flt, "should be refused")
        return
    assert not isinstance(got, MnemoweaveError), (flt, got)
    want = {mid for mid, hit in zip(ids, expected) if hit}
    assert {r.id for r in got.results} == want, (flt, metas)
