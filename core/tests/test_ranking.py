"""``ranking="context"``: the neighbour lift, list questions, bounded scores, scope isolation."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mnemoweave import ConfigurationError, Memory
from mnemoweave._keywords import terms_blob
from mnemoweave._ranking import blend, context_rows, mentions
from mnemoweave.backends.base import Selection

# A conversation in add order: the answer to "hiking trip" is the turn after the question,
# and shares no word with it (the standard ranking puts it last); the other turns mention a
# trip of another kind.
TURNS = [
    "Shall we plan a hiking trip for the holidays?",
    "Yes, Mount Tam with the kids sounds great",
    "The dentist appointment went fine",
    "My business trip to Denver got cancelled",
    "Our office moved to a new building",
    "The school trip was rained out",
    "I bought new running shoes",
    "A road trip sounds tiring to me",
]
ANSWER = TURNS[1]


def _open(tmp_path: Path, name: str = "store", **options: Any) -> Memory:
    return Memory(tmp_path / name, embedder="hash", **options)


def _fill(mem: Memory, turns: list[str], user: str = "u1") -> None:
    for turn in turns:  # one add per turn: add order is conversation order
        mem.add(turn, user_id=user, infer=False)


def _texts(mem: Memory, query: str, limit: int, **kw: Any) -> list[str]:
    return [r.memory for r in mem.search(query, user_id="u1", limit=limit, **kw).results]


def test_default_ranking_is_standard(tmp_path: Path) -> None:
    mem = _open(tmp_path)
    _fill(mem, TURNS)
    found = mem.search("hiking trip", user_id="u1", limit=3, explain=True).results
    mem.close()
    assert mem.config.ranking == "standard"
    assert found[0].explain is not None
    assert "context_dense" not in found[0].explain


def test_neighbour_turn_is_lifted_into_the_top_k(tmp_path: Path) -> None:
    standard = _open(tmp_path, "a")
    context = _open(tmp_path, "b", ranking="context")
    for mem in (standard, context):
        _fill(mem, TURNS)
    plain = _texts(standard, "hiking trip", 3)
    lifted = context.search("hiking trip", user_id="u1", limit=3, explain=True).results
    standard.close()
    context.close()
    assert plain[0] == TURNS[0]
    assert ANSWER not in plain
    assert lifted[0].memory == TURNS[0]
    answer = next(r for r in lifted if r.memory == ANSWER)
    assert answer.explain is not None
    assert answer.explain["neighbour"] > 0
    assert answer.explain["context_dense"] > answer.explain["dense"]  # read with its question


def test_list_questions_skip_the_context_steps(tmp_path: Path) -> None:
    mem = _open(tmp_path, ranking="context")
    _fill(mem, TURNS)
    found = mem.search("which trips were planned", user_id="u1", limit=8, explain=True).results
    mem.close()
    assert len(found) == len(TURNS)
    for item in found:
        assert item.explain is not None
        assert item.explain["context_dense"] == item.explain["dense"]
        assert item.explain["neighbour"] == 0.0
    assert ANSWER not in [r.memory for r in found[:3]]


def test_scores_stay_in_unit_range_and_threshold_cuts(tmp_path: Path) -> None:
    mem = _open(tmp_path, ranking="context")
    _fill(mem, TURNS + ["hiking trip hiking trip hiking trip"] * 3)
    every = mem.search("when is the hiking trip", user_id="u1", limit=50).results
    cut = mem.search("when is the hiking trip", user_id="u1", limit=50, threshold=0.3).results
    mem.close()
    scores = [r.score or 0.0 for r in every]
    assert len(scores) == len(TURNS) + 3
    assert all(r.score is not None and 0.0 <= r.score <= 1.0 for r in every)
    assert scores == sorted(scores, reverse=True)
    assert max(scores) > 0.3 > min(scores)
    assert [r.memory for r in cut] == [r.memory for r in every if (r.score or 0) >= 0.3]


def test_another_scope_neither_shows_nor_shifts_the_context(tmp_path: Path) -> None:
    alone = _open(tmp_path, "a", ranking="context")
    mixed = _open(tmp_path, "b", ranking="context")
    _fill(alone, TURNS)
    for turn in TURNS:  # another user's turn between every two: not u1's previous row
        mixed.add("hiking trip with the kids on Mount Tam", user_id="u2", infer=False)
        mixed.add(turn, user_id="u1", infer=False)
    a = alone.search("hiking trip", user_id="u1", limit=8).results
    b = mixed.search("hiking trip", user_id="u1", limit=8).results
    alone.close()
    mixed.close()
    assert [r.memory for r in b] == [r.memory for r in a]
    assert [r.score for r in b] == pytest.approx([r.score for r in a])
    assert all(r.user_id == "u1" for r in b)


def test_time_questions_boost_rows_mentioning_a_time(tmp_path: Path) -> None:
    mem = _open(tmp_path, ranking="context")
    _fill(mem, ["We went to the lake yesterday", "We went to the lake with Sam"])
    asked = mem.search("when did we go to the lake", user_id="u1", limit=2, explain=True)
    plain = mem.search("the lake", user_id="u1", limit=2, explain=True)
    mem.close()
    boost = {r.memory: (r.explain or {})["time_boost"] for r in asked.results}
    assert boost == {"We went to the lake yesterday": 0.05, "We went to the lake with Sam": 0.0}
    assert all((r.explain or {})["time_boost"] == 0.0 for r in plain.results)


def test_as_of_searches_use_the_standard_ranking(tmp_path: Path) -> None:
    mem = _open(tmp_path, ranking="context")
    _fill(mem, TURNS)
    found = mem.search("hiking trip", user_id="u1", limit=3, as_of=time.time(), explain=True)
    mem.close()
    assert found.results
    assert "context_dense" not in (found.results[0].explain or {})


def test_unknown_ranking_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="ranking"):
        _open(tmp_path, ranking="fancy")


def test_a_reader_without_context_rows_is_a_configuration_error() -> None:
    selection = Selection(scope={"user_id": "u1"}, now=0.0)
    with pytest.raises(ConfigurationError, match="context_rows"):
        context_rows(object(), selection, np.zeros(4, dtype=np.float32))  # type: ignore[arg-type]


def test_blend_is_the_cosine_with_the_summed_vectors() -> None:
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(5, 16))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    query = rng.normal(size=16)
    query /= np.linalg.norm(query)
    prev = np.zeros(5)
    prev[1:] = np.einsum("ij,ij->i", vectors[1:], vectors[:-1])
    mixed = vectors.copy()
    mixed[1:] = vectors[1:] + 0.5 * vectors[:-1]
    mixed /= np.linalg.norm(mixed, axis=1, keepdims=True)
    assert blend(vectors @ query, prev) == pytest.approx(mixed @ query)


def test_time_mentions_read_relative_words_only() -> None:
    blobs = [terms_blob(t) for t in ["see you on Friday", "on 8 May 2023 we met", "", "ago"]]
    assert mentions(blobs).tolist() == [1.0, 0.0, 0.0, 1.0]


def test_keyword_feedback_reaches_rows_sharing_the_top_rows_terms(tmp_path: Path) -> None:
    mem = _open(tmp_path, ranking="context")
    _fill(
        mem,
        [
            "Lisbon has a yellow tram",
            "I like green apples",
            "In Lisbon the tram climbs hills",
            "The dentist was nice",
            "Lisbon tram rides are cheap",
            "Our cat sleeps all day",
            "My brother plays chess",
            "The tram was late again",
        ],
    )
    found = mem.search("lisbon", user_id="u1", limit=8, explain=True).results
    mem.close()
    prf = {r.memory: (r.explain or {})["prf"] for r in found}
    assert prf["The tram was late again"] > 0.0
    assert prf["My brother plays chess"] == 0.0


def test_empty_and_filtered_out_scopes_return_nothing(tmp_path: Path) -> None:
    mem = _open(tmp_path, ranking="context")
    _fill(mem, ["hello there"])
    nobody = mem.search("when hello", user_id="nobody").results
    filtered = mem.search("when hello", user_id="u1", filters={"topic": "x"}).results
    one = mem.search("when hello", user_id="u1").results
    mem.close()
    assert nobody == []
    assert filtered == []
    assert [r.memory for r in one] == ["hello there"]
