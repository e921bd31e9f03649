"""The quickstart (README command 1) runs offline on the embedded defaults."""

from __future__ import annotations

from collections.abc import Callable


def test_quickstart_recalls_and_keeps_history(run_example: Callable[..., str]) -> None:
    out = run_example("quickstart.py")
    assert "What should I avoid cooking for Alex? -> I'm Alex, I live in Lisbon" in out
    assert "What instrument does Alex play? -> I play the cello every Sunday." in out
    assert "alex has 2 memories; sam has 1" in out
    assert "('UPDATE', \"I'm Alex, I moved to Porto and I'm allergic to peanuts.\")" in out
