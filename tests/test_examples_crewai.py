"""The CrewAI example runs offline, and a second crew recalls what the first one learned."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("memweave_crewai", reason="memweave-crewai is not installed")

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "crewai_crew.py"


def test_second_crew_recalls_the_first_crews_fact_offline(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        # The example must switch CrewAI's telemetry off by itself.
        if k not in ("CREWAI_DISABLE_TELEMETRY", "OTEL_SDK_DISABLED", "CREWAI_TRACING_ENABLED")
        and k != "OPENAI_API_KEY"
    }
    env.update(
        MEMWEAVE_HOME=str(tmp_path / "memweave"),
        HOME=str(home),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CACHE_HOME=str(tmp_path / "xdg-cache"),
    )
    done = subprocess.run(
        # Every non-local connection and DNS lookup is refused and recorded.
        [sys.executable, "-m", "memweave.testing.no_network", str(EXAMPLE)],
        capture_output=True,
        text=True,
        timeout=280,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert (tmp_path / "memweave" / "crewai-example" / "memweave.db").is_file()
    assert "crew 1 answer: The user told me their favourite colour is teal." in out
    assert "memweave now knows: ['Favourite colour is teal']" in out
    block = out[out.index("<memweave-memories>") : out.index("</memweave-memories>")]
    assert '"Favourite colour is teal"' in block
    assert "crew 2 answer: Use a theme built on what I remember: Favourite colour is teal." in out
    assert "network attempts: []" in out
