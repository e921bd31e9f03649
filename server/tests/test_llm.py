"""A server with an LLM (the scripted OpenAI-compatible server on 127.0.0.1): infer adds over
HTTP, their usage in the answer, and LLM calls and tokens in ``/metrics``."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from mnemoweave.testing import ScriptedOpenAIServer
from mnemoweave_server.testing import LiveServer


def metric(text: str, name: str) -> float:
    found = re.search(rf"^{name} ([0-9.e+]+)$", text, re.MULTILINE)
    assert found is not None, name
    return float(found.group(1))


def test_infer_adds_count_llm_calls_and_tokens(sandbox: Path, server_env: dict[str, str]) -> None:
    with ScriptedOpenAIServer() as llm:
        llm.script({"operations": [{"op": "ADD", "text": "Is allergic to peanuts"}]})
        server = LiveServer(
            sandbox / "with-llm",
            args=["--llm-model", "scripted", "--llm-base-url", llm.base_url],
            env={**server_env, "OPENAI_API_KEY": "test-key"},
        )
        with server, server.client() as client:
            assert client.llm is not None
            assert client.llm.model == "scripted"
            added = client.add("I can't eat peanuts, I'm allergic", user_id="ana")
            assert [(e.event, e.memory) for e in added.results] == [
                ("ADD", "Is allergic to peanuts")
            ]
            assert added.usage.llm_calls == 1
            assert added.usage.prompt_tokens > 0
            text = httpx.get(f"{server.url}/metrics").text
        assert len(llm.requests) == 1
    assert metric(text, "mnemoweave_llm_calls_total") == 1
    assert metric(text, "mnemoweave_llm_prompt_tokens_total") == added.usage.prompt_tokens
    assert metric(text, "mnemoweave_llm_completion_tokens_total") == added.usage.completion_tokens
