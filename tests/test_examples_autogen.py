"""The AutoGen examples run offline and the second conversation recalls the first."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(name: str, home: Path) -> list[str]:
    env = {
        **os.environ,
        "MEMWEAVE_HOME": str(home / "memweave"),
        "HOME": str(home),
        "PYTHONUNBUFFERED": "1",
    }
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        env=env,
        cwd=home,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


@pytest.mark.parametrize(
    ("script", "label"), [("autogen_memory.py", "run"), ("ag2_conversable.py", "chat")]
)
def test_second_conversation_recalls_the_first(tmp_path: Path, script: str, label: str) -> None:
    lines = run_example(script, tmp_path)
    first = next(line for line in lines if line.startswith(f"{label} 1:"))
    second = next(line for line in lines if line.startswith(f"{label} 2:"))
    assert first == f"{label} 1: Nice to meet you!"
    assert second == f"{label} 2: I remember: Hi! My dog is called Rex and he loves frisbees."
    assert lines[-1] == f"data kept in {tmp_path / 'memweave'}"
    assert (tmp_path / "memweave").is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["memweave"]  # nothing else written
