"""llama-index-core's own memory and chat-engine tests, reproduced against our classes.

llama-index-core's sdist ships no tests, so they cannot be fetched at a pinned version the
way CrewAI's are. Each test here restates what one upstream test asserts (written from
scratch; the docstring names the file and test in run-llama/llama_index,
``llama-index-core/tests/...``), with ``MnemoweaveMemory`` in place of ``ChatMemoryBuffer`` and
``MnemoweaveMemoryBlock`` in place of their test blocks. Deliberate differences are marked
``DIFFERENCE`` and listed in docs/llamaindex.md ("LlamaIndex's own tests").
"""

from __future__ import annotations

import asyncio
import pickle
from pathlib import Path
from typing import Any

import pytest
from llama_index.core.chat_engine import SimpleChatEngine
from llama_index.core.llms import ChatMessage, MessageRole
from llama_index.core.memory import InsertMethod
from llama_index.core.memory import Memory as LlamaMemory
from llama_index.core.utils import get_tokenizer

from mnemoweave import Memory
from mnemoweave.testing import WriteGate
from mnemoweave_llamaindex import MnemoweaveMemory, MnemoweaveMemoryBlock

TOKENS = get_tokenizer()
FIRST = ChatMessage(role=MessageRole.USER, content="first message")
ANSWER = ChatMessage(role=MessageRole.ASSISTANT, content="first answer")
SECOND = ChatMessage(role=MessageRole.USER, content="second message")
SECOND_ANSWER = ChatMessage(role=MessageRole.ASSISTANT, content="second answer")


def n(message: ChatMessage) -> int:
    return len(TOKENS(message.content or ""))


def buffer(store: Memory, history: list[ChatMessage] | None = None, **kw: Any) -> Any:
    """What ``ChatMemoryBuffer.from_defaults(chat_history=..., token_limit=...)`` builds."""
    return MnemoweaveMemory.from_memory(
        store, user_id="peer", chat_history=history, background=False, **kw
    )


def texts(messages: list[ChatMessage]) -> list[str]:
    return [m.content or "" for m in messages]


# -- tests/memory/test_chat_memory_buffer.py ---------------------------------------------------
def test_put_get(store: Memory) -> None:
    """test_chat_memory_buffer.py::test_put_get: one message in, one message out."""
    assert texts(buffer(store, [FIRST]).get()) == ["first message"]


def test_get_when_initial_tokens_less_than_limit_returns_history(store: Memory) -> None:
    """..::test_get_when_initial_tokens_less_than_limit_returns_history."""
    assert buffer(store, [FIRST], token_limit=1000).get(initial_token_count=5) == [FIRST]


def test_get_when_initial_tokens_exceed_limit_raises_value_error(store: Memory) -> None:
    """..::test_get_when_initial_tokens_exceed_limit_raises_value_error.

    DIFFERENCE: the same ``ValueError`` type (mnemoweave's ``ValidationError``), with a
    message that names both numbers instead of LlamaIndex's fixed sentence.
    """
    with pytest.raises(ValueError, match="exceeds token_limit"):
        buffer(store, token_limit=49).get(initial_token_count=50)


def test_get_when_initial_tokens_same_as_limit_keeps_the_newest_message(store: Memory) -> None:
    """..::test_get_when_initial_tokens_same_as_limit_removes_message.

    DIFFERENCE: upstream returns no message; ours always keeps the newest one, so the model
    (not the memory) reports an oversized prompt and the user's question is never dropped.
    """
    assert buffer(store, [FIRST], token_limit=5).get(initial_token_count=5) == [FIRST]


def test_history_never_starts_with_an_assistant_message(store: Memory) -> None:
    """..::test_get_when_space_for_assistant_message_removes_assistant_message_at_start_of_history.

    The assistant message that would open the history is dropped, as upstream. DIFFERENCE:
    upstream then returns nothing; ours keeps the newest message alone (see above).
    """
    mem = buffer(store, [FIRST, ANSWER], token_limit=5)
    got = mem.get(initial_token_count=5 - n(FIRST))
    assert got == [ANSWER]  # alone: never an assistant message *ahead of* a kept question


def test_space_for_second_turn_drops_the_first(store: Memory) -> None:
    """..::test_get_when_space_for_second_message_and_answer_removes_only_first_message_and_answer
    and ..::test_get_when_space_for_all_but_first_message_removes_first_message_and_answer."""
    history = [FIRST, ANSWER, SECOND, SECOND_ANSWER]
    mem = buffer(store, history, token_limit=5)
    assert mem.get(initial_token_count=5 - n(FIRST) - n(ANSWER)) == [SECOND, SECOND_ANSWER]
    mem = buffer(store, history, token_limit=10)
    room = 10 - (n(ANSWER) + n(FIRST) + n(SECOND_ANSWER))
    assert mem.get(initial_token_count=room) == [SECOND, SECOND_ANSWER]


def test_set(store: Memory) -> None:
    """..::test_set: put adds to the history, set replaces it."""
    mem = buffer(store, [FIRST])
    mem.put(FIRST)
    assert len(mem.get()) == 2
    mem.set([FIRST])
    assert len(mem.get()) == 1


def test_max_tokens(store: Memory) -> None:
    """..::test_max_tokens: get() trims to token_limit, get_all() keeps everything, in order."""
    mem = buffer(store, [FIRST], token_limit=5)
    mem.put(FIRST)
    assert len(mem.get()) == 2
    mem.put(FIRST)
    mem.put(FIRST)
    assert len(mem.get()) == 2
    assert len(mem.get_all()) == 4
    mem.put(ChatMessage(role=MessageRole.USER, content="test message2"))
    assert mem.get()[-1].content == "test message2"
    assert len(mem.get()) == 2


def test_string_save_load(tmp_path: Path) -> None:
    """..::test_sting_save_load: to_string / from_string keep the settings and the history,
    even when the only turn is unfinished (a user message with no answer yet)."""
    mem = MnemoweaveMemory.from_defaults(
        tmp_path / "s", user_id="peer", embedder="hash", token_limit=5, chat_history=[FIRST]
    )
    saved = mem.to_string()
    mem.close()
    again = MnemoweaveMemory.from_string(saved)  # reopens the recorded store
    try:
        assert texts(again.get()) == ["first message"]
        assert again.token_limit == 5
        again.put(ANSWER)  # the restored question and this answer make one finished turn
        again.flush()
        assert [m.memory for m in again.binding.memory.get_all(user_id="peer").results] == [
            "first message"
        ]
    finally:
        again.close()


def test_dict_save_load(store: Memory) -> None:
    """..::test_dict_save_load: to_dict / from_dict (rebound to an open store here)."""
    data = buffer(store, [FIRST], token_limit=5).to_dict()
    again = MnemoweaveMemory.from_dict(data, memory=store)
    assert texts(again.get()) == ["first message"]
    assert again.token_limit == 5


def test_pickle(tmp_path: Path, store: Memory) -> None:
    """..::test_pickle: a memory pickles. Ours pickles as its ``to_dict`` and unpickling
    reopens the recorded store; a memory whose store cannot be reopened from settings (an
    embedder object here) refuses with a clear ``TypeError`` instead of unpickling broken."""
    mem = MnemoweaveMemory.from_defaults(tmp_path / "p", user_id="peer", embedder="hash")
    mem.set([FIRST])
    again = pickle.loads(pickle.dumps(mem))
    try:
        assert isinstance(again, MnemoweaveMemory)
        assert texts(again.get()) == ["first message"]
    finally:
        again.close()
        mem.close()
    gate = WriteGate()
    with (
        Memory(tmp_path / "o", embedder=gate.embedder) as other,
        pytest.raises(TypeError, match="to_string"),
    ):
        pickle.dumps(MnemoweaveMemory.from_memory(other, user_id="peer"))


# -- tests/memory/test_memory_blocks_base.py and test_memory_base.py -------------------------------
def block(store: Memory, **kw: Any) -> MnemoweaveMemoryBlock:
    return MnemoweaveMemoryBlock(memory=store, user_id="peer", **kw)


def test_text_memory_block(store: Memory) -> None:
    """test_memory_blocks_base.py::test_text_memory_block: a str block's content is one text
    block in the formatted memory."""
    store.add("Peer likes green tea", user_id="peer", infer=False)
    mem = LlamaMemory.from_defaults(session_id="s", memory_blocks=[block(store, name="mw")])
    question = [ChatMessage(role="user", content="which tea do I like")]
    content = asyncio.run(mem._get_memory_blocks_content(question))
    assert "Peer likes green tea" in content["mw"]
    formatted, _ = asyncio.run(mem._format_memory_blocks({"mw": content["mw"]}))
    ((name, parts),) = formatted
    assert name == "mw"
    assert [p.text for p in parts] == [content["mw"]]


def test_memory_with_block_puts_recall_in_the_system_message(store: Memory) -> None:
    """test_memory_blocks_base.py::test_memory_with_all_block_types (our block only)."""
    store.add("Peer likes green tea", user_id="peer", infer=False)
    mem = LlamaMemory.from_defaults(session_id="s", memory_blocks=[block(store)])
    asyncio.run(mem.aput(ChatMessage(role="user", content="which tea do I like")))
    messages = asyncio.run(mem.aget())
    system = [m for m in messages if m.role == "system"]
    assert system
    assert "Peer likes green tea" in (system[0].blocks[0].text or "")


def test_insert_method_setting(store: Memory) -> None:
    """test_memory_blocks_base.py::test_insert_method_setting: USER puts the block in the user
    message, SYSTEM in a system message."""
    store.add("Peer likes green tea", user_id="peer", infer=False)
    for method, role in [(InsertMethod.USER, "user"), (InsertMethod.SYSTEM, "system")]:
        mem = LlamaMemory.from_defaults(
            session_id=f"s-{role}", memory_blocks=[block(store)], insert_method=method
        )
        asyncio.run(mem.aput(ChatMessage(role="user", content="which tea do I like")))
        messages = asyncio.run(mem.aget())
        holders = [m for m in messages if "Peer likes green tea" in (m.content or "")]
        assert holders
        assert all(m.role == role for m in holders)


def test_truncation_of_content_blocks(store: Memory) -> None:
    """test_memory_blocks_base.py::test_truncation_of_content_blocks: ``atruncate`` returns
    smaller content (ours: the block re-rendered without its weakest memory), and ``None``
    when nothing fits."""
    store.add("Peer likes green tea", user_id="peer", infer=False)
    store.add("Peer likes black coffee", user_id="peer", infer=False)
    mw = block(store)
    question = [ChatMessage(role="user", content="green tea")]
    full = asyncio.run(mw.aget(question))
    assert "green tea" in full
    assert "black coffee" in full
    smaller = asyncio.run(mw.atruncate(full, 5))
    assert smaller is not None
    assert "green tea" in smaller
    assert "black coffee" not in smaller
    assert asyncio.run(mw.atruncate(full, mw.count_tokens(full))) is None


def test_block_read_right_after_a_flushed_write_sees_it(tmp_path: Path) -> None:
    """test_memory_base.py (flush to blocks, then aget): a turn the FIFO flushed into our
    block (a background remember, held back here) is recalled by the very next read."""
    gate = WriteGate()
    store = Memory(tmp_path / "g", embedder=gate.embedder)
    try:
        mw = block(store)  # background=True, the default
        asyncio.run(mw.aput([ChatMessage(role="user", content="I keep bees in Porto")]))
        assert gate.held.wait(60)
        with gate.open_when_read_waits():
            got = asyncio.run(mw.aget([ChatMessage(role="user", content="what do I keep")]))
        assert "I keep bees in Porto" in got
    finally:
        gate.open()
        store.close()


def test_block_stores_by_the_raw_policy(store: Memory) -> None:
    """Not upstream: the kit's raw-storage policy in the block (greetings, bare questions and
    replies are not memories without an LLM)."""
    mw = block(store, background=False)
    turn = [
        ChatMessage(role="user", content="Hello!"),
        ChatMessage(role="user", content="I keep bees in Porto"),
        ChatMessage(role="assistant", content="Noted."),
        ChatMessage(role="user", content="Any tips?"),
    ]
    asyncio.run(mw.aput(turn))
    assert [m.memory for m in store.get_all(user_id="peer").results] == ["I keep bees in Porto"]


# -- tests/chat_engine/test_simple.py --------------------------------------------------------------
def test_simple_chat_engine_with_memory(store: Memory, recording_llm: Any) -> None:
    """chat_engine/test_simple.py::test_simple_chat_engine (with our memory): chat, then the
    history holds the turn, and a new engine on the same store recalls it."""
    llm = recording_llm("Noted.", "You keep bees.")
    engine = SimpleChatEngine.from_defaults(llm=llm, memory=buffer(store))
    assert str(engine.chat("I keep bees in Porto")) == "Noted."
    assert texts(engine.chat_history) == ["I keep bees in Porto", "Noted."]
    fresh = SimpleChatEngine.from_defaults(llm=llm, memory=buffer(store, session_id="two"))
    assert str(fresh.chat("what do I keep")) == "You keep bees."
    assert "I keep bees in Porto" in llm.prompts[-1]
    engine.reset()
    assert engine.chat_history == []


def test_next_get_recalls_the_turn_just_remembered_in_the_background(tmp_path: Path) -> None:
    """Not upstream: read-your-writes through ``MnemoweaveMemory`` (background turns)."""
    gate = WriteGate()
    store = Memory(tmp_path / "g", embedder=gate.embedder)
    try:
        mem = MnemoweaveMemory.from_memory(store, user_id="peer")  # background=True
        fresh = MnemoweaveMemory.from_memory(store, user_id="peer", session_id="other")
        bees = ChatMessage(role=MessageRole.USER, content="I keep bees in Porto")
        mem.put_messages([bees, ANSWER])
        assert gate.held.wait(60)
        with gate.open_when_read_waits():
            got = fresh.get(input="what do I keep")
        assert "I keep bees in Porto" in (got[0].content or "")
    finally:
        gate.open()
        store.close()
