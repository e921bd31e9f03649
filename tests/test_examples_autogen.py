"""The AutoGen examples run offline and the second conversation recalls the first."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.mark.parametrize(
    ("script", "label"), [("autogen_memory.py", "run"), ("ag2_conversable.py", "chat")]
)
def test_second_conversation_recalls_the_first(
    run_example: Callable[..., str], tmp_path: Path, script: str, label: str
) -> None:
    lines = run_example(script).splitlines()
    first = next(line for line in lines if line.startswith(f"{label} 1:"))
    second = next(line for line in lines if line.startswith(f"{label} 2:"))
    assert first == f"{label} 1: Nice to meet you!"
    assert second == f"{label} 2: I remember: Hi! My dog is called Rex and he loves frisbees."
    assert f"data kept in {tmp_path / 'mnemoweave'}" in lines
    # Nothing in $HOME but the frameworks' own XDG caches (AG2 imports matplotlib, which
    # caches its font list there).
    assert {p.name for p in (tmp_path / "home").iterdir()} <= {".cache", ".config"}
    assert list((tmp_path / "cwd").iterdir()) == []  # nor to the working directory
