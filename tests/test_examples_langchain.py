"""The LangChain / LangGraph examples run offline and show memory crossing runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("memweave_langchain", reason="memweave-langchain is not installed")
pytest.importorskip("langchain.agents", reason="memweave-langchain[agents] is not installed")

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_example(name: str, tmp_path: Path) -> str:
    home = tmp_path / "home"
    home.mkdir()
    env = {
        **os.environ,
        "MEMWEAVE_HOME": str(tmp_path / "memweave"),
        "HOME": str(home),
        "XDG_CACHE_HOME": str(tmp_path / "xdg-cache"),
        "LANGSMITH_TRACING": "false",
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


def test_agent_tools_example_saves_then_recalls_in_a_new_session(tmp_path: Path) -> None:
    out = run_example("langchain_agent_tools.py", tmp_path)
    first, second = out.split("session 2", 1)
    assert "ai calls save_memory({'content': 'Alex is vegetarian'})" in first
    assert 'Saved: "Alex lives in Porto"' in first
    block = second[second.index("<memweave-memories>") : second.index("</memweave-memories>")]
    assert '"Alex is vegetarian"' in block
    assert '"Alex lives in Porto"' in block


def test_graph_store_example_reads_an_earlier_run(tmp_path: Path) -> None:
    out = run_example("langchain_graph_store.py", tmp_path)
    assert "run 2 (alex): Alex's flight to Oslo leaves Friday at 07:40" in out
    assert "run 2 (sam): []" in out
    assert "plain memweave search for alex: Alex prefers aisle seats" in out
    assert "namespaces: [('users', 'alex', 'notes')]" in out


def test_middleware_example_shows_recall_in_the_prompt(tmp_path: Path) -> None:
    out = run_example("langchain_middleware.py", tmp_path)
    prompt = out[out.index("model's system message:") : out.index("answer:")]
    assert "You are a cooking assistant." in prompt
    assert "I'm allergic to peanuts and I cook for two." in prompt
    assert "spicy" not in prompt
    assert "'Any dinner idea for tonight?'" in out.split("sam's memories now:", 1)[1]
    assert "kim's memories untouched: 1" in out
