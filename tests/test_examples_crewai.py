"""The CrewAI example runs offline, and a second crew recalls what the first one learned."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

pytest.importorskip("mnemoweave_crewai", reason="mnemoweave-crewai is not installed")


def test_second_crew_recalls_the_first_crews_fact_offline(
    run_example: Callable[..., str], tmp_path: Path
) -> None:
    # The example must switch CrewAI's telemetry off by itself.
    unset: dict[str, str | None] = {
        "CREWAI_DISABLE_TELEMETRY": None,
        "OTEL_SDK_DISABLED": None,
        "CREWAI_TRACING_ENABLED": None,
    }
    out = run_example("crewai_crew.py", env=unset)
    assert (tmp_path / "mnemoweave" / "crewai-example" / "mnemoweave.db").is_file()
    assert "crew 1 answer: The user told me their favourite colour is teal." in out
    assert "mnemoweave now knows: ['Favourite colour is teal']" in out
    block = out[out.index("<mnemoweave-memories>") : out.index("</mnemoweave-memories>")]
    assert '"Favourite colour is teal"' in block
    assert "crew 2 answer: Use a theme built on what I remember: Favourite colour is teal." in out
