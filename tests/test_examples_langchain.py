"""The LangChain / LangGraph examples run offline and show memory crossing runs."""

from __future__ import annotations

from collections.abc import Callable

import pytest

pytest.importorskip("mnemoweave_langchain", reason="mnemoweave-langchain is not installed")
pytest.importorskip("langchain.agents", reason="mnemoweave-langchain[agents] is not installed")


def test_agent_tools_example_saves_then_recalls_in_a_new_session(
    run_example: Callable[..., str],
) -> None:
    out = run_example("langchain_agent_tools.py")
    first, second = out.split("session 2", 1)
    assert "ai calls save_memory({'content': 'Alex is vegetarian'})" in first
    assert 'Saved: "Alex lives in Porto"' in first
    block = second[second.index("<mnemoweave-memories>") : second.index("</mnemoweave-memories>")]
    assert '"Alex is vegetarian"' in block
    assert '"Alex lives in Porto"' in block


def test_graph_store_example_reads_an_earlier_run(run_example: Callable[..., str]) -> None:
    out = run_example("langchain_graph_store.py")
    assert "run 2 (alex): Alex's flight to Oslo leaves Friday at 07:40" in out
    assert "run 2 (sam): []" in out
    assert "plain mnemoweave search for alex: Alex prefers aisle seats" in out
    assert "namespaces: [('users', 'alex', 'notes')]" in out


def test_middleware_example_shows_recall_in_the_prompt(run_example: Callable[..., str]) -> None:
    out = run_example("langchain_middleware.py")
    prompt = out[out.index("model's system message:") : out.index("answer:")]
    assert "You are a cooking assistant." in prompt
    assert "I'm allergic to peanuts and I cook for two." in prompt
    assert "spicy" not in prompt
    remembered = out.split("sam's memories now:", 1)[1]
    assert "'Any dinner idea for tonight? My partner is vegetarian.'" in remembered
    assert "Thai green curry" not in remembered  # the reply is no memory without an LLM
    assert "kim's memories untouched: 1" in out
