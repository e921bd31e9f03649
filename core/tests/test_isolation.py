"""Scoping is a hard boundary: property-tested, and exact for small tenants in a big store."""

from __future__ import annotations

import tempfile
from collections import defaultdict
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mnemoweave import Memory

USERS = ["ana", "bo", "cy", "dee"]
AGENTS = [None, "planner", "coder"]
WORDS = ["apple", "river", "piano", "tiger", "cloud", "stone", "lemon", "orbit"]

op = st.tuples(
    st.sampled_from(USERS),
    st.sampled_from(AGENTS),
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=4).map(" ".join),
    st.sampled_from(["add", "batch"]),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(op, min_size=1, max_size=40), query=st.sampled_from(WORDS))
def test_every_read_stays_inside_its_scope(
    ops: list[tuple[str, str | None, str, str]], query: str
) -> None:
    expected: dict[tuple[str, str | None], set[str]] = defaultdict(set)
    with tempfile.TemporaryDirectory() as tmp, Memory(Path(tmp), embedder="hash") as mem:
        for n, (user, agent, text, how) in enumerate(ops):
            text = f"{text} #{n}"
            if how == "add":
                mem.add(text, user_id=user, agent_id=agent)
            else:
                mem.batch_add([{"text": text, "user_id": user, "agent_id": agent}])
            expected[(user, agent)].add(text)
        for user in USERS:
            mine = set().union(*(v for (u, _), v in expected.items() if u == user))
            listed = mem.get_all(user_id=user, limit=1000)
            assert {r.memory for r in listed.results} == mine
            assert all(r.user_id == user for r in listed.results)
            found = mem.search(query, user_id=user, limit=100)
            assert {r.memory for r in found.results} == mine  # limit covers all: every row
            for agent in AGENTS[1:]:
                pair = expected.get((user, agent), set())
                both = mem.search(query, user_id=user, agent_id=agent, limit=100)
                assert {r.memory for r in both.results} == pair
                assert all(r.agent_id == agent for r in both.results)
        for agent in AGENTS[1:]:
            theirs = set().union(*(v for (_, a), v in expected.items() if a == agent))
            assert {r.memory for r in mem.get_all(agent_id=agent, limit=1000).results} == theirs


def test_small_tenant_is_found_next_to_a_big_one(mem: Memory) -> None:
    query = "favourite hiking trail in the mountains"
    mem.batch_add([{"text": f"{query} number {i}", "user_id": "big"} for i in range(10_000)])
    small = ["Likes tea", "Has a red bicycle", "Visited Porto in May"]
    mem.batch_add([{"text": t, "user_id": "small"} for t in small])
    res = mem.search(query, user_id="small", limit=10)
    assert {r.memory for r in res.results} == set(small)
    assert all(r.user_id == "small" for r in res.results)
    assert mem.search(query, user_id="big", limit=5).results[0].memory.startswith(query)
