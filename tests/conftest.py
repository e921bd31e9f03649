"""Shared helpers for the cross-package tests: running the examples the way a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

RunExample = Callable[..., str]


@pytest.fixture
def run_example(tmp_path: Path) -> RunExample:
    """Run ``examples/<name>`` in a subprocess, offline, with every home folder in ``tmp_path``.

    Data goes to ``tmp_path/"mnemoweave"`` (``$MNEMOWEAVE_HOME``); ``$HOME``, the XDG folders and
    framework caches point at ``tmp_path/"home"``; the working directory is ``tmp_path/"cwd"``.
    The script runs under ``mnemoweave.testing.no_network``, so any connection off this machine
    fails the test. ``env`` adds variables (``None`` removes one). Returns stdout.
    """
    home = tmp_path / "home"
    cwd = tmp_path / "cwd"

    def run(name: str, *, env: dict[str, str | None] | None = None, timeout: float = 280) -> str:
        home.mkdir(exist_ok=True)
        cwd.mkdir(exist_ok=True)
        full: dict[str, str | None] = {
            **os.environ,
            "MNEMOWEAVE_HOME": str(tmp_path / "mnemoweave"),
            "HOME": str(home),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_DATA_HOME": str(home / ".local" / "share"),
            "LLAMA_INDEX_CACHE_DIR": str(home / ".cache" / "llama_index"),
            "LANGSMITH_TRACING": "false",
            "PYTHONUNBUFFERED": "1",
            "OPENAI_API_KEY": None,  # examples must never need a key
            **(env or {}),
        }
        done = subprocess.run(
            [sys.executable, "-m", "mnemoweave.testing.no_network", str(EXAMPLES / name)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env={k: v for k, v in full.items() if v is not None},
            cwd=cwd,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-4000:]
        assert "network attempts: []" in done.stdout, done.stdout[-2000:]
        assert (tmp_path / "mnemoweave").is_dir()  # the data went where MNEMOWEAVE_HOME points
        return done.stdout

    return run
