"""The LlamaIndex examples run offline and show recall reaching the model's prompt."""

from __future__ import annotations

from collections.abc import Callable

import pytest

pytest.importorskip("mnemoweave_llamaindex", reason="mnemoweave-llamaindex is not installed")


def test_chat_engine_example_resumes_and_recalls(run_example: Callable[..., str]) -> None:
    out = run_example("llamaindex_chat_engine.py")
    assert "resumed history: 2 messages" in out
    block = out[out.index("<mnemoweave-memories>") : out.index("</mnemoweave-memories>")]
    assert "allergic to peanuts" in block
    assert "user: Can you suggest a snack for me?" in out


def test_condense_plus_context_example_combines_recall_and_documents(
    run_example: Callable[..., str],
) -> None:
    out = run_example("llamaindex_condense_plus_context.py")
    assert "mnemoweave recalled: ['Note for later: I am allergic to peanuts.']" in out
    assert "menu context in prompt: True" in out
    assert "today's turn remembered: True" in out


def test_agent_example_recalls_across_runs(run_example: Callable[..., str]) -> None:
    out = run_example("llamaindex_agent.py")
    assert "run 1: I don't know you yet." in out
    assert "run 2: You told me: I'm vegetarian and I cycle to work." in out
