"""The kit's raw-storage policy (``RawPolicy``, ``remember_turn``) and its token counting."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

import mnemoweave.llm._tokens as tokens
from mnemoweave import Memory
from mnemoweave.errors import ValidationError
from mnemoweave.testing import ScriptedOpenAIServer, operations
from mnemoweave_adapters import (
    MemoryBinding,
    RawPolicy,
    approx_tokens,
    count_tokens,
    final_answer,
    render_memories,
    task_result,
    tiktoken_counter,
)

SKIPPED = {
    "Hello!": "small talk",
    "Noted.": "small talk",
    "Thanks a lot!": "small talk",
    "好的": "small talk",
    "Dinner idea?": "a question that states nothing",
    "What should I cook tonight?": "a question that states nothing",
    "k.": "small talk",
    "42": "shorter than 6 letters",
}
KEPT = [
    "I'm vegan",
    "My sister lives in Oslo",
    "Can you remember that my cat is Biscuit?",
    "Dinner idea? I am vegetarian.",
    "我是素食者",
    "Allergic to peanuts",
]


@pytest.mark.parametrize(("text", "reason"), sorted(SKIPPED.items()))
def test_default_policy_skips_filler(text: str, reason: str) -> None:
    assert RawPolicy().why_skipped({"role": "user", "content": text}) == reason


@pytest.mark.parametrize("text", KEPT)
def test_default_policy_keeps_statements(text: str) -> None:
    assert RawPolicy().keeps({"role": "user", "content": text})


def test_roles_and_configuration() -> None:
    reply = {"role": "assistant", "content": "Your sister lives in Oslo"}
    assert RawPolicy().why_skipped(reply) == "role 'assistant' is not stored"
    assert RawPolicy(roles={"user", "assistant"}).keeps(reply)
    everything = RawPolicy.keep_all()
    assert everything.keeps({"role": "user", "content": "Hi"})
    assert everything.keeps({"role": "tool", "content": "?"})
    assert RawPolicy(min_chars=0, skip_small_talk=False).keeps({"role": "user", "content": "ok"})
    with pytest.raises(ValidationError, match="subset"):
        RawPolicy(roles={"system"})
    with pytest.raises(ValidationError, match="min_chars"):
        RawPolicy(min_chars=-1)
    with pytest.raises(ValidationError, match="raw_policy"):
        MemoryBinding(Memory.__new__(Memory), user_id="u", raw_policy="all")  # type: ignore[arg-type]


def test_agent_output_is_reduced_to_its_final_answer() -> None:
    react = (
        "Thought: I should answer\nAction: lookup\nObservation: done\nFinal Answer: Ada is vegan"
    )
    assert final_answer(react) == "Ada is vegan"
    assert final_answer("Thought: hmm\nAda likes tea\nAction: none") == "Ada likes tea"
    crew = (
        "Task: Plan dinner\nAgent: Chef\nExpected result: a menu\n"
        "Result: Thought: I now know the final answer\n"
        "Final Answer: Ada is vegan and likes Thai food"
    )
    assert task_result(crew) == "Ada is vegan and likes Thai food"
    assert task_result("Input: hi\nAgent: Bot\nResult: Ada moved to Rome") == "Ada moved to Rome"
    assert task_result("plain text") == "plain text"


def test_remember_turn_stores_what_the_policy_keeps_and_windows_the_rest(store: Memory) -> None:
    binding = MemoryBinding(store, user_id="ada")
    turn = [
        {"role": "user", "content": "Hello!"},
        {"role": "user", "content": "I moved to Lisbon in May"},
        {"role": "assistant", "content": "Noted."},
        {"role": "user", "content": "Dinner idea?"},
        {"role": "assistant", "content": "Try bacalhau."},
    ]
    results = binding.remember_turn(turn)
    assert len(results) == 1
    assert [m.memory for m in store.get_all(user_id="ada").results] == ["I moved to Lisbon in May"]
    window = [(m["role"], m["content"]) for m in binding.messages()]
    assert window == [(m["role"], m["content"]) for m in turn]  # every message, in order
    # Explicit saves are never filtered.
    binding.remember("Hello!")
    assert store.count(user_id="ada") == 2


def test_remember_turn_async_and_background(store: Memory) -> None:
    binding = MemoryBinding(store, user_id="ada")
    turn = [{"role": "user", "content": "Hi"}, {"role": "user", "content": "I play the oboe"}]
    asyncio.run(binding.aremember_turn(turn, background=True))
    binding.flush()
    assert [m.memory for m in store.get_all(user_id="ada").results] == ["I play the oboe"]
    assert [m["content"] for m in binding.messages()] == ["Hi", "I play the oboe"]
    assert binding.remember_turn([{"role": "system", "content": "be nice"}]) == []


def test_with_an_llm_the_whole_turn_goes_to_extraction(tmp_path: Path) -> None:
    with ScriptedOpenAIServer() as server:
        server.script(operations(("ADD", None, "Lives in Lisbon")))
        llm = {"model": "m", "base_url": server.base_url, "api_key": "k"}
        mem = Memory(tmp_path / "s", embedder="hash", llm=llm)
        try:
            binding = MemoryBinding(mem, user_id="ada")
            turn = [
                {"role": "user", "content": "Hi! I live in Lisbon"},
                {"role": "assistant", "content": "Noted."},
            ]
            binding.remember_turn(turn)
            assert [m.memory for m in mem.get_all(user_id="ada").results] == ["Lives in Lisbon"]
            assert "Noted." in json.dumps(server.chat_requests[-1].body)  # it saw the whole turn
        finally:
            mem.close()


# -- token counting ----------------------------------------------------------------------------
CHINESE = "用户最喜欢的颜色是青色，她的猫叫饼干，下个月要去上海出差并看望父母，对花生过敏。"
JAPANESE = "ユーザーの好きな色は青緑で、猫の名前はビスケット。来月は東京に出張し、両親に会う予定。"


@pytest.fixture
def bundled_tiktoken(monkeypatch: pytest.MonkeyPatch) -> object:
    """tiktoken's cl100k_base from the copy llama-index-core bundles (no download)."""
    pytest.importorskip("tiktoken")
    spec = pytest.importorskip("llama_index.core")
    cache = Path(spec.__file__).parent / "_static" / "tiktoken_cache"
    assert cache.is_dir(), "llama-index-core no longer bundles tiktoken's cache"
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(cache))
    counter = tiktoken_counter()
    assert counter is not None
    return counter


def items(texts: list[str]) -> list:
    from mnemoweave import MemoryItem

    return [MemoryItem(id=f"m{i}", memory=t, score=1 - i / 1000) for i, t in enumerate(texts)]


@pytest.mark.parametrize("text", [CHINESE, JAPANESE])
def test_cjk_budget_holds_against_tiktoken(bundled_tiktoken: object, text: str) -> None:
    counter = bundled_tiktoken
    memories = items([f"{i}: {text}" for i in range(200)])
    block = render_memories(memories, token_budget=1000)
    real = counter(block)  # type: ignore[operator]
    assert 800 < real <= 1000  # uses the budget, never exceeds it
    # The estimate alone (no tiktoken) is conservative for CJK too: never over budget.
    estimated = render_memories(memories, token_budget=1000, count_tokens=approx_tokens)
    assert counter(estimated) <= 1000  # type: ignore[operator]
    assert counter(estimated) > 500  # ...and not wildly so


def test_estimate_counts_cjk_characters_one_by_one(bundled_tiktoken: object) -> None:
    counter = bundled_tiktoken
    for text in [
        CHINESE,
        JAPANESE,
        "제가 가장 좋아하는 색은 청록색입니다",
        "Ada likes teal and cats.",
    ]:
        real = counter(text)  # type: ignore[operator]
        assert real <= approx_tokens(text) <= 2 * real


def test_without_an_offline_encoding_the_estimate_is_used(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "empty"))
    assert tiktoken_counter() is None  # it would download: it is not used
    assert count_tokens(CHINESE) == approx_tokens(CHINESE)
    assert not (tmp_path / "empty").exists()  # and nothing was written
    monkeypatch.setattr(tokens, "_cache_dir", lambda: "")
    assert tiktoken_counter() is None
