"""The infer pipeline end to end: Memory -> real openai SDK -> ScriptedOpenAIServer on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mnemoweave import (
    AddHandle,
    AsyncMemory,
    ConfigurationError,
    ExtractionError,
    LLMError,
    Memory,
    ValidationError,
)
from mnemoweave.llm import prompts
from mnemoweave.testing import (
    Fault,
    RecordedRequest,
    ScriptedOpenAIServer,
    fenced,
    prose_wrapped,
    with_think,
)
from mnemoweave.testing import operations as ops


def llm_config(server: ScriptedOpenAIServer, **extra: Any) -> dict[str, Any]:
    return {
        "model": "scripted-model",
        "base_url": server.base_url,
        "api_key": "test-key",
        "max_retries": 2,
        "timeout": 60,  # generous: a loaded machine must not time out a normal call
        **extra,
    }


@pytest.fixture
def mem(tmp_path: Path, server: ScriptedOpenAIServer) -> Iterator[Memory]:
    memory = Memory(tmp_path / "store", embedder="hash", llm=llm_config(server))
    yield memory
    memory.close()


def existing_block(request: RecordedRequest) -> list[str]:
    """The existing memories the pipeline showed the model, in id order."""
    shown = prompts.input_data(request.messages[-1]["content"])["existing_memories"]
    assert [m["id"] for m in shown] == list(range(len(shown)))
    return [m["text"] for m in shown]


def test_a_new_fact_takes_exactly_one_llm_call(mem: Memory, server: ScriptedOpenAIServer) -> None:
    server.script(ops(("ADD", None, "Is allergic to peanuts")))
    res = mem.add("Hi, just so you know I'm allergic to peanuts", user_id="alex")
    assert [(e.event, e.memory) for e in res.results] == [("ADD", "Is allergic to peanuts")]
    assert len(server.chat_requests) == 1
    request = server.chat_requests[0]
    assert request.json_schema is not None  # structured output when the endpoint supports it
    assert request.messages[0]["content"].startswith(prompts.EXTRACTION_SYSTEM[:40])
    assert "allergic to peanuts" in request.messages[-1]["content"]
    assert res.usage.llm_calls == 1
    assert res.usage.prompt_tokens == request.prompt_tokens > 0
    assert res.usage.completion_tokens == request.completion_tokens > 0
    assert res.usage.llm_seconds > 0
    hit = mem.search("peanut allergy", user_id="alex").results[0]
    assert hit.memory == "Is allergic to peanuts"
    # The raw message is kept in the scope's window as well.
    assert mem.get_messages(user_id="alex")[0]["content"].startswith("Hi, just so you know")


def test_update_retires_previous_version_and_as_of_finds_it(
    mem: Memory, server: ScriptedOpenAIServer
) -> None:
    t1 = datetime(2025, 1, 10, tzinfo=UTC)
    t2 = datetime(2025, 6, 1, tzinfo=UTC)
    server.script(ops(("ADD", None, "Lives in Paris")))
    first = mem.add("I live in Paris", user_id="u", timestamp=t1).results[0]
    server.script(ops(("UPDATE", 0, "Lives in Berlin (moved from Paris)")))
    res = mem.add("I moved from Paris to Berlin", user_id="u", timestamp=t2)
    assert existing_block(server.chat_requests[-1]) == ["Lives in Paris"]
    event = res.results[0]
    assert (event.event, event.id, event.previous_memory) == ("UPDATE", first.id, "Lives in Paris")
    assert mem.get(first.id).memory == "Lives in Berlin (moved from Paris)"
    history = mem.history(first.id)
    assert [(h.event, h.old_memory, h.new_memory) for h in history] == [
        ("ADD", None, "Lives in Paris"),
        ("UPDATE", "Lives in Paris", "Lives in Berlin (moved from Paris)"),
    ]
    before = mem.search("where does the user live", user_id="u", as_of=t1 + timedelta(days=30))
    assert [r.memory for r in before.results] == ["Lives in Paris"]
    after = mem.search("where does the user live", user_id="u", as_of=t2 + timedelta(days=1))
    assert [r.memory for r in after.results] == ["Lives in Berlin (moved from Paris)"]
    assert [r.memory for r in mem.search("live", user_id="u").results] == [
        "Lives in Berlin (moved from Paris)"
    ]


def test_contradiction_deletes_by_retiring(mem: Memory, server: ScriptedOpenAIServer) -> None:
    server.script(ops(("ADD", None, "Is vegetarian")))
    veg = mem.add("I'm vegetarian", user_id="u").results[0]
    server.script(ops(("DELETE", 0, None)))
    res = mem.add("Actually I eat meat again", user_id="u")
    assert [(e.event, e.id, e.memory) for e in res.results] == [("DELETE", veg.id, "Is vegetarian")]
    assert mem.search("vegetarian", user_id="u").results == []
    kept = mem.get(veg.id)  # retired, not erased
    assert kept.valid_to is not None
    assert kept.expired_at is not None
    assert [h.event for h in mem.history(veg.id)] == ["ADD", "DELETE"]
    assert mem.search("vegetarian", user_id="u", include_expired=True).results[0].id == veg.id


def test_repeated_fact_is_none_and_exact_duplicates_are_not_added(
    mem: Memory, server: ScriptedOpenAIServer
) -> None:
    server.script(ops(("ADD", None, "Has a cat named Miso")))
    cat = mem.add("My cat is Miso", user_id="u").results[0]
    server.script(ops(("NONE", 0, None)))
    res = mem.add("Did I tell you about Miso, my cat?", user_id="u")
    assert [(e.event, e.id) for e in res.results] == [("NONE", cat.id)]
    server.script(ops(("ADD", None, "Has a cat named Miso")))
    dup = mem.add("Miso is my cat", user_id="u")
    assert [(e.event, e.id) for e in dup.results] == [("NONE", cat.id)]
    assert mem.count(user_id="u") == 1


def test_invented_and_out_of_range_ids_are_ignored_with_a_warning(
    mem: Memory, server: ScriptedOpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.script(ops(("ADD", None, "Plays chess")))
    chess = mem.add("I play chess", user_id="u").results[0]
    server.script(
        {
            "operations": [
                {"op": "UPDATE", "id": 7, "text": "Plays go"},
                {"op": "DELETE", "id": "not-an-id", "text": None},
                {"op": "UPDATE", "id": 0, "text": "Plays chess every Sunday"},
            ]
        }
    )
    with caplog.at_level("WARNING", logger="mnemoweave"):
        res = mem.add("I play chess every Sunday", user_id="u")
    assert [(e.event, e.id) for e in res.results] == [("UPDATE", chess.id)]
    assert "not shown" in caplog.text
    assert mem.count(user_id="u") == 1


def test_immutable_memories_are_never_changed(mem: Memory, server: ScriptedOpenAIServer) -> None:
    pinned = mem.add("Blood type is A+", user_id="u", infer=False, immutable=True).results[0]
    server.script(ops(("UPDATE", 0, "Blood type is B-"), ("DELETE", 0, None)))
    res = mem.add("I think my blood type is B-", user_id="u")
    assert [e.event for e in res.results] == ["NONE"]
    assert mem.get(pinned.id).memory == "Blood type is A+"


def test_non_english_text_is_kept_as_is(mem: Memory, server: ScriptedOpenAIServer) -> None:
    server.script(
        ops(("ADD", None, "Wohnt in München und liebt Brezeln"), ("ADD", None, "喜欢喝茶"))
    )
    res = mem.add("Ich wohne in München und liebe Brezeln. 我喜欢喝茶。", user_id="u")
    assert [e.memory for e in res.results] == ["Wohnt in München und liebt Brezeln", "喜欢喝茶"]
    sent = server.chat_requests[0].messages[-1]["content"]
    assert "Ich wohne in München" in sent
    assert "我喜欢喝茶" in sent
    assert mem.search("München", user_id="u").results[0].memory.startswith("Wohnt in München")


def resolve_tomorrow(request: RecordedRequest) -> dict[str, Any]:
    """A scripted model that resolves "tomorrow" against the observation time it was shown."""
    observed = prompts.input_data(request.messages[-1]["content"])["observation_time"]
    day = datetime.fromisoformat(observed.replace("Z", "+00:00")) + timedelta(days=1)
    return ops(("ADD", None, f"Has a dentist appointment on {day.date().isoformat()}"))


def test_relative_dates_resolve_against_timestamp(
    mem: Memory, server: ScriptedOpenAIServer
) -> None:
    server.handler = resolve_tomorrow
    res = mem.add(
        "I have a dentist appointment tomorrow", user_id="u", timestamp="2024-02-28T09:30:00Z"
    )
    assert res.results[0].memory == "Has a dentist appointment on 2024-02-29"
    sent = prompts.input_data(server.chat_requests[0].messages[-1]["content"])
    assert sent["observation_time"] == "2024-02-28T09:30:00Z"
    item = mem.get(res.results[0].id)
    assert item.valid_from == datetime(2024, 2, 28, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "wrap", [fenced, prose_wrapped, with_think], ids=["fenced", "prose", "think"]
)
def test_tolerant_parsing_of_wrapped_json(
    mem: Memory, server: ScriptedOpenAIServer, wrap: Any
) -> None:
    server.script(wrap(ops(("ADD", None, "Drinks oat milk"))))
    res = mem.add("I only drink oat milk", user_id="u")
    assert [e.memory for e in res.results] == ["Drinks oat milk"]
    assert len(server.chat_requests) == 1


def test_rate_limit_then_success(mem: Memory, server: ScriptedOpenAIServer) -> None:
    server.script(Fault.rate_limit(retry_after=0.05), ops(("ADD", None, "Likes jazz")))
    res = mem.add("I like jazz", user_id="u")
    assert [e.memory for e in res.results] == ["Likes jazz"]
    assert [r.status for r in server.chat_requests] == [429, 200]


def test_server_errors_exhausting_retries_raise_llm_error(
    tmp_path: Path, server: ScriptedOpenAIServer
) -> None:
    server.script(*[Fault.server_error(500, retry_after=0.01)] * 3)
    with Memory(tmp_path, embedder="hash", llm=llm_config(server, max_retries=2)) as mem:
        with pytest.raises(LLMError, match="500") as err:
            mem.add("I like jazz", user_id="u")
        assert not isinstance(err.value, ExtractionError)
        assert len(server.chat_requests) == 3
        assert mem.get_messages(user_id="u")[0]["content"] == "I like jazz"  # nothing lost


def test_timeout_raises_llm_error(tmp_path: Path, server: ScriptedOpenAIServer) -> None:
    server.script(Fault.hang(3.0))
    config = llm_config(server, timeout=0.3, max_retries=0)
    with Memory(tmp_path, embedder="hash", llm=config) as mem:
        with pytest.raises(LLMError, match=r"(?i)time"):
            mem.add("I like jazz", user_id="u")
        assert mem.get_messages(user_id="u")[0]["content"] == "I like jazz"


def test_malformed_http_body_is_an_llm_error(tmp_path: Path, server: ScriptedOpenAIServer) -> None:
    server.script(Fault.malformed(), Fault.malformed())
    with (
        Memory(tmp_path, embedder="hash", llm=llm_config(server, max_retries=0)) as mem,
        pytest.raises(LLMError),
    ):
        mem.add("I like jazz", user_id="u")


def test_unusable_reply_is_repaired_once(mem: Memory, server: ScriptedOpenAIServer) -> None:
    server.script("I think the user likes jazz!", ops(("ADD", None, "Likes jazz")))
    res = mem.add("I like jazz", user_id="u")
    assert [e.memory for e in res.results] == ["Likes jazz"]
    assert len(server.chat_requests) == 2
    repair = server.chat_requests[1].messages
    assert repair[-2] == {"role": "assistant", "content": "I think the user likes jazz!"}
    assert "could not be used" in repair[-1]["content"]
    assert res.usage.llm_calls == 2


def test_unusable_twice_raises_extraction_error_and_keeps_messages(
    mem: Memory, server: ScriptedOpenAIServer
) -> None:
    server.script("no json here", '{"operations": [{"op": "FLY", "id": 1}]}')
    with pytest.raises(ExtractionError) as err:
        mem.add([{"role": "user", "content": "Remember my locker is 42"}], user_id="u")
    assert err.value.raw == '{"operations": [{"op": "FLY", "id": 1}]}'
    assert mem.get_messages(user_id="u") == [
        {
            "role": "user",
            "content": "Remember my locker is 42",
            "created_at": mem.get_messages(user_id="u")[0]["created_at"],
        }
    ]
    assert mem.count(user_id="u") == 0


def test_procedural_memory_summarises_an_agent_run(
    mem: Memory, server: ScriptedOpenAIServer
) -> None:
    summary = "Task: book a flight.\nSteps:\n1. search_flights(LIS->BER) -> 3 results"
    server.script(summary)
    run = [
        {"role": "user", "content": "Book me a flight from Lisbon to Berlin"},
        {"role": "assistant", "content": "Calling search_flights(LIS, BER)"},
        {"role": "tool", "content": "3 results: TP540, LH1169, FR8231"},
    ]
    res = mem.add(run, agent_id="travel-bot", memory_type="procedural_memory")
    assert [(e.event, e.memory) for e in res.results] == [("ADD", summary)]
    request = server.chat_requests[0]
    assert request.messages[0]["content"] == prompts.PROCEDURAL_SYSTEM
    assert request.response_format is None  # plain text, not JSON
    item = mem.get(res.results[0].id)
    assert item.memory_type == "procedural_memory"
    assert item.metadata["memory_type"] == "procedural_memory"
    with pytest.raises(ValidationError, match="requires agent_id"):
        mem.add(run, user_id="u", memory_type="procedural_memory")


def test_background_add_and_flush(mem: Memory, server: ScriptedOpenAIServer) -> None:
    server.handler = lambda req: ops(("ADD", None, f"Fact from {req.index}"))
    handles = [mem.add(f"message {i}", user_id=f"u{i % 3}", background=True) for i in range(6)]
    assert all(isinstance(h, AddHandle) for h in handles)
    mem.flush()
    assert all(h.done() for h in handles)
    assert sum(mem.count(user_id=f"u{i}") for i in range(3)) == 6
    server.handler = None
    server.script(Fault.bad_request("nope"))
    failing = mem.add("will fail", user_id="u0", background=True)
    assert isinstance(failing, AddHandle)
    mem.flush()
    with pytest.raises(LLMError):
        failing.result()


def test_no_llm_configured(tmp_path: Path) -> None:
    with (
        Memory(tmp_path, embedder="hash") as mem,
        pytest.raises(ConfigurationError, match="llm="),
    ):
        mem.add("x", user_id="u", infer=True)


def test_custom_instructions_and_prompt_override(
    tmp_path: Path, server: ScriptedOpenAIServer
) -> None:
    config = llm_config(server)
    with Memory(tmp_path, embedder="hash", llm=config, custom_instructions="Only food.") as mem:
        server.script(ops(), ops())
        mem.add("I like pizza", user_id="u")
        assert "Only food." in server.chat_requests[0].messages[0]["content"]
        mem.add("I like pizza", user_id="u", prompt="You extract food facts as JSON.")
        assert (
            server.chat_requests[1]
            .messages[0]["content"]
            .startswith("You extract food facts as JSON.")
        )


def test_concurrent_async_adds_across_users(tmp_path: Path, server: ScriptedOpenAIServer) -> None:
    def handler(request: RecordedRequest) -> dict[str, Any]:
        said = prompts.input_data(request.messages[-1]["content"])["messages"][0]["content"]
        return ops(("ADD", None, f"Said: {said}"))

    server.handler = handler

    async def main() -> None:
        mem = AsyncMemory(tmp_path, embedder="hash", llm=llm_config(server))
        try:
            results = await asyncio.gather(
                *[
                    mem.add(f"note {i} for user {i % 10}", user_id=f"user{i % 10}")
                    for i in range(50)
                ]
            )
            assert all(r.results[0].event == "ADD" for r in results)
            for u in range(10):
                listed = await mem.get_all(user_id=f"user{u}")
                expected = {f"Said: note {i} for user {u}" for i in range(u, 50, 10)}
                assert {r.memory for r in listed.results} == expected
            # Same-scope adds are serialised: each saw the previous ones as existing memories.
            seen = [
                len(existing_block(r))
                for r in server.chat_requests
                if prompts.input_data(r.messages[-1]["content"])["messages"][0]["content"].endswith(
                    "for user 3"
                )
            ]
            assert sorted(seen) == [0, 1, 2, 3, 4]
            bg = await mem.add("late note for user 0", user_id="user0", background=True)
            await mem.aflush()
            assert (await bg.result()).results[0].event == "ADD"
        finally:
            await mem.close()

    asyncio.run(main())
    assert len(server.chat_requests) == 51


def test_async_faults_match_sync(tmp_path: Path, server: ScriptedOpenAIServer) -> None:
    async def main() -> None:
        async with AsyncMemory(tmp_path, embedder="hash", llm=llm_config(server)) as mem:
            server.script("garbage", ops(("ADD", None, "Likes tea")))
            res = await mem.add("I like tea", user_id="u")
            assert [e.memory for e in res.results] == ["Likes tea"]
            server.script("garbage", "more garbage")
            with pytest.raises(ExtractionError):
                await mem.add("I like coffee", user_id="u")
            messages = await mem.get_messages(user_id="u")
            assert [m["content"] for m in messages] == ["I like tea", "I like coffee"]

    asyncio.run(main())


def test_from_config_mem0_llm_shape(tmp_path: Path, server: ScriptedOpenAIServer) -> None:
    mem = Memory.from_config(
        {
            "llm": {
                "provider": "openai",
                "config": {
                    "model": "scripted-model",
                    "openai_base_url": server.base_url,
                    "api_key": "k",
                },
            },
            "embedder": {"provider": "hash"},
            "vector_store": {"provider": "faiss", "config": {"path": str(tmp_path)}},
        }
    )
    try:
        server.script(json.dumps(ops(("ADD", None, "Likes tea"))))
        assert mem.add("I like tea", user_id="u").results[0].memory == "Likes tea"
    finally:
        mem.close()


def test_an_oversized_reply_is_refused_without_parsing_or_repair(
    tmp_path: Path, server: ScriptedOpenAIServer
) -> None:
    config = llm_config(server)
    with Memory(tmp_path, embedder="hash", llm=config, max_reply_chars=10_000) as mem:
        server.script("[" * 10_001, ops(("ADD", None, "never asked for")))
        with pytest.raises(ExtractionError, match="max_reply_chars=10,000") as err:
            mem.add("My locker is 42", user_id="u")
        assert len(err.value.raw) == 10_001
        assert len(server.chat_requests) == 1  # no repair turn echoing 10 kB back
        assert [m["content"] for m in mem.get_messages(user_id="u")] == ["My locker is 42"]
        assert mem.count(user_id="u") == 0
        server.script("x" * 10_000)  # at the limit: parsed (and repaired) as usual
        server.enqueue(ops(("ADD", None, "Locker is 42")))
        assert mem.add("My locker is 42", user_id="u").results[0].memory == "Locker is 42"


@pytest.mark.timeout(120)  # a guard only: quadratic parsing took minutes for 1 MB
def test_a_megabyte_of_brackets_is_repaired_like_any_unusable_reply(
    tmp_path: Path, server: ScriptedOpenAIServer
) -> None:
    config = llm_config(server, timeout=60)
    with Memory(tmp_path, embedder="hash", llm=config, max_reply_chars=2_000_000) as mem:
        server.script('{"operations": [' * 70_000, ops(("ADD", None, "Likes tea")))
        assert mem.add("I like tea", user_id="u").results[0].memory == "Likes tea"
        assert len(server.chat_requests) == 2
