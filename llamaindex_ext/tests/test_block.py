"""MnemoweaveMemoryBlock inside LlamaIndex's ``Memory``: FIFO flushes, recall, truncation."""

from __future__ import annotations

import asyncio
from typing import Any

from llama_index.core.chat_engine import SimpleChatEngine
from llama_index.core.llms import ChatMessage, MessageRole
from llama_index.core.memory import Memory as LlamaMemory

from mnemoweave import Memory
from mnemoweave_adapters import unquote_block
from mnemoweave_llamaindex import MnemoweaveMemoryBlock

FACTS = [
    "Ada's bicycle is a green gravel bike",
    "Ada rides her bicycle to work on Mondays",
    "Ada's bicycle has a broken bell",
    "Ada bought the bicycle in Ghent",
    "Ada wants new bicycle tyres",
]


def user(text: str) -> ChatMessage:
    return ChatMessage(role=MessageRole.USER, content=text)


def test_recall_reaches_the_prompt_once_the_fifo_flushes(
    store: Memory, recording_llm: Any, find_block: Any
) -> None:
    block = MnemoweaveMemoryBlock(memory=store, user_id="ada", background=False)
    memory = LlamaMemory.from_defaults(
        session_id="chat-1",
        token_limit=300,
        chat_history_token_ratio=0.3,
        token_flush_size=20,
        memory_blocks=[block],
    )
    llm = recording_llm("OK.")
    engine = SimpleChatEngine.from_defaults(llm=llm, memory=memory)

    engine.chat("My library card number is 88-2041.")
    assert store.count(user_id="ada") == 0  # still in the short-term FIFO
    for n in range(8):
        engine.chat(f"Filler message {n} about weather, trains and breakfast plans.")
    assert store.count(user_id="ada") > 0  # the FIFO flushed into the block

    engine.chat("What is my library card number?")

    prompt = llm.prompts[-1]
    assert "88-2041" in find_block(prompt)
    assert "<mnemoweave>" in prompt  # placed by Memory's own template, under the block's name
    assert "My library card number" not in prompt.replace(find_block(prompt), "")
    sessions = {item.metadata.get("session_id") for item in store.get_all(user_id="ada").results}
    assert sessions == {"chat-1"}


def test_flushed_user_messages_are_remembered_not_tool_traffic(store: Memory) -> None:
    block = MnemoweaveMemoryBlock.from_memory(store, user_id="ada", background=False)
    flushed = [
        user("Convert 3 miles"),
        ChatMessage(role=MessageRole.TOOL, content="4.83 km", additional_kwargs={"x": 1}),
        ChatMessage(role=MessageRole.ASSISTANT, content="That is 4.83 km."),
    ]
    asyncio.run(block.aput(flushed, from_short_term_memory=True))
    remembered = sorted(item.memory for item in store.get_all(user_id="ada").results)
    assert remembered == ["Convert 3 miles"]  # no mnemoweave LLM: user messages only

    replies = MnemoweaveMemoryBlock.from_memory(
        store, user_id="bob", background=False, remember_replies=True
    )
    asyncio.run(replies.aput(flushed, from_short_term_memory=True))
    remembered = sorted(item.memory for item in store.get_all(user_id="bob").results)
    assert remembered == ["Convert 3 miles", "That is 4.83 km."]


def _block_memories(memory: LlamaMemory, question: str, find_block: Any) -> list[str]:
    system = memory.get(input=question)[0]
    assert system.role == MessageRole.SYSTEM
    return unquote_block(find_block(system.content))


def test_a_priority_block_is_truncated_weakest_memories_first(
    store: Memory, find_block: Any
) -> None:
    for fact in FACTS:
        store.add(fact, user_id="ada", infer=False)
    question = "Tell me about my bicycle"

    def memory_with(limit: int, priority: int) -> LlamaMemory:
        block = MnemoweaveMemoryBlock(memory=store, user_id="ada", priority=priority)
        return LlamaMemory.from_defaults(token_limit=limit, memory_blocks=[block])

    full = _block_memories(memory_with(10_000, 1), question, find_block)
    assert len(full) == len(FACTS)
    probe = MnemoweaveMemoryBlock(memory=store, user_id="ada")
    full_tokens = probe.count_tokens(asyncio.run(probe.aget([user(question)])))

    squeezed = _block_memories(memory_with(full_tokens - 20, 1), question, find_block)
    assert 0 < len(squeezed) < len(full)
    assert set(squeezed) <= set(full)

    never = _block_memories(memory_with(full_tokens - 20, 0), question, find_block)
    assert never == full  # priority 0: LlamaIndex never truncates the block

    gone = memory_with(40, 1).get(input=question)
    assert all(find_block(m.content or "") == "" for m in gone)


def test_truncate_only_shrinks_what_the_block_rendered(store: Memory) -> None:
    for fact in FACTS:
        store.add(fact, user_id="ada", infer=False)
    block = MnemoweaveMemoryBlock(memory=store, user_id="ada")
    rendered = asyncio.run(block.aget([user("my bicycle")]))

    assert asyncio.run(block.atruncate(rendered, 0)) == rendered
    shorter = asyncio.run(block.atruncate(rendered, 30))
    assert shorter is not None
    assert block.count_tokens(shorter) <= block.count_tokens(rendered) - 30
    assert asyncio.run(block.atruncate("something else", 5)) is None
    assert asyncio.run(block.atruncate(rendered, 10_000)) is None


def test_empty_or_textless_input_recalls_nothing(store: Memory) -> None:
    store.add("Ada likes figs", user_id="ada", infer=False)
    block = MnemoweaveMemoryBlock(memory=store, user_id="ada")
    assert asyncio.run(block.aget(None)) == ""
    assert asyncio.run(block.aget([ChatMessage(role=MessageRole.ASSISTANT, blocks=[])])) == ""
    # No user message: the latest text stands in as the query.
    assert "figs" in asyncio.run(block.aget([ChatMessage(role="assistant", content="figs")]))
