"""Contract test on tenant isolation: a hypothesis property over random scopes and writes."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mnemoweave import Memory, NotFoundError

from ._contract_base import ContractBase, ids_of

USERS = ["ana", "bo", "cy"]
AGENTS = [None, "planner", "coder"]
RUNS = [None, "r1"]
WORDS = ["apple", "river", "piano", "tiger", "cloud", "stone"]

_OP = st.tuples(
    st.sampled_from(["add", "batch", "update", "delete", "delete_all"]),
    st.sampled_from(USERS),
    st.sampled_from(AGENTS),
    st.sampled_from(RUNS),
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=3).map(" ".join),
    st.integers(min_value=0, max_value=1_000),
)

Scope = tuple[str | None, str | None, str | None]


def _in(scope: Scope, asked: Scope) -> bool:
    return all(want is None or have == want for have, want in zip(scope, asked))


class ScopeContract(ContractBase):
    """No read ever returns a memory of another scope."""

    def test_tenant_isolation_property(self, contract_memory: Memory) -> None:
        """Random users/agents/runs and writes: search, get_all, count, get and history only
        ever show the asked scope's own memories (and all of them).

        Fix: carry the full scope condition into every query of the backend (rows, versions,
        vector and keyword candidates); a scope id that is not given means "any", a given one
        must match exactly.
        """
        mem = contract_memory
        example = itertools.count()

        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
        @given(ops=st.lists(_OP, min_size=1, max_size=20), query=st.sampled_from(WORDS))
        def check(ops: list[tuple[str, str, str | None, str | None, str, int]], query: str) -> None:
            n = next(example)  # fresh names per example: earlier examples are other tenants

            def name(v: str | None) -> str | None:
                return None if v is None else f"{v}-{n}"

            model: dict[str, tuple[Scope, str]] = {}
            for i, (kind, user, agent, run, words, pick) in enumerate(ops):
                scope: Scope = (name(user), name(agent), name(run))
                text = f"{words} #{n}.{i}"
                mine = sorted(mid for mid, (s, _) in model.items() if s[0] == scope[0])
                if kind == "add":
                    mid = (
                        mem.add(
                            text, user_id=scope[0], agent_id=scope[1], run_id=scope[2], infer=False
                        )
                        .results[0]
                        .id
                    )
                    model[mid] = (scope, text)
                elif kind == "batch":
                    rec = {
                        "text": text,
                        "user_id": scope[0],
                        "agent_id": scope[1],
                        "run_id": scope[2],
                    }
                    for r in mem.batch_add([rec, {**rec, "text": text + " bis"}]).results:
                        model[r["id"]] = (scope, r["memory"])
                elif kind == "update" and mine:
                    target = mine[pick % len(mine)]
                    mem.update(target, text)
                    model[target] = (model[target][0], text)
                elif kind == "delete" and mine:
                    target = mine[pick % len(mine)]
                    mem.delete(target)
                    del model[target]
                elif kind == "delete_all":
                    mem.delete_all(user_id=scope[0], agent_id=scope[1], run_id=scope[2])
                    for mid in [m for m, (s, _) in model.items() if _in(s, scope)]:
                        del model[mid]
            asked: list[Scope] = [
                (name(u), name(a), name(r)) for u in USERS for a in AGENTS for r in RUNS
            ]
            asked += [(None, name(a), None) for a in AGENTS[1:]] + [(None, None, name("r1"))]
            for scope in asked:
                want = {mid for mid, (s, _) in model.items() if _in(s, scope)}
                kwargs: dict[str, Any] = {
                    k: v for k, v in zip(("user_id", "agent_id", "run_id"), scope) if v
                }
                assert ids_of(mem.get_all(**kwargs, limit=500)) == want, scope
                assert ids_of(mem.search(query, **kwargs, limit=500)) == want, scope
                assert mem.count(**kwargs) == len(want), scope
            for mid, (scope, text) in model.items():
                item = mem.get(mid)
                assert (item.user_id, item.agent_id, item.run_id, item.memory) == (*scope, text)
                history = mem.history(mid)
                assert {e.memory_id for e in history} == {mid}
                assert all(f"#{n}." in (e.new_memory or f"#{n}.") for e in history)

        check()
        with pytest.raises(NotFoundError):
            mem.get("00000000-0000-4000-8000-000000000000")
