"""End to end through real CrewAI crews, with a recording fake LLM and no network at all."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from crewai import Agent, Crew, Task

from mnemoweave import Memory
from mnemoweave.testing import ScriptedOpenAIServer
from mnemoweave_adapters import CLOSE_TAG, OPEN_TAG, RawPolicy, unquote_block
from mnemoweave_crewai import MnemoweaveCrewMemory, mnemoweave_tools

FIRST_TASK = "Find out the user's favourite colour."
SECOND_TASK = "Pick a website theme in the user's favourite colour."


def run_crew(
    llm: Any, task: str, *, memory: Any = None, agent_memory: Any = None, tools: Any = ()
) -> str:
    agent = Agent(
        role="Designer",
        goal="Help the user",
        backstory="You design websites.",
        llm=llm,
        memory=agent_memory,
        tools=list(tools),
    )
    crew = Crew(
        agents=[agent],
        tasks=[Task(description=task, expected_output="One sentence.", agent=agent)],
        memory=memory if memory is not None else False,
    )
    return crew.kickoff().raw


def memory_block(prompt: str) -> str:
    """The recalled block CrewAI put into a task prompt ("" when there is none)."""
    if "Relevant memories:" not in prompt:
        return ""
    start = prompt.index(OPEN_TAG)
    return prompt[start : prompt.index(CLOSE_TAG, start) + len(CLOSE_TAG)]


def test_second_crew_prompt_contains_what_the_first_crew_remembered(
    tmp_path: Path, make_llm: Callable[..., Any], network_guard: list[Any]
) -> None:
    path = tmp_path / "shared"
    first_llm = make_llm("The user's favourite colour is teal.")
    with Memory(path, embedder="hash") as store:
        run_crew(first_llm, FIRST_TASK, memory=MnemoweaveCrewMemory(store, user_id="alice"))
    assert memory_block(first_llm.prompts[0]) == ""  # nothing known yet

    second_llm = make_llm("Use a teal theme.")
    with Memory(path, embedder="hash") as store:  # a new process would open it the same way
        answer = run_crew(
            second_llm, SECOND_TASK, memory=MnemoweaveCrewMemory(store, user_id="alice")
        )
        assert store.count(user_id="alice") == 2  # each crew remembered its task result
    assert answer == "Use a teal theme."
    block = memory_block(second_llm.prompts[0])
    assert "Relevant memories:\n" + OPEN_TAG in second_llm.prompts[0]
    (remembered,) = unquote_block(block)
    # Without an LLM the raw-storage policy keeps the final answer only (no Task:/Thought:).
    assert remembered == "The user's favourite colour is teal."
    assert network_guard == []


def test_mnemoweave_llm_turns_the_task_result_into_facts(
    tmp_path: Path, make_llm: Callable[..., Any], network_guard: list[Any]
) -> None:
    with ScriptedOpenAIServer() as server:
        server.script(
            {"operations": [{"op": "ADD", "id": None, "text": "Favourite colour is teal"}]},
            {"operations": [{"op": "NONE", "id": 0, "text": None}]},
        )
        llm = {"model": "scripted", "base_url": server.base_url, "api_key": "k"}
        with Memory(tmp_path / "facts", embedder="hash", llm=llm) as store:
            first_llm = make_llm("The user's favourite colour is teal.")
            run_crew(first_llm, FIRST_TASK, memory=MnemoweaveCrewMemory(store, user_id="alice"))
            second_llm = make_llm("Use a teal theme.")
            run_crew(second_llm, SECOND_TASK, memory=MnemoweaveCrewMemory(store, user_id="alice"))
            assert [i.memory for i in store.get_all(user_id="alice").results] == [
                "Favourite colour is teal"
            ]
        assert len(server.chat_requests) == 2  # one mnemoweave call per task, nothing else
        assert "favourite colour is teal" in server.chat_requests[0].messages[-1]["content"]
    assert unquote_block(memory_block(second_llm.prompts[0])) == ["Favourite colour is teal"]
    # CrewAI's own LLM only ever saw the task prompts: no extraction or analysis calls.
    assert (len(first_llm.prompts), len(second_llm.prompts)) == (1, 1)
    assert network_guard == []


def test_agent_level_memory(
    store: Memory, make_llm: Callable[..., Any], network_guard: list[Any]
) -> None:
    memory = MnemoweaveCrewMemory(store, user_id="bob")
    run_crew(make_llm("Bob's favourite colour is orange."), FIRST_TASK, agent_memory=memory)
    second_llm = make_llm("Orange it is.")
    run_crew(second_llm, SECOND_TASK, agent_memory=MnemoweaveCrewMemory(store, user_id="bob"))
    assert "orange" in " ".join(unquote_block(memory_block(second_llm.prompts[0])))
    other_llm = make_llm("No idea.")
    run_crew(other_llm, SECOND_TASK, agent_memory=MnemoweaveCrewMemory(store, user_id="carol"))
    assert memory_block(other_llm.prompts[0]) == ""  # another user's crew sees nothing
    assert network_guard == []


def test_kickoff_for_each_copies_share_the_store(
    store: Memory, make_llm: Callable[..., Any], network_guard: list[Any]
) -> None:
    agent = Agent(role="Guide", goal="Help", backstory="A guide.", llm=make_llm())
    crew = Crew(
        agents=[agent],
        tasks=[Task(description="Describe {place}.", expected_output="A line.", agent=agent)],
        memory=MnemoweaveCrewMemory(store, user_id="fay", raw_policy=RawPolicy.keep_all()),
    )
    crew.kickoff_for_each(inputs=[{"place": "Lisbon"}, {"place": "Oslo"}])
    texts = sorted(i.memory for i in store.get_all(user_id="fay").results)
    assert [t.split("\n", 1)[0] for t in texts] == [
        "Task: Describe Lisbon.",
        "Task: Describe Oslo.",
    ]
    assert network_guard == []


def action(tool: str, arguments: dict[str, Any]) -> str:
    return f"Thought: I should use a tool.\nAction: {tool}\nAction Input: {json.dumps(arguments)}"


def test_crewai_memory_tools_run_on_mnemoweave(
    store: Memory, make_llm: Callable[..., Any], network_guard: list[Any]
) -> None:
    """CrewAI adds its own search/save tools for crew memory; they reach mnemoweave."""
    saver = make_llm(
        action("save_to_memory", {"contents": ["The user is allergic to shellfish"]}),
        "Noted the allergy.",
    )
    run_crew(saver, "Plan a dinner menu.", memory=MnemoweaveCrewMemory(store, user_id="dana"))
    texts = [i.memory for i in store.get_all(user_id="dana").results]
    assert "The user is allergic to shellfish" in texts
    assert "Saved to memory (scope=/" in saver.prompts[1]

    searcher = make_llm(action("search_memory", {"queries": ["allergic"]}), "No shellfish.")
    run_crew(searcher, "Choose a starter.", memory=MnemoweaveCrewMemory(store, user_id="dana"))
    observation = searcher.prompts[1].split("Found memories:", 1)[1]
    assert OPEN_TAG in observation
    assert "The user is allergic to shellfish" in " ".join(unquote_block(observation))
    assert network_guard == []


def test_mnemoweave_tools_for_an_agent_without_crew_memory(
    store: Memory, make_llm: Callable[..., Any], network_guard: list[Any]
) -> None:
    tools = mnemoweave_tools(store, user_id="erin")
    saver = make_llm(
        action("save_to_long_term_memory", {"content": "Erin's dog is called Pixel"}),
        "Saved.",
    )
    run_crew(saver, "Remember the dog's name.", tools=tools)
    assert [i.memory for i in store.get_all(user_id="erin").results] == [
        "Erin's dog is called Pixel"
    ]
    assert "Saved to long-term memory (1 fact(s) added or updated)." in saver.prompts[1]

    searcher = make_llm(action("search_long_term_memory", {"query": "dog name"}), "Pixel.")
    run_crew(searcher, "What is the dog called?", tools=mnemoweave_tools(store, user_id="erin"))
    assert unquote_block(searcher.prompts[1]) == ["Erin's dog is called Pixel"]
    assert network_guard == []


def test_the_network_guard_refuses_and_records(network_guard: list[Any]) -> None:
    """The guard used above can fail: a real lookup attempt is refused and recorded."""
    with pytest.raises(OSError):
        socket.create_connection(("telemetry.crewai.com", 443), timeout=1)
    with pytest.raises(OSError):
        socket.socket().connect(("10.255.255.1", 9))
    assert [kind for kind, _ in network_guard] == ["getaddrinfo", "connect"]
