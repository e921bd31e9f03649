"""MnemoweaveMemory as a LlamaIndex BaseMemory: turns, window persistence, trimming, recall."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from llama_index.core.base.llms.types import ToolCallBlock
from llama_index.core.llms import ChatMessage, MessageRole, MockLLM, TextBlock
from llama_index.core.memory import InsertMethod

from mnemoweave import AsyncMemory, ExtractionError, Memory, ValidationError
from mnemoweave.testing import ScriptedOpenAIServer
from mnemoweave_llamaindex import MnemoweaveMemory

USER, ASSISTANT, SYSTEM, TOOL = (
    MessageRole.USER,
    MessageRole.ASSISTANT,
    MessageRole.SYSTEM,
    MessageRole.TOOL,
)


def msg(role: MessageRole, text: str) -> ChatMessage:
    return ChatMessage(role=role, content=text)


def window(store: Memory, user_id: str = "ada") -> list[tuple[str, str]]:
    return [(m["role"], m["content"]) for m in store.get_messages(user_id=user_id)]


def seed(store: Memory, fact: str, user_id: str = "ada") -> None:
    """A fact from an earlier session (its own run), so this scope's window stays empty."""
    store.add(fact, user_id=user_id, run_id="earlier-session", infer=False)


def memories(store: Memory, user_id: str = "ada") -> list[str]:
    return sorted(item.memory for item in store.get_all(user_id=user_id).results)


# -- get(): recall first, then history ----------------------------------------------------------
def test_get_puts_one_recall_system_message_before_the_history(
    store: Memory, role_texts: Any, find_block: Any
) -> None:
    seed(store, "Ada's cat is called Biscuit")
    mem = MnemoweaveMemory.from_memory(store, user_id="ada")
    mem.put(msg(USER, "What is my cat called?"))

    out = mem.get()  # no input: recall for the last user message

    assert [role for role, _ in role_texts(out)] == ["system", "user"]
    assert "Biscuit" in find_block(out[0].content)
    assert out[0].content == find_block(out[0].content)  # the kit's block, unchanged
    assert out[1].content == "What is my cat called?"


def test_get_adds_no_system_message_when_nothing_is_recalled(store: Memory) -> None:
    mem = MnemoweaveMemory.from_memory(store, user_id="ada")
    mem.put(msg(USER, "hello"))
    assert [m.role for m in mem.get()] == [USER]
    assert mem.get(input="   ") == mem.get_all()


def test_input_overrides_the_last_user_message_as_query(store: Memory, find_block: Any) -> None:
    seed(store, "Ada plays the cello")
    mem = MnemoweaveMemory.from_memory(store, user_id="ada")
    mem.put(msg(USER, "unrelated words entirely"))
    assert "cello" in find_block(mem.get(input="which instrument cello")[0].content)
    assert "cello" in find_block(mem.get(input=msg(USER, "cello instrument"))[0].content)
    with pytest.raises(ValidationError):
        mem.get(input=42)  # type: ignore[arg-type]


def test_a_leading_system_message_is_merged_not_duplicated(store: Memory, find_block: Any) -> None:
    seed(store, "Ada is vegetarian")
    mem = MnemoweaveMemory.from_memory(store, user_id="ada")
    mem.set([msg(SYSTEM, "You are a cook."), msg(USER, "dinner ideas, I am vegetarian")])

    out = mem.get()

    assert [m.role for m in out] == [SYSTEM, USER]
    assert "vegetarian" in find_block(out[0].content)
    assert out[0].content.endswith("You are a cook.")
    assert mem.get_all()[0].content == "You are a cook."  # the stored message is untouched


def test_insert_method_user_prepends_recall_to_the_latest_user_message(
    store: Memory, find_block: Any
) -> None:
    seed(store, "Ada lives in Lisbon")
    mem = MnemoweaveMemory.from_memory(store, user_id="ada", insert_method=InsertMethod.USER)
    assert mem.insert_method == "user"
    mem.put_messages([msg(USER, "hi"), msg(ASSISTANT, "hello"), msg(USER, "weather in Lisbon?")])

    out = mem.get()

    assert [m.role for m in out] == [USER, ASSISTANT, USER]
    assert "Lisbon" in find_block(out[-1].content)
    assert out[-1].content.endswith("weather in Lisbon?")
    assert find_block(out[0].content) == ""


def test_returned_messages_are_copies(store: Memory) -> None:
    mem = MnemoweaveMemory.from_memory(store, user_id="ada")
    mem.put(msg(USER, "original"))
    out = mem.get()
    out[0].blocks[0].text = "edited by a caller"  # agents edit llm_input in place
    out.append(msg(USER, "appended"))
    assert [m.content for m in mem.get_all()] == ["original"]


# -- token limit --------------------------------------------------------------------------------
def test_history_is_trimmed_to_the_token_limit_oldest_first(store: Memory) -> None:
    mem = MnemoweaveMemory.from_memory(store, user_id="ada", token_limit=40, background=False)
    for n in range(10):
        mem.put_messages([msg(USER, f"question number {n} " * 2), msg(ASSISTANT, f"answer {n}")])

    out = mem.get()
    count = sum(mem.count_tokens(m.content or "") for m in out)

    assert count <= 40
    assert out[0].role == USER  # never opens on an assistant reply
    assert out[-1].content == "answer 9"
    assert len(mem.get_all()) == 20  # trimming is a view: the buffer keeps everything


def test_recall_and_initial_tokens_count_against_the_limit(store: Memory, find_block: Any) -> None:
    seed(store, "Ada's favourite number is seven")
    mem = MnemoweaveMemory.from_memory(
        store, user_id="ada", token_limit=200, recall_limit=1, background=False
    )
    for n in range(30):
        mem.put_messages([msg(USER, f"favourite number talk {n}"), msg(ASSISTANT, f"ok {n}")])

    with_recall = mem.get(input="favourite number")
    prefixed = mem.get(input="favourite number", initial_token_count=60)

    assert find_block(with_recall[0].content)
    total = sum(mem.count_tokens(m.content or "") for m in with_recall)
    assert total <= 200
    assert len(with_recall) > 2  # the block left room for some history
    assert find_block(prefixed[0].content) == find_block(with_recall[0].content)
    assert len(prefixed) < len(with_recall)  # the prefix's 60 tokens came off the history
    with pytest.raises(ValidationError, match="initial_token_count"):
        mem.get(initial_token_count=201)


def test_a_single_oversized_message_is_still_returned(store: Memory) -> None:
    mem = MnemoweaveMemory.from_memory(store, user_id="ada", token_limit=5)
    mem.put(msg(USER, "this message is far longer than five tokens for sure"))
    assert [m.content for m in mem.get()] == [
        "this message is far longer than five tokens for sure"
    ]


# -- finished turns -------------------------------------------------------------------------------
def test_a_turn_is_remembered_once_the_assistant_answers(store: Memory) -> None:
    mem = MnemoweaveMemory.from_memory(store, user_id="ada")
    mem.put(msg(USER, "My sister is called Grace"))
    mem.flush()
    assert memories(store) == []
    assert window(store) == []  # an unanswered message is not persisted yet

    mem.put(msg(ASSISTANT, "Nice to know!"))
    mem.flush()

    # No mnemoweave LLM: the user's words are the memory; the reply is history only.
    assert memories(store) == ["My sister is called Grace"]
    # Each message reached the window exactly once (add wrote the user's, then the reply).
    assert window(store) == [
        ("user", "My sister is called Grace"),
        ("assistant", "Nice to know!"),
    ]


def test_tool_traffic_stays_out_of_memories_and_window(store: Memory) -> None:
    mem = MnemoweaveMemory.from_memory(store, user_id="ada", background=False)
    call = ChatMessage(
        role=ASSISTANT,
        blocks=[
            ToolCallBlock(tool_call_id="c1", tool_name="weather", tool_kwargs={"city": "Oslo"})
        ],
    )
    legacy_call = ChatMessage(
        role=ASSISTANT, content="checking", additional_kwargs={"tool_calls": [{"id": "c2"}]}
    )
    result = ChatMessage(role=TOOL, content="-3C", additional_kwargs={"tool_call_id": "c1"})
    mem.put_messages(
        [msg(USER, "I need the weather in Oslo"), call, legacy_call, result, msg(ASSISTANT, "-3C")]
    )

    assert memories(store) == ["I need the weather in Oslo"]
    assert window(store) == [("user", "I need the weather in Oslo"), ("assistant", "-3C")]
    assert len(mem.get_all()) == 5  # this process still sees the whole exchange


def test_messages_outside_a_turn_go_to_the_window_only(store: Memory) -> None:
    mem = MnemoweaveMemory.from_memory(store, user_id="ada", background=False)
    mem.put(msg(ASSISTANT, "Welcome back!"))
    mem.put(msg(SYSTEM, "Be brief."))
    assert memories(store) == []
    assert window(store) == [("assistant", "Welcome back!"), ("system", "Be brief.")]


def test_background_turns_reach_the_window_in_order(store: Memory) -> None:
    mem = MnemoweaveMemory.from_memory(store, user_id="ada")
    for n in range(8):
        mem.put_messages([msg(USER, f"q{n}"), msg(ASSISTANT, f"a{n}")])
        mem.put(msg(ASSISTANT, f"extra{n}"))
    mem.flush()
    expected = [
        (r, f"{p}{n}")
        for n in range(8)
        for r, p in (("user", "q"), ("assistant", "a"), ("assistant", "extra"))
    ]
    assert window(store) == expected


def test_metadata_is_attached_to_remembered_turns(store: Memory) -> None:
    mem = MnemoweaveMemory.from_memory(
        store, user_id="ada", metadata={"app": "chat"}, background=False
    )
    mem.put_messages([msg(USER, "I like rye bread"), msg(ASSISTANT, "Noted")])
    assert {item.metadata.get("app") for item in store.get_all(user_id="ada").results} == {"chat"}


def test_flush_raises_what_a_background_turn_hit(tmp_path: Path) -> None:
    with ScriptedOpenAIServer() as server:
        server.script("not json at all", "still not json")
        llm = {"model": "m", "base_url": server.base_url, "api_key": "k"}
        store = Memory(tmp_path / "infer", embedder="hash", llm=llm)
        try:
            mem = MnemoweaveMemory.from_memory(store, user_id="ada")
            mem.put_messages([msg(USER, "I moved to Porto"), msg(ASSISTANT, "Got it")])
            with pytest.raises(ExtractionError):
                mem.flush()
            mem.flush()  # reported once
            # The infer pipeline saved the turn to the window before asking the LLM.
            assert window(store) == [("user", "I moved to Porto"), ("assistant", "Got it")]
        finally:
            store.close()


def test_infer_turns_become_extracted_facts(tmp_path: Path, find_block: Any) -> None:
    with ScriptedOpenAIServer() as server:
        server.script({"operations": [{"op": "ADD", "id": None, "text": "Lives in Porto"}]})
        llm = {"model": "m", "base_url": server.base_url, "api_key": "k"}
        store = Memory(tmp_path / "infer", embedder="hash", llm=llm)
        try:
            mem = MnemoweaveMemory.from_memory(store, user_id="ada")
            mem.put_messages([msg(USER, "I just moved to Porto!"), msg(ASSISTANT, "Welcome")])
            mem.flush()
            assert memories(store) == ["Lives in Porto"]
            assert len(server.chat_requests) == 1  # one LLM call per finished turn
            assert "Welcome" in json.dumps(server.chat_requests[0].body)  # it saw the reply
            assert "Lives in Porto" in find_block(mem.get(input="where do I live Porto")[0].content)
        finally:
            store.close()


# -- persistence: set / reset / restart ------------------------------------------------------------
def test_a_new_instance_resumes_the_conversation(tmp_path: Path, role_texts: Any) -> None:
    path = tmp_path / "restart"
    first_store = Memory(path, embedder="hash")
    first = MnemoweaveMemory.from_memory(first_store, user_id="ada")
    first.put_messages([msg(USER, "one"), msg(ASSISTANT, "two"), msg(USER, "unanswered")])
    first_store.close()  # waits for the background add

    second_store = Memory(path, embedder="hash")
    try:
        second = MnemoweaveMemory.from_memory(second_store, user_id="ada")
        assert role_texts(second.get_all()) == [("user", "one"), ("assistant", "two")]
    finally:
        second_store.close()


def test_set_replaces_the_window_without_creating_memories(store: Memory, role_texts: Any) -> None:
    mem = MnemoweaveMemory.from_memory(store, user_id="ada", background=False)
    mem.put_messages([msg(USER, "old"), msg(ASSISTANT, "older")])
    before = memories(store)

    mem.set([msg(SYSTEM, "sys"), msg(USER, "hi"), msg(ASSISTANT, "hey"), msg(USER, "Call me Al")])

    assert memories(store) == before
    assert window(store) == [("system", "sys"), ("user", "hi"), ("assistant", "hey")]
    assert role_texts(mem.get_all())[-1] == ("user", "Call me Al")
    # The unanswered trailing user message joins the next turn.
    mem.put(msg(ASSISTANT, "Sure, Al"))
    assert memories(store) == sorted([*before, "Call me Al"])
    assert window(store)[-2:] == [("user", "Call me Al"), ("assistant", "Sure, Al")]


def test_chat_history_argument_seeds_the_history(store: Memory, role_texts: Any) -> None:
    mem = MnemoweaveMemory.from_memory(
        store, user_id="ada", chat_history=[msg(USER, "a"), msg(ASSISTANT, "b")]
    )
    assert role_texts(mem.get_all()) == [("user", "a"), ("assistant", "b")]
    assert window(store) == [("user", "a"), ("assistant", "b")]


def test_reset_clears_history_but_keeps_long_term_memories(store: Memory, find_block: Any) -> None:
    mem = MnemoweaveMemory.from_memory(store, user_id="ada")
    mem.put_messages([msg(USER, "My bike is red"), msg(ASSISTANT, "Cool")])
    mem.reset()  # waits for the pending turn first, so it cannot reappear

    assert mem.get_all() == []
    assert window(store) == []
    assert "red" in find_block(mem.get(input="what colour is my bike red")[0].content)
    assert MnemoweaveMemory.from_memory(store, user_id="ada").get_all() == []


def test_forget_all_erases_memories_and_history_of_the_scope_only(store: Memory) -> None:
    store.add("Other user fact", user_id="bob", infer=False)
    mem = MnemoweaveMemory.from_memory(store, user_id="ada", background=False)
    mem.put_messages([msg(USER, "secret"), msg(ASSISTANT, "kept")])
    assert mem.forget_all() == 1
    assert memories(store) == []
    assert window(store) == []
    assert mem.get_all() == []
    assert memories(store, "bob") == ["Other user fact"]


def test_each_scope_has_its_own_history(store: Memory, role_texts: Any) -> None:
    ada = MnemoweaveMemory.from_memory(store, user_id="ada", background=False)
    bob = MnemoweaveMemory.from_memory(store, user_id="bob", background=False)
    ada.put_messages([msg(USER, "ada here"), msg(ASSISTANT, "hi ada")])
    bob.put_messages([msg(USER, "bob here"), msg(ASSISTANT, "hi bob")])
    assert role_texts(MnemoweaveMemory.from_memory(store, user_id="bob").get_all()) == [
        ("user", "bob here"),
        ("assistant", "hi bob"),
    ]
    assert "ada" not in " ".join(m.content or "" for m in bob.get(input="ada here"))


def test_async_methods_match_the_sync_ones(store: Memory, role_texts: Any) -> None:
    async def scenario() -> tuple[list[ChatMessage], list[ChatMessage]]:
        mem = MnemoweaveMemory.from_memory(AsyncMemory.wrap(store), user_id="ada")
        await mem.aset([msg(USER, "x"), msg(ASSISTANT, "y")])
        await mem.aput(msg(USER, "My tea is oolong"))
        await mem.aput(msg(ASSISTANT, "Lovely"))
        await mem.aflush()
        got = await mem.aget(input="oolong tea")
        everything = await mem.aget_all()
        await mem.areset()
        return got, everything

    got, everything = asyncio.run(scenario())
    assert "oolong" in got[0].content
    assert role_texts(everything)[-1] == ("assistant", "Lovely")
    assert window(store) == []


# -- construction ---------------------------------------------------------------------------------
def test_from_defaults_opens_and_owns_a_store(tmp_path: Path) -> None:
    mem = MnemoweaveMemory.from_defaults(tmp_path / "own", user_id="ada", embedder="hash")
    mem.put_messages([msg(USER, "I live in Oslo"), msg(ASSISTANT, "hi")])
    mem.close()
    reopened = Memory(tmp_path / "own", embedder="hash")
    try:
        assert reopened.count(user_id="ada") == 1
    finally:
        reopened.close()


def test_from_defaults_uses_mnemoweave_home_and_sizes_from_a_llamaindex_llm(
    tmp_path: Path,
) -> None:
    mem = MnemoweaveMemory.from_defaults(user_id="ada", embedder="hash", llm=MockLLM())
    try:
        assert mem.binding.memory.path == tmp_path / "mnemoweave-home"
        assert mem.token_limit == int(MockLLM().metadata.context_window * 0.75)
    finally:
        mem.close()
    with pytest.raises(ValidationError, match="memory_llm"):
        MnemoweaveMemory.from_defaults(tmp_path / "x", user_id="ada", embedder="hash", llm={"a": 1})


def test_from_config_takes_a_mem0_style_dict_and_a_context(tmp_path: Path) -> None:
    config = {
        "vector_store": {"provider": "faiss", "config": {"path": str(tmp_path / "cfg")}},
        "embedder": {"provider": "hash"},
    }
    mem = MnemoweaveMemory.from_config(context={"user_id": "ada", "run_id": "r1"}, config=config)
    try:
        assert (mem.user_id, mem.run_id) == ("ada", "r1")
        assert mem.binding.memory.path == tmp_path / "cfg"
        mem.put_messages([msg(USER, "I live in Oslo"), msg(ASSISTANT, "hi")])
        mem.flush()
        assert mem.binding.memory.count(user_id="ada", run_id="r1") == 1
    finally:
        mem.close()
    keyword = MnemoweaveMemory.from_config(config=config, agent_id="bot", token_limit=99)
    try:
        assert (keyword.agent_id, keyword.token_limit) == ("bot", 99)
    finally:
        keyword.close()


@pytest.mark.parametrize(
    ("context", "ids"),
    [({"user": "ada"}, {}), ({"user_id": "ada"}, {"user_id": "bob"}), ("ada", {})],
)
def test_from_config_rejects_bad_context(tmp_path: Path, context: Any, ids: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        MnemoweaveMemory.from_config(context, {"embedder": {"provider": "hash"}}, **ids)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},  # no scope
        {"user_id": ""},
        {"user_id": "ada", "token_limit": 0},
        {"user_id": "ada", "recall_limit": 0},
        {"user_id": "ada", "insert_method": "middle"},
        {"user_id": "ada", "token_limt": 10},  # typo: unknown settings are not ignored
    ],
)
def test_bad_settings_raise_mnemoweave_validation_errors(store: Memory, kwargs: Any) -> None:
    with pytest.raises(ValidationError):
        MnemoweaveMemory.from_memory(store, **kwargs)


def test_bad_store_and_messages_are_rejected(store: Memory) -> None:
    with pytest.raises(ValidationError, match="needs a mnemoweave store"):
        MnemoweaveMemory(user_id="ada")
    with pytest.raises(ValidationError, match="Memory or AsyncMemory"):
        MnemoweaveMemory.from_memory({"not": "a store"}, user_id="ada")
    mem = MnemoweaveMemory.from_memory(store, user_id="ada")
    with pytest.raises(ValidationError):
        mem.put({"role": "user", "content": "dict"})  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        mem.set(msg(USER, "not a list"))  # type: ignore[arg-type]


def test_settings_serialise_and_rebind_to_a_store(store: Memory) -> None:
    mem = MnemoweaveMemory.from_memory(store, user_id="ada", token_limit=500, recall_limit=3)
    data = mem.to_dict()
    assert data["class_name"] == "MnemoweaveMemory"
    assert "tokenizer_fn" not in data
    json.dumps(data)
    again = MnemoweaveMemory.from_dict(data, memory=store)
    assert (again.user_id, again.token_limit, again.recall_limit) == ("ada", 500, 3)
    schema = MnemoweaveMemory.model_json_schema()  # the store handle is not a field
    assert {"user_id", "token_limit", "insert_method"} <= set(schema["properties"])


def test_multi_part_user_content_is_remembered_as_text(store: Memory) -> None:
    mem = MnemoweaveMemory.from_memory(store, user_id="ada", background=False)
    mem.put(ChatMessage(role=USER, blocks=[TextBlock(text="part one"), TextBlock(text="two")]))
    mem.put(msg(ASSISTANT, "ok"))
    assert window(store)[0] == ("user", "part one\ntwo")


def test_sessions_keep_their_own_history_but_share_recall(
    store: Memory, role_texts: Any, find_block: Any
) -> None:
    monday = MnemoweaveMemory.from_memory(store, user_id="ada", session_id="monday")
    monday.put_messages([msg(USER, "I am training for the Porto marathon"), msg(ASSISTANT, "Go!")])
    monday.flush()
    assert store.count(user_id="ada", run_id="monday") == 1

    tuesday = MnemoweaveMemory.from_memory(store, user_id="ada", session_id="tuesday")
    assert tuesday.get_all() == []  # a new conversation...
    recalled = tuesday.get(input="which marathon am I training for")
    assert "Porto marathon" in find_block(recalled[0].content)  # ...with the user's memories
    again = MnemoweaveMemory.from_memory(store, user_id="ada", session_id="monday")
    assert role_texts(again.get_all())[0] == ("user", "I am training for the Porto marathon")
    bob = MnemoweaveMemory.from_memory(store, user_id="bob", session_id="monday")
    assert bob.get(input="which marathon") == []  # same session name, other user: nothing


def test_session_id_and_run_id_are_exclusive(store: Memory) -> None:
    with pytest.raises(ValidationError, match="session_id or run_id"):
        MnemoweaveMemory.from_memory(store, user_id="ada", run_id="r", session_id="s")
    with pytest.raises(ValidationError):
        MnemoweaveMemory.from_memory(store, user_id="ada", session_id="")


def test_remember_replies_stores_assistant_replies_too(store: Memory) -> None:
    mem = MnemoweaveMemory.from_memory(
        store, user_id="ada", remember_replies=True, background=False
    )
    mem.put_messages([msg(USER, "I collect stamps"), msg(ASSISTANT, "Stamps are great")])
    assert memories(store) == ["I collect stamps", "Stamps are great"]
    assert window(store) == [("user", "I collect stamps"), ("assistant", "Stamps are great")]
