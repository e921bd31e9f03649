"""``create_agent`` with ``MnemoweaveMiddleware``: recall before the model, remember after.

Before each model call the middleware recalls what mnemoweave knows that is relevant to the
latest human message and appends it, as a quoted block of data, to that call's system
message; after the run it remembers the exchange (in the background). A callback prints what
the model actually received. The model is LangChain's scripted GenericFakeChatModel, so this
runs offline -- pass any chat model instead. The user id comes from the run's context, so
one agent serves many users.

    python examples/langchain_middleware.py

Data lives under $MNEMOWEAVE_HOME when set, else in a temporary directory.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from typing import Any

from langchain.agents import create_agent
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel

from mnemoweave import Memory
from mnemoweave_adapters import MemoryBinding
from mnemoweave_langchain import MnemoweaveMiddleware

DATA = os.environ.get("MNEMOWEAVE_HOME") or tempfile.mkdtemp(prefix="mnemoweave-middleware-")


@dataclass
class Context:
    user_id: str


class ShowPrompt(BaseCallbackHandler):
    """Prints the system message each model call receives."""

    def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
        system = [m for m in messages[0] if m.type == "system"]
        print("  model's system message:\n    " + system[0].content.replace("\n", "\n    "))


with Memory(DATA) as memory:
    # What an earlier session (or another framework sharing this directory) stored.
    memory.add("I'm allergic to peanuts and I cook for two.", user_id="sam")
    memory.add("I love spicy food.", user_id="kim")

    agent = create_agent(
        GenericFakeChatModel(messages=iter(["Try a peanut-free Thai green curry for two."])),
        tools=[],
        system_prompt="You are a cooking assistant.",
        middleware=[MnemoweaveMiddleware(MemoryBinding(memory, user_id="guest"))],
        context_schema=Context,
    )
    print("sam asks for a dinner idea")
    result = agent.invoke(
        {
            "messages": [
                {
                    "role": "user",
                    "content": "Any dinner idea for tonight? My partner is vegetarian.",
                }
            ]
        },
        context=Context(user_id="sam"),
        config={"callbacks": [ShowPrompt()]},
    )
    print("  answer:", result["messages"][-1].content)

    # The exchange was remembered in the background; without an LLM the user's statements are
    # kept verbatim, not bare questions or the model's reply (the kit's raw-storage policy;
    # pass Memory(llm=...) to extract facts instead).
    memory.flush()
    remembered = [item.memory for item in memory.get_all(user_id="sam").results]
    print("sam's memories now:", remembered)
    print("kim's memories untouched:", memory.count(user_id="kim"))
print(f"data kept in {DATA}")
