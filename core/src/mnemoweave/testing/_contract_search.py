"""Contract tests on search and filters: every operator against brute force, exact recall."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mnemoweave import Memory, MemoryItem, ValidationError
from mnemoweave.embed import embed_query, embed_texts

from . import _filter_oracle as oracle
from ._contract_base import ContractBase, ids_of

FU = "filter-user"
# Metadata values of every JSON type, a null and an absent key ("k" missing in the last rows).
_K = ["v", "V", "Value v", 0, 1, 2.5, -3, True, False, None, ["v", None], ["a", "b"], [1, 2]]
_CATS = [[], ["travel"], ["Travel", "winter"], ["health"], ["travel", "food"]]
FILTERS: list[dict[str, Any]] = [
    {"k": "v"},
    {"k": 1},
    {"k": True},
    {"k": None},
    {"k": ["a", "b"]},
    {"k": "*"},
    {"k": {"eq": 0}},
    {"k": {"ne": "v"}},
    {"k": {"ne": None}},
    {"k": {"in": [None, "V", 2.5]}},
    {"k": {"nin": [None, 1]}},
    {"k": {"gt": 0}},
    {"k": {"gte": "V"}},
    {"k": {"lt": 1}},
    {"k": {"lte": -3}},
    {"k": {"contains": "v"}},
    {"k": {"contains": 1}},
    {"k": {"icontains": "VALUE"}},
    {"n": {"gte": 3, "lt": 9}},
    {"metadata": {"s": "s3"}},
    {"s": {"contains": "1"}},
    {"categories": "travel"},
    {"categories": {"contains": "winter"}},
    {"categories": {"icontains": "TRAVEL"}},
    {"categories": {"in": ["health", "food"]}},
    {"categories": {"nin": ["travel"]}},
    {"categories": {"ne": "health"}},
    {"categories": "*"},
    {"valid_from": {"gte": 3000, "lt": 8000}},
    {"valid_from": {"gt": "1970-01-01T01:00:00Z"}},
    {"valid_from": 5000},
    {"valid_from": {"in": [1000, 2000.0]}},
    {"expiration_date": None},
    {"expiration_date": "*"},
    {"expiration_date": {"lt": "2990-01-01"}},
    {"agent_id": None},
    {"agent_id": {"ne": None}},
    {"memory": {"icontains": "HERON"}},
    {"memory": {"contains": "7"}},
    {"AND": [{"k": {"ne": None}}, {"NOT": {"categories": "travel"}}]},
    {"OR": [{"n": 1}, {"n": 2}, {"k": "v"}]},
    {"NOT": [{"n": {"gt": 4}}, {"k": "*"}]},
    {"NOT": {"OR": [{"k": None}, {"categories": {"in": ["winter"]}}]}},
]


def seed(mem: Memory) -> list[MemoryItem]:
    """The filter test rows (plus a look-alike in another scope); returns them as stored."""
    records = []
    for i in range(16):
        meta: dict[str, Any] = {"n": i, "s": f"s{i}"}
        if i < len(_K):
            meta["k"] = _K[i]
        record: dict[str, Any] = {
            "text": f"heron {i} by the {'river' if i % 2 else 'lake'} {i * 7}",
            "user_id": FU,
            "metadata": meta,
            "categories": _CATS[i % len(_CATS)],
            "timestamp": 1000 * (i + 1),
        }
        if i % 3 == 0:
            record["agent_id"] = "bot"
        if i % 4 == 1:
            record["expiration_date"] = f"{2980 + i}-01-01"
        records.append(record)
    mem.batch_add(records)
    mem.batch_add([{**r, "user_id": "elsewhere"} for r in records[:4]])
    rows = mem.get_all(user_id=FU, limit=100).results
    assert len(rows) == len(records)
    return rows


def _leaf() -> st.SearchStrategy[dict[str, Any]]:
    scalar = st.sampled_from(["v", "V", "s3", 0, 1, 2.5, -3, True, None])
    number = st.sampled_from([-3, 0, 1, 2.5, 5, 9])
    text = st.sampled_from(["v", "V", "Value", "s1", "a"])
    order = st.sampled_from(["gt", "gte", "lt", "lte"])
    cat = st.sampled_from(["travel", "Travel", "winter", "health", "food", "none"])
    stamp = st.sampled_from([1000, 4500, 9000, "1970-01-01T02:00:00Z"])
    meta_key = st.sampled_from(["k", "n", "s", "missing"])
    meta_cond = st.one_of(
        scalar,
        st.just("*"),
        st.builds(lambda v: {"ne": v}, scalar),
        st.builds(lambda vs: {"in": vs}, st.lists(scalar, min_size=1, max_size=3)),
        st.builds(lambda vs: {"nin": vs}, st.lists(scalar, min_size=1, max_size=3)),
        st.builds(lambda o, v: {o: v}, order, st.one_of(number, text)),
        st.builds(lambda o, v: {o: v}, st.sampled_from(["contains", "icontains"]), text),
        st.builds(lambda v: {"contains": v}, number),
    )
    cat_cond = st.one_of(
        cat,
        st.just("*"),
        st.builds(lambda o, v: {o: v}, st.sampled_from(["ne", "contains", "icontains"]), cat),
        st.builds(
            lambda o, vs: {o: vs},
            st.sampled_from(["in", "nin"]),
            st.lists(cat, min_size=1, max_size=3),
        ),
    )
    time_cond = st.one_of(
        stamp,
        st.builds(lambda o, v: {o: v}, order, stamp),
        st.builds(lambda vs: {"in": vs}, st.lists(stamp, min_size=1, max_size=2)),
    )
    return st.one_of(
        st.builds(lambda k, c: {k: c}, meta_key, meta_cond),
        st.builds(lambda k, c: {"metadata": {k: c}}, meta_key, meta_cond),
        st.builds(lambda c: {"categories": c}, cat_cond),
        st.builds(lambda c: {"valid_from": c}, time_cond),
        st.builds(lambda c: {"agent_id": c}, st.sampled_from([None, "bot", "*", {"ne": "bot"}])),
    )


FILTER_TREES = st.recursive(
    _leaf(),
    lambda inner: st.one_of(
        st.builds(lambda xs: {"AND": xs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda xs: {"OR": xs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda x: {"NOT": x}, inner),
        st.builds(lambda xs: {"NOT": xs}, st.lists(inner, min_size=1, max_size=2)),
    ),
    max_leaves=5,
)


class SearchContract(ContractBase):
    """What a backend must do when selecting and ranking memories."""

    @staticmethod
    def _check_filter(mem: Memory, rows: list[MemoryItem], flt: dict[str, Any]) -> None:
        want = {r.id for r in rows if oracle.matches(flt, r)}
        listed = ids_of(mem.get_all(user_id=FU, filters=flt, limit=100))
        assert listed == want, f"get_all with filters={flt!r}"
        found = ids_of(mem.search("heron river", user_id=FU, filters=flt, limit=100))
        assert found == want, f"search with filters={flt!r}"

    def test_every_filter_operator_matches_brute_force(self, contract_memory: Memory) -> None:
        """Each operator on metadata, categories, timestamps and columns selects what the
        documented grammar (``mnemoweave.testing._filter_oracle``) selects, in get_all and
        search alike, and never a row of another scope.

        Fix: compile the failing filter per the grammar in ``mnemoweave._filters``: typed
        comparisons, ``None`` matching null and absent keys, ``ne``/``nin`` as exact
        negations, list fields matched item by item, the scope ANDed in front.
        """
        rows = seed(contract_memory)
        for flt in FILTERS:
            self._check_filter(contract_memory, rows, flt)

    def test_random_filter_trees_match_brute_force(self, contract_memory: Memory) -> None:
        """Random AND/OR/NOT trees of conditions select what brute force selects.

        Fix: as for the single operators; a difference only under NOT usually means a
        condition evaluated to NULL (three-valued) instead of false.
        """
        rows = seed(contract_memory)

        @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
        @given(flt=FILTER_TREES)
        def check(flt: dict[str, Any]) -> None:
            self._check_filter(contract_memory, rows, flt)

        check()

    def test_null_and_missing_key_semantics(self, contract_memory: Memory) -> None:
        """``None`` equals a stored null and an absent key; ``"*"`` means the key is set.

        Fix: test a metadata key's JSON type, not its SQL value, so null, absent, 0, false
        and "" stay distinct.
        """
        mem = contract_memory
        mem.batch_add(
            [
                {"text": t, "user_id": "n", "metadata": m}
                for t, m in [
                    ("null", {"k": None}),
                    ("text", {"k": "v"}),
                    ("zero", {"k": 0}),
                    ("false", {"k": False}),
                    ("empty", {"k": ""}),
                    ("absent", {"o": 1}),
                ]
            ]
        )

        def texts(flt: dict[str, Any]) -> set[str]:
            return {r.memory for r in mem.get_all(user_id="n", filters=flt).results}

        assert texts({"k": None}) == {"null", "absent"}
        assert texts({"k": {"ne": None}}) == {"text", "zero", "false", "empty"}
        assert texts({"k": "*"}) == {"null", "text", "zero", "false", "empty"}
        assert texts({"k": 0}) == {"zero", "false"}
        assert texts({"k": ""}) == {"empty"}
        assert texts({"k": {"ne": "v"}}) == {"null", "zero", "false", "empty", "absent"}

    def test_bad_filters_are_refused(self, contract_memory: Memory) -> None:
        """A malformed filter raises ``ValidationError`` in get_all and search alike.

        Fix: validate filters in the engine before the backend sees them; never return an
        empty result for a filter that cannot be evaluated.
        """
        contract_memory.add("a heron", user_id="u", infer=False)
        for bad in ({"k": {"like": 1}}, {"or": [{"k": 1}]}, {"categories": {"gt": 1}}):
            with pytest.raises(ValidationError):
                contract_memory.get_all(user_id="u", filters=bad)
            with pytest.raises(ValidationError):
                contract_memory.search("heron", user_id="u", filters=bad)

    def test_scoped_search_is_exact(self, contract_memory: Memory) -> None:
        """Dense search inside a scope returns the brute-force cosine top-k of that scope's
        rows, also for a small tenant in a big store.

        Fix: restrict candidates to the scope (and filters) first, then score all of them
        exactly; never search globally and filter afterwards (an approximate or global top-k
        misses a small tenant's rows).
        """
        mem = contract_memory
        rng = random.Random(7)
        words = "river stone lamp cedar violin harbor maple quartz ember falcon tundra".split()

        def sentence() -> str:
            return " ".join(rng.choice(words) for _ in range(rng.randint(2, 6)))

        big = [{"text": sentence(), "user_id": f"u{i % 40}"} for i in range(2400)]
        mem.batch_add(big)
        small = [{"text": sentence(), "user_id": "tiny"} for _ in range(6)]
        small += [{"text": sentence(), "user_id": "tiny", "agent_id": "a"} for _ in range(30)]
        mem.batch_add(small)
        for user, agent, k in [
            ("tiny", None, 10),
            ("tiny", "a", 5),
            ("tiny", None, 100),
            ("u3", None, 8),
        ]:
            rows = mem.get_all(user_id=user, agent_id=agent, limit=1000).results
            vectors = embed_texts(mem.embedder, [r.memory for r in rows])
            for query in ("river lamp", "falcon ember quartz", "harbor"):
                cosine = vectors @ embed_query(mem.embedder, query)
                best = np.sort(cosine)[::-1][: min(k, len(rows))]
                hits = mem.search(
                    query, user_id=user, agent_id=agent, limit=k, keyword_weight=0.0, explain=True
                ).results
                assert len(hits) == len(best), (user, agent, query)
                by_id = {r.id: float(c) for r, c in zip(rows, cosine)}
                got = [by_id[h.id] for h in hits]  # KeyError: a row from outside the scope
                assert np.allclose(got, best, atol=1e-5), (user, agent, query)
                assert all(h.explain is not None for h in hits)
                assert np.allclose([h.explain["dense"] for h in hits], got, atol=1e-5)  # type: ignore[index]
