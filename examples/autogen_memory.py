"""AutoGen AgentChat + mnemoweave: an AssistantAgent remembers a fact from one run to the next.

Offline: a tiny stand-in model replaces a real ``ChatCompletionClient`` (use e.g.
``autogen_ext.models.openai.OpenAIChatCompletionClient`` in real code). Data goes to
$MNEMOWEAVE_HOME, or a fresh temporary folder when it is not set.

    pip install "mnemoweave-adapters[autogen]"
    python examples/autogen_memory.py
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncGenerator, Sequence
from typing import Any

from autogen_agentchat.agents import AssistantAgent
from autogen_core.models import (
    ChatCompletionClient,
    CreateResult,
    LLMMessage,
    ModelInfo,
    RequestUsage,
    SystemMessage,
)

from mnemoweave_adapters import OPEN_TAG, unquote_block
from mnemoweave_adapters.autogen import MnemoweaveMemory

HOME = os.environ.get("MNEMOWEAVE_HOME") or tempfile.mkdtemp(prefix="mnemoweave-autogen-")


class StandInModel(ChatCompletionClient):
    """Answers with the remembered facts it finds in its prompt (a real model would reason)."""

    async def create(self, messages: Sequence[LLMMessage], **_: Any) -> CreateResult:
        blocks = [m.content for m in messages if isinstance(m, SystemMessage)]
        facts = [f for b in blocks if b.startswith(OPEN_TAG) for f in unquote_block(b)]
        text = f"I remember: {facts[0]}" if facts else "Nice to meet you!"
        return CreateResult(
            finish_reason="stop", content=text, usage=self.total_usage(), cached=False
        )

    async def create_stream(
        self, messages: Sequence[LLMMessage], **kw: Any
    ) -> AsyncGenerator[Any, None]:
        yield await self.create(messages, **kw)

    async def close(self) -> None:
        return None

    def actual_usage(self) -> RequestUsage:
        return RequestUsage(prompt_tokens=0, completion_tokens=0)

    def total_usage(self) -> RequestUsage:
        return RequestUsage(prompt_tokens=0, completion_tokens=0)

    def count_tokens(self, messages: Sequence[LLMMessage], **_: Any) -> int:
        return 0

    def remaining_tokens(self, messages: Sequence[LLMMessage], **_: Any) -> int:
        return 1_000_000

    @property
    def capabilities(self) -> Any:
        return self.model_info

    @property
    def model_info(self) -> ModelInfo:
        return ModelInfo(
            vision=False,
            function_calling=False,
            json_output=False,
            family="unknown",
            structured_output=False,
        )


# --- the snippet -----------------------------------------------------------------------------
async def run(task: str) -> str:
    memory = MnemoweaveMemory(HOME, user_id="alex")  # recall is injected before every inference
    agent = AssistantAgent("assistant", model_client=StandInModel(), memory=[memory])
    result = await agent.run(task=task)
    await memory.remember_messages(result)  # AgentChat never calls add(): remember the run
    await memory.close()
    return result.messages[-1].to_text()


async def main() -> None:
    print("run 1:", await run("Hi! My dog is called Rex and he loves frisbees."))
    print("run 2:", await run("What is my dog called?"))
    print(f"data kept in {HOME}")


if __name__ == "__main__":
    asyncio.run(main())
