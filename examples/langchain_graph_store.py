"""A LangGraph graph whose nodes keep long-term notes in mnemoweave through ``runtime.store``.

``MnemoweaveStore`` is an ordinary LangGraph ``BaseStore``: compile the graph with
``store=MnemoweaveStore(memory)`` and nodes use ``runtime.store.put / search``. The first run
writes notes under ``("users", user_id, "notes")``; a second run -- a new store handle and a
freshly compiled graph, as after a restart -- finds them with mnemoweave's hybrid search. The
namespace ``("users", "alex", ...)`` is mnemoweave's ``user_id="alex"``, so the same notes are
visible to plain ``Memory.search`` and to every other mnemoweave adapter. Offline; no model.

    python examples/langchain_graph_store.py

Data lives under $MNEMOWEAVE_HOME when set, else in a temporary directory.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from dataclasses import dataclass
from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from mnemoweave import Memory
from mnemoweave_langchain import MnemoweaveStore

DATA = os.environ.get("MNEMOWEAVE_HOME") or tempfile.mkdtemp(prefix="mnemoweave-langgraph-")


@dataclass
class Context:
    user_id: str


class State(TypedDict, total=False):
    notes: list[str]
    question: str
    answers: list[str]


def remember(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    namespace = ("users", runtime.context.user_id, "notes")
    for note in state.get("notes", []):
        runtime.store.put(namespace, uuid.uuid4().hex, {"text": note, "source": "chat"})
    return {}


def recall(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    if not state.get("question"):
        return {}
    hits = runtime.store.search(
        ("users", runtime.context.user_id), query=state["question"], limit=2
    )
    return {"answers": [hit.value["text"] for hit in hits]}


def build(memory: Memory) -> Any:
    # Only the "text" field is embedded and searched; the whole value is stored.
    store = MnemoweaveStore(memory, index={"fields": ["text"]})
    graph = StateGraph(State, context_schema=Context)
    graph.add_node("remember", remember)
    graph.add_node("recall", recall)
    graph.add_edge(START, "remember")
    graph.add_edge("remember", "recall")
    graph.add_edge("recall", END)
    return graph.compile(store=store)


with Memory(DATA) as memory:
    build(memory).invoke(
        {"notes": ["Alex's flight to Oslo leaves Friday at 07:40", "Alex prefers aisle seats"]},
        context=Context("alex"),
    )
    print("run 1: stored 2 notes for alex")

with Memory(DATA) as memory:  # a restart: new handle, new store, new graph
    graph = build(memory)
    out = graph.invoke({"question": "When does the Oslo flight leave?"}, context=Context("alex"))
    print("run 2 (alex):", out["answers"][0])
    out = graph.invoke({"question": "When does the Oslo flight leave?"}, context=Context("sam"))
    print("run 2 (sam):", out.get("answers"))
    same = memory.search("seat preference", user_id="alex", limit=1).results[0]
    print("plain mnemoweave search for alex:", same.memory)
    print("namespaces:", graph.store.list_namespaces(prefix=("users",)))
print(f"data kept in {DATA}")
