"""The LlamaIndex examples run offline and show recall reaching the model's prompt."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("memweave_llamaindex", reason="memweave-llamaindex is not installed")

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_example(name: str, tmp_path: Path) -> str:
    home = tmp_path / "home"
    home.mkdir()
    env = {
        **os.environ,
        "MEMWEAVE_HOME": str(tmp_path / "memweave"),
        "HOME": str(home),
        "LLAMA_INDEX_CACHE_DIR": str(tmp_path / "llama-index-cache"),
        "XDG_CACHE_HOME": str(tmp_path / "xdg-cache"),
    }
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        timeout=280,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "memweave").is_dir()  # the data went where MEMWEAVE_HOME points
    return done.stdout


def test_chat_engine_example_resumes_and_recalls(tmp_path: Path) -> None:
    out = run_example("llamaindex_chat_engine.py", tmp_path)
    assert "resumed history: 2 messages" in out
    block = out[out.index("<memweave-memories>") : out.index("</memweave-memories>")]
    assert "allergic to peanuts" in block
    assert "user: Can you suggest a snack for me?" in out


def test_condense_plus_context_example_combines_recall_and_documents(tmp_path: Path) -> None:
    out = run_example("llamaindex_condense_plus_context.py", tmp_path)
    assert "memweave recalled: ['Note for later: I am allergic to peanuts.']" in out
    assert "menu context in prompt: True" in out
    assert "today's turn remembered: True" in out


def test_agent_example_recalls_across_runs(tmp_path: Path) -> None:
    out = run_example("llamaindex_agent.py", tmp_path)
    assert "run 1: I don't know you yet." in out
    assert "run 2: You told me: I'm vegetarian and I cycle to work." in out
