"""A LlamaIndex ReActAgent with mnemoweave memory: facts from one run are recalled in the next.

    await agent.run(user_msg, memory=memory)

`StandInLLM` plays the model offline: it answers in ReAct format with the facts it finds
in mnemoweave's block in its prompt (swap in a real LLM, e.g. llama-index-llms-openai, for
real answers). Data under $MNEMOWEAVE_HOME when set, else a temporary directory.

    python examples/llamaindex_agent.py
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from typing import Any

from llama_index.core.agent.workflow import ReActAgent
from llama_index.core.llms import CompletionResponse, CustomLLM, LLMMetadata

from mnemoweave import Memory
from mnemoweave_adapters import unquote_block
from mnemoweave_llamaindex import MnemoweaveMemory

DATA = os.environ.get("MNEMOWEAVE_HOME") or tempfile.mkdtemp(prefix="mnemoweave-llamaindex-")


class StandInLLM(CustomLLM):
    """Answers "Thought: ... Answer: ..." quoting the memories it was shown."""

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(model_name="stand-in")

    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        start = prompt.find("<mnemoweave-memories>")
        facts = unquote_block(prompt[start:]) if start >= 0 else []
        answer = "You told me: " + "; ".join(facts) if facts else "I don't know you yet."
        return CompletionResponse(text=f"Thought: I can answer directly.\nAnswer: {answer}")

    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> Any:
        yield self.complete(prompt, formatted, **kwargs)


async def main() -> None:
    store = Memory(DATA)
    agent = ReActAgent(tools=[], llm=StandInLLM(), system_prompt="You are Ada's assistant.")

    first = MnemoweaveMemory.from_memory(store, user_id="ada", session_id="run-1")
    answer = await agent.run(user_msg="I'm vegetarian and I cycle to work.", memory=first)
    print("run 1:", answer)
    await first.aflush()  # the turn is remembered in the background; wait for it here

    second = MnemoweaveMemory.from_memory(store, user_id="ada", session_id="run-2")
    answer = await agent.run(user_msg="Plan a vegetarian lunch near my work.", memory=second)
    print("run 2:", answer)
    await second.aflush()
    store.close()


if __name__ == "__main__":
    asyncio.run(main())
