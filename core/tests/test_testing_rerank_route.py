"""The scripted server's ``POST /rerank`` (Cohere/Jina/vLLM shape): scripted and recorded."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from mnemoweave.testing import Fault, ScriptedOpenAIServer


@pytest.fixture
def server() -> Iterator[ScriptedOpenAIServer]:
    with ScriptedOpenAIServer() as srv:
        yield srv


def test_default_scores_are_word_overlap_best_first_cut_to_top_n(
    server: ScriptedOpenAIServer,
) -> None:
    body = {
        "model": "rr",
        "query": "red apple pie",
        "documents": ["a red car", "apple pie recipe", {"text": "red apple pie"}],
        "top_n": 2,
        "return_documents": True,
    }
    reply = httpx.post(f"{server.url}/rerank", json=body).json()
    assert [r["index"] for r in reply["results"]] == [2, 1]
    assert [r["relevance_score"] for r in reply["results"]] == [1.0, pytest.approx(2 / 3)]
    assert reply["results"][0]["document"] == {"text": "red apple pie"}
    assert reply["model"] == "rr"
    (recorded,) = server.rerank_requests
    assert recorded.route == "rerank"
    assert recorded.body == body
    assert recorded.prompt_tokens > 0


def test_scripted_scores_faults_and_handler(server: ScriptedOpenAIServer) -> None:
    server.script_rerank([0.2, 0.9], Fault.rate_limit(retry_after=0.01))
    body = {"query": "q", "documents": ["a", "b"]}
    first = httpx.post(f"{server.base_url}/rerank", json=body).json()
    assert [(r["index"], r["relevance_score"]) for r in first["results"]] == [(1, 0.9), (0, 0.2)]
    limited = httpx.post(f"{server.url}/v2/rerank", json=body)
    assert limited.status_code == 429
    server.rerank_handler = lambda record: [5.0, 1.0]
    third = httpx.post(f"{server.url}/rerank", json=body).json()
    assert third["results"][0] == {"index": 0, "relevance_score": 5.0}
    assert [r.status for r in server.rerank_requests] == [200, 429, 200]
    server.reset()
    assert server.rerank_requests == []


def test_bad_requests_and_bad_scripts(server: ScriptedOpenAIServer) -> None:
    url = f"{server.url}/rerank"
    assert httpx.post(url, json={"documents": ["a"]}).status_code == 400
    assert httpx.post(url, json={"query": "q", "documents": []}).status_code == 400
    assert httpx.post(url, json={"query": "q", "documents": ["a"], "top_n": 0}).status_code == 400
    server.script_rerank([1.0, 2.0])
    wrong = httpx.post(url, json={"query": "q", "documents": ["a"]})
    assert wrong.status_code == 500
    assert "2 scripted rerank scores for 1 documents" in server.problems[0]
    with pytest.raises(TypeError):
        server.script_rerank("0.5")  # type: ignore[arg-type]
