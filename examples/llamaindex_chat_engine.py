"""A LlamaIndex SimpleChatEngine that remembers a user across restarts, with mnemoweave.

Two "processes" share one mnemoweave directory: the first is told a fact; the second (new
store handle, new memory, new engine) is asked about it. MockLLM echoes the prompt it gets,
so the second answer shows exactly what a real model would see: mnemoweave's recalled facts
in one system message, then the resumed conversation. Offline; no API key.

    python examples/llamaindex_chat_engine.py

Data lives under $MNEMOWEAVE_HOME when set, else in a temporary directory.
"""

from __future__ import annotations

import os
import tempfile

from llama_index.core.chat_engine import SimpleChatEngine
from llama_index.core.llms import MockLLM

from mnemoweave import Memory
from mnemoweave_llamaindex import MnemoweaveMemory

DATA = os.environ.get("MNEMOWEAVE_HOME") or tempfile.mkdtemp(prefix="mnemoweave-llamaindex-")


def first_session() -> None:
    store = Memory(DATA)
    memory = MnemoweaveMemory.from_memory(store, user_id="ada")
    engine = SimpleChatEngine.from_defaults(llm=MockLLM(max_tokens=4), memory=memory)
    engine.chat("Hi! I'm Ada. I'm allergic to peanuts and I live in Porto.")
    store.close()  # waits for the background remember (the turn becomes memories)


def second_session() -> None:
    store = Memory(DATA)  # as if the process had restarted: all new objects
    memory = MnemoweaveMemory.from_memory(store, user_id="ada")
    print(f"resumed history: {len(memory.get_all())} messages")
    engine = SimpleChatEngine.from_defaults(llm=MockLLM(), memory=memory)
    reply = engine.chat("Can you suggest a snack for me?")
    print("the model was sent:")
    print(reply)
    store.close()


if __name__ == "__main__":
    first_session()
    second_session()
