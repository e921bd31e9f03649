"""End to end through LlamaIndex's own chat engines and agents, with a prompt-recording LLM."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from llama_index.core import Document, VectorStoreIndex
from llama_index.core.agent.workflow import ReActAgent
from llama_index.core.chat_engine import CondensePlusContextChatEngine, SimpleChatEngine
from llama_index.core.embeddings import MockEmbedding
from llama_index.core.llms import ChatMessage, MessageRole

from mnemoweave import Memory
from mnemoweave_llamaindex import MnemoweaveMemory

# LlamaIndex's workflow runner lists the agent's (a pydantic model's) members with
# inspect.getmembers, which touches pydantic's deprecated attributes: not our warnings.
pytestmark = [
    pytest.mark.filterwarnings("ignore::pydantic.warnings.PydanticDeprecatedSince20"),
    pytest.mark.filterwarnings("ignore::pydantic.warnings.PydanticDeprecatedSince211"),
]

FIRST_SESSION = textwrap.dedent(
    """
    import sys
    from llama_index.core.chat_engine import SimpleChatEngine
    from llama_index.core.llms import MockLLM
    from mnemoweave import Memory
    from mnemoweave_llamaindex import MnemoweaveMemory

    store = Memory(sys.argv[1], embedder="hash")
    memory = MnemoweaveMemory.from_memory(store, user_id="ada")
    engine = SimpleChatEngine.from_defaults(llm=MockLLM(max_tokens=3), memory=memory)
    print(engine.chat("Remember this: my cat is called Biscuit and hates cucumbers."))
    store.close()  # waits for the background add, as interpreter exit would
    """
)


def test_simple_chat_engine_fact_survives_a_process_restart(
    tmp_path: Path, recording_llm: Any, find_block: Any
) -> None:
    path = tmp_path / "shared-store"
    script = tmp_path / "first_session.py"
    script.write_text(FIRST_SESSION)
    done = subprocess.run(
        [sys.executable, str(script), str(path)],
        capture_output=True,
        text=True,
        timeout=240,
        env=dict(os.environ),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "text text text" in done.stdout

    # A new process's worth of objects: new store handle, memory, engine and LLM.
    store = Memory(path, embedder="hash")
    try:
        memory = MnemoweaveMemory.from_memory(store, user_id="ada")
        llm = recording_llm("Biscuit would not like that.")
        engine = SimpleChatEngine.from_defaults(llm=llm, memory=memory)
        reply = engine.chat("Should I give my cat cucumbers?")

        assert str(reply) == "Biscuit would not like that."
        prompt = llm.prompts[-1]
        assert "Biscuit" in find_block(prompt)  # long-term recall, in the quoted block
        # The earlier turn came back as short-term history too, before the new question.
        assert prompt.index("user: Remember this: my cat") < prompt.index("user: Should I give")
    finally:
        store.close()


def test_recall_outlives_the_short_term_window(
    store: Memory, recording_llm: Any, find_block: Any
) -> None:
    memory = MnemoweaveMemory.from_memory(store, user_id="ada", token_limit=120, background=False)
    llm = recording_llm("Sure.")
    engine = SimpleChatEngine.from_defaults(llm=llm, memory=memory)
    engine.chat("My passport number ends in 4471.")
    for n in range(12):
        engine.chat(f"Tell me fact number {n} about the ocean and its many tides.")

    engine.chat("What does my passport number end in?")

    prompt = llm.prompts[-1]
    history = prompt.replace(find_block(prompt), "")
    assert "4471" not in history  # trimmed out of the short-term history...
    assert "4471" in find_block(prompt)  # ...but recalled from long-term memory


def test_simple_chat_engine_async_path(store: Memory, recording_llm: Any, find_block: Any) -> None:
    store.add("Ada's dog is called Rex", user_id="ada", run_id="old", infer=False)
    memory = MnemoweaveMemory.from_memory(store, user_id="ada")
    llm = recording_llm("Rex!")
    engine = SimpleChatEngine.from_defaults(llm=llm, memory=memory)

    reply = asyncio.run(engine.achat("What is my dog called?"))

    assert str(reply) == "Rex!"
    assert "Rex" in find_block(llm.prompts[-1])
    memory.flush()
    assert store.get_messages(user_id="ada")[-1]["content"] == "Rex!"


def test_condense_plus_context_engine_sees_recall_and_retrieved_context(
    store: Memory, recording_llm: Any, find_block: Any
) -> None:
    store.add("Ada is allergic to peanuts", user_id="ada", run_id="old", infer=False)
    index = VectorStoreIndex.from_documents(
        [Document(text="The bakery sells peanut cookies and oat bars.")],
        embed_model=MockEmbedding(embed_dim=8),
    )
    memory = MnemoweaveMemory.from_memory(store, user_id="ada", background=False)
    memory.put_messages(
        [
            ChatMessage(role=MessageRole.USER, content="Hi!"),
            ChatMessage(role=MessageRole.ASSISTANT, content="Hello Ada."),
        ]
    )
    llm = recording_llm("Which snack is safe for my peanut allergy?", "Try the oat bars.")
    engine = CondensePlusContextChatEngine.from_defaults(
        retriever=index.as_retriever(similarity_top_k=1), llm=llm, memory=memory
    )

    reply = engine.chat("Which snack can I buy, given my peanut allergy?")

    assert str(reply) == "Try the oat bars."
    answer_prompt = llm.prompts[-1]
    assert "allergic to peanuts" in find_block(answer_prompt)
    assert "oat bars" in answer_prompt  # the retriever's context reached the same prompt
    assert "allergic to peanuts" in find_block(llm.prompts[0])  # the condense step saw it too
    turn = [m["content"] for m in store.get_messages(user_id="ada")[-2:]]
    assert turn == ["Which snack can I buy, given my peanut allergy?", "Try the oat bars."]


def _run_agent(agent: ReActAgent, question: str, memory: MnemoweaveMemory) -> str:
    async def go() -> str:
        return str(await agent.run(user_msg=question, memory=memory))

    return asyncio.run(go())


def test_react_agent_run_sees_recalled_facts(
    store: Memory, recording_llm: Any, find_block: Any
) -> None:
    store.add("Ada's flight to Oslo leaves at 07:40", user_id="ada", run_id="old", infer=False)
    memory = MnemoweaveMemory.from_memory(store, user_id="ada")
    llm = recording_llm("Thought: I can answer from memory.\nAnswer: At 07:40.")
    agent = ReActAgent(tools=[], llm=llm, system_prompt="You are Ada's travel assistant.")

    answer = _run_agent(agent, "When does my flight to Oslo leave?", memory)

    assert answer == "At 07:40."
    assert "07:40" in find_block(llm.prompts[-1])
    memory.flush()
    turn = store.get_messages(user_id="ada")
    assert [m["role"] for m in turn] == ["user", "assistant"]
    assert turn[0]["content"] == "When does my flight to Oslo leave?"
    assert "Answer: At 07:40." in turn[1]["content"]  # ReAct stores its reasoning as the reply


def test_react_agent_without_system_prompt_needs_user_insertion(
    store: Memory, recording_llm: Any, find_block: Any
) -> None:
    # ReActAgent (0.14) drops a leading system message when it has no system_prompt, so
    # recall goes into the latest user message instead.
    store.add("Ada's locker code is 3312", user_id="ada", run_id="old", infer=False)
    memory = MnemoweaveMemory.from_memory(store, user_id="ada", insert_method="user")
    llm = recording_llm("Thought: I remember it.\nAnswer: 3312.")
    agent = ReActAgent(tools=[], llm=llm)

    assert _run_agent(agent, "What is my locker code?", memory) == "3312."
    prompt = llm.prompts[-1]
    assert "3312" in find_block(prompt)
    assert prompt.index("<mnemoweave-memories>") < prompt.index("What is my locker code?")


def test_react_agent_remembers_across_runs(
    store: Memory, recording_llm: Any, find_block: Any
) -> None:
    memory = MnemoweaveMemory.from_memory(store, user_id="ada", token_limit=400)
    llm = recording_llm("Thought: Noted.\nAnswer: Noted, blue it is.")
    agent = ReActAgent(tools=[], llm=llm, system_prompt="You are helpful.")
    _run_agent(agent, "My favourite colour is cobalt blue.", memory)
    memory.flush()

    fresh = MnemoweaveMemory.from_memory(store, user_id="ada", token_limit=400)
    fresh.reset()  # a clean short-term history: only long-term recall can bring it back
    llm.replies = ["Thought: I recall it.\nAnswer: Cobalt blue."]
    assert _run_agent(agent, "What is my favourite colour, cobalt?", fresh) == "Cobalt blue."
    assert "cobalt blue" in find_block(llm.prompts[-1])


def test_streaming_chat_puts_the_streamed_answer(store: Memory, recording_llm: Any) -> None:
    memory = MnemoweaveMemory.from_memory(store, user_id="ada")
    engine = SimpleChatEngine.from_defaults(llm=recording_llm("Jazz it is."), memory=memory)

    response = engine.stream_chat("I like jazz")
    assert "".join(response.response_gen) == "Jazz it is."

    memory.flush()  # the stream's writer thread put the answer before the stream ended
    window = [(m["role"], m["content"]) for m in store.get_messages(user_id="ada")]
    assert window == [("user", "I like jazz"), ("assistant", "Jazz it is.")]
