"""CondensePlusContextChatEngine: documents from a retriever plus what mnemoweave remembers.

The engine retrieves menu items for the question while MnemoweaveMemory adds what it knows
about the user (told in an earlier session, under a different session_id), so one prompt
holds both. MockLLM echoes its prompt, so the answer shows what a real model would see.
Offline (MockLLM, MockEmbedding); data under $MNEMOWEAVE_HOME when set, else a temp dir.

    python examples/llamaindex_condense_plus_context.py
"""

from __future__ import annotations

import os
import tempfile

from llama_index.core import Document, VectorStoreIndex
from llama_index.core.chat_engine import CondensePlusContextChatEngine
from llama_index.core.embeddings import MockEmbedding
from llama_index.core.llms import ChatMessage, MockLLM

from mnemoweave import Memory
from mnemoweave_adapters import unquote_block
from mnemoweave_llamaindex import MnemoweaveMemory

DATA = os.environ.get("MNEMOWEAVE_HOME") or tempfile.mkdtemp(prefix="mnemoweave-llamaindex-")
MENU = [
    "Satay skewers with peanut sauce.",
    "Grilled halloumi with oat crackers.",
    "Pastel de nata, baked every morning.",
]


def main() -> None:
    store = Memory(DATA)
    # An earlier conversation (session "monday") taught mnemoweave about Ada.
    monday = MnemoweaveMemory.from_memory(store, user_id="ada", session_id="monday")
    monday.put(ChatMessage(role="user", content="Note for later: I am allergic to peanuts."))
    monday.put(ChatMessage(role="assistant", content="Noted!"))
    monday.flush()

    # Today's conversation: fresh history, same user, so the allergy is recalled.
    memory = MnemoweaveMemory.from_memory(store, user_id="ada", session_id="friday")
    index = VectorStoreIndex.from_documents(
        [Document(text=item) for item in MENU], embed_model=MockEmbedding(embed_dim=16)
    )
    engine = CondensePlusContextChatEngine.from_defaults(
        retriever=index.as_retriever(similarity_top_k=3),
        llm=MockLLM(),
        memory=memory,
        system_prompt="You are a waiter at Café Ribeira.",
    )
    # Without an LLM, mnemoweave keeps the user's statements verbatim, not bare questions
    # (the kit's raw-storage policy), so today's turn says something worth remembering.
    reply = str(engine.chat("I'm hungry today. What should I order from the menu?"))

    recalled = unquote_block(reply[reply.find("<mnemoweave-memories>") :])
    print("mnemoweave recalled:", recalled)
    print("menu context in prompt:", all(item in reply for item in MENU))
    memory.flush()
    print("today's turn remembered:", store.count(user_id="ada", run_id="friday") == 1)
    store.close()


if __name__ == "__main__":
    main()
