"""Test setup: CrewAI offline, telemetry off, nothing written outside a temp dir.

The environment is set when this file is imported, i.e. before any test module imports
crewai: its telemetry reads the variables at import time, and it writes under ``$HOME``
(``~/.config/crewai``, ``~/.local/share/...``). Also here: a recording fake CrewAI LLM and a
socket guard that refuses (and records) every connection that is not to localhost.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import Field

_HOME = Path(tempfile.mkdtemp(prefix="mnemoweave-crewai-home-"))
_ENV = {
    "CREWAI_DISABLE_TELEMETRY": "true",
    "OTEL_SDK_DISABLED": "true",
    "CREWAI_TRACING_ENABLED": "false",
    "CREWAI_STORAGE_DIR": "mnemoweave-crewai-tests",
    "HOME": str(_HOME),
    "XDG_DATA_HOME": str(_HOME / ".local" / "share"),
    "XDG_CONFIG_HOME": str(_HOME / ".config"),
    "XDG_CACHE_HOME": str(_HOME / ".cache"),
    "MNEMOWEAVE_HOME": str(_HOME / "mnemoweave"),
    "HF_HUB_OFFLINE": "1",  # an embedder left on its default must never download weights
}
_SAVED = {key: os.environ.get(key) for key in [*_ENV, "OPENAI_API_KEY"]}
os.environ.update(_ENV)
os.environ.pop("OPENAI_API_KEY", None)  # CrewAI's OpenAI defaults must never be needed

from crewai.llms.base_llm import BaseLLM  # noqa: E402  (after the environment is set)

from mnemoweave import Memory  # noqa: E402
from mnemoweave.testing import NetworkGuard  # noqa: E402

FINAL = "Thought: I now know the final answer\nFinal Answer: {}"


@pytest.fixture(scope="session", autouse=True)
def _restore_environment() -> Iterator[None]:
    yield
    for key, value in _SAVED.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    shutil.rmtree(_HOME, ignore_errors=True)


@pytest.fixture
def crew_home() -> Path:
    """The temporary ``$HOME`` CrewAI writes its own files under."""
    return _HOME


class RecordingLLM(BaseLLM):
    """A CrewAI LLM that records every prompt and answers from a list (then "done")."""

    answers: list[str] = Field(default_factory=list)
    prompts: list[str] = Field(default_factory=list)

    def call(
        self,
        messages: Any,
        tools: Any = None,
        callbacks: Any = None,
        available_functions: Any = None,
        from_task: Any = None,
        from_agent: Any = None,
        response_model: Any = None,
    ) -> str:
        if isinstance(messages, str):
            text = messages
        else:
            text = "\n".join(str(m.get("content", "")) for m in messages)
        self.prompts.append(text)
        return self.answers.pop(0) if self.answers else FINAL.format("done")


@pytest.fixture
def make_llm() -> Callable[..., RecordingLLM]:
    """``make_llm(*answers)``: a fresh recording LLM; plain answers become Final Answers."""

    def build(*answers: str) -> RecordingLLM:
        replies = [a if a.startswith("Thought:") else FINAL.format(a) for a in answers]
        return RecordingLLM(model="recording-fake", answers=replies, prompts=[])

    return build


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Memory]:
    """A fresh mnemoweave store on the deterministic test embedder, no LLM."""
    mem = Memory(tmp_path / "store", embedder="hash")
    yield mem
    mem.close()


@pytest.fixture
def network_guard() -> Iterator[list[tuple[str, Any]]]:
    """Refuse every non-local connection or DNS lookup; yields the list of attempts."""
    with NetworkGuard() as guard:
        yield guard.attempts
