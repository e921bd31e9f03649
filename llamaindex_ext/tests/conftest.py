"""Shared fixtures: an isolated, offline environment and a prompt-recording LlamaIndex LLM."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from llama_index.core.bridge.pydantic import Field
from llama_index.core.llms import CompletionResponse, CustomLLM, LLMMetadata

from mnemoweave import Memory
from mnemoweave.testing import NetworkGuard


@pytest.fixture(autouse=True)
def offline_and_isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point every home/cache directory at tmp and make any non-loopback connection fail."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("MNEMOWEAVE_HOME", str(tmp_path / "mnemoweave-home"))
    monkeypatch.setenv("LLAMA_INDEX_CACHE_DIR", str(tmp_path / "llama-index-cache"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    with NetworkGuard(raise_as="assert"):
        yield


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Memory]:
    """A fresh mnemoweave store on the deterministic embedder, no LLM (raw memories)."""
    memory = Memory(tmp_path / "store", embedder="hash")
    yield memory
    memory.close()


class RecordingLLM(CustomLLM):
    """A LlamaIndex LLM that answers from a script and records every prompt it is sent.

    Chat calls reach ``complete`` through LlamaIndex's ``messages_to_prompt``, so each
    recorded prompt holds every message (system ones included) as ``role: content`` lines.
    """

    replies: list[str] = Field(default_factory=list)
    prompts: list[str] = Field(default_factory=list)

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(context_window=8192, num_output=256, model_name="recording")

    def _answer(self, prompt: str) -> str:
        self.prompts.append(prompt)
        return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]

    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return CompletionResponse(text=self._answer(prompt))

    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> Any:
        text = self._answer(prompt)
        yield CompletionResponse(text=text, delta=text)


@pytest.fixture
def recording_llm() -> Any:
    """``recording_llm(*replies)``: a new RecordingLLM (the last reply repeats)."""

    def make(*replies: str) -> RecordingLLM:
        return RecordingLLM(replies=list(replies) or ["OK."], prompts=[])

    return make


def block_of(text: str) -> str:
    """The ``<mnemoweave-memories>`` block inside ``text`` ("" when there is none)."""
    start, end = text.find("<mnemoweave-memories>"), text.find("</mnemoweave-memories>")
    return text[start : end + len("</mnemoweave-memories>")] if 0 <= start < end else ""


@pytest.fixture
def find_block() -> Any:
    return block_of


def texts(messages: Sequence[Any]) -> list[tuple[str, str]]:
    return [(str(getattr(m.role, "value", m.role)), m.content or "") for m in messages]


@pytest.fixture
def role_texts() -> Any:
    """``role_texts(messages)``: ``[(role, text), ...]`` for compact assertions."""
    return texts
