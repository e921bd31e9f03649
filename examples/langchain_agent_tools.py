"""A LangChain agent that manages its own long-term memory with mnemoweave's memory tools.

Two "processes" share one mnemoweave directory. In the first, the agent hears a fact and calls
``save_memory``; in the second (new store handle, new agent) it calls ``search_memory`` and
gets the fact back as a quoted block of data. The chat model is LangChain's scripted
GenericFakeChatModel, so this runs offline with no API key -- swap in any tool-calling model
(e.g. ``init_chat_model("openai:gpt-4o-mini")``) and drop the scripts to use it for real.

    python examples/langchain_agent_tools.py

Data lives under $MNEMOWEAVE_HOME when set, else in a temporary directory.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from typing import Any

from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, ToolMessage

from mnemoweave import Memory
from mnemoweave_adapters import MemoryBinding
from mnemoweave_langchain import memory_tools

DATA = os.environ.get("MNEMOWEAVE_HOME") or tempfile.mkdtemp(prefix="mnemoweave-langchain-")
SYSTEM = "You are a helpful assistant. Save lasting facts about the user; search before guessing."


class ScriptedToolModel(GenericFakeChatModel):
    """LangChain's fake chat model, allowed to 'call' tools by replaying scripted messages."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedToolModel:
        return self


CALL_IDS = itertools.count(1)


def tool_call(name: str, **args: Any) -> AIMessage:
    call = {"name": name, "args": args, "id": f"call_{next(CALL_IDS)}"}
    return AIMessage(content="", tool_calls=[call])


def run(question: str, replies: list[AIMessage | str]) -> None:
    memory = Memory(DATA)  # a fresh handle on the shared directory, as a new process would open
    agent = create_agent(
        ScriptedToolModel(messages=iter(replies)),
        tools=memory_tools(MemoryBinding(memory, user_id="alex")),
        system_prompt=SYSTEM,
    )
    result = agent.invoke({"messages": [{"role": "user", "content": question}]})
    for message in result["messages"]:
        if isinstance(message, ToolMessage):
            print(f"  tool {message.name} ->\n    " + message.content.replace("\n", "\n    "))
        elif getattr(message, "tool_calls", None):
            for call in message.tool_calls:
                print(f"  ai calls {call['name']}({call['args']})")
        else:
            print(f"  {message.type}: {message.content}")
    memory.close()


print("session 1")
run(
    "Hi! I'm Alex, I'm vegetarian and I just moved to Porto.",
    [
        tool_call("save_memory", content="Alex is vegetarian"),
        tool_call("save_memory", content="Alex lives in Porto"),
        "Welcome to Porto, Alex! I'll remember that you're vegetarian.",
    ],
)
print("session 2")
run(
    "Can you suggest a place for dinner tonight?",
    [
        tool_call("search_memory", query="Alex diet and city", limit=3),
        "How about a vegetarian tasca in Porto's Baixa?",
    ],
)
print(f"data kept in {DATA}")
