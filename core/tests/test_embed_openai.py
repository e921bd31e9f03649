"""The ``openai`` embedder end to end against ``ScriptedOpenAIServer`` (real HTTP on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import json
import math
import socket
from collections.abc import Iterator

import numpy as np
import pytest

import mnemoweave.embed as mwe
from mnemoweave.embed import OpenAIEmbedder, embed_query, embed_texts, get_embedder
from mnemoweave.errors import (
    ConfigurationError,
    DimensionMismatchError,
    EmbeddingError,
    ValidationError,
)
from mnemoweave.testing import Fault, ScriptedOpenAIServer


@pytest.fixture
def server() -> Iterator[ScriptedOpenAIServer]:
    with ScriptedOpenAIServer(embedding_dim=64) as srv:
        yield srv


@pytest.fixture(autouse=True)
def _no_openai_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    mwe.clear_query_cache()
    yield
    mwe.clear_query_cache()


def make(server: ScriptedOpenAIServer, **options: object) -> OpenAIEmbedder:
    options.setdefault("max_retries", 2)
    options.setdefault("timeout", 10.0)
    return OpenAIEmbedder("scripted-embed", base_url=server.base_url, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(("n", "batch_size"), [(10, 4), (8, 8), (1, 3), (33, 5)])
def test_batching_sends_ceil_n_over_b_requests_in_order(
    server: ScriptedOpenAIServer, n: int, batch_size: int
) -> None:
    texts = [f"memory number {i}" for i in range(n)]
    vectors = make(server, batch_size=batch_size).embed(texts)
    requests = server.embedding_requests
    assert len(requests) == math.ceil(n / batch_size)
    assert [x for r in requests for x in r.inputs] == texts
    assert all(len(r.inputs) <= batch_size for r in requests)
    assert all(r.model == "scripted-embed" for r in requests)
    assert all(r.body["encoding_format"] == "float" for r in requests)
    np.testing.assert_allclose(vectors, server.expected_embeddings(texts), atol=1e-6)


def test_retries_a_429_then_succeeds(server: ScriptedOpenAIServer) -> None:
    server.enqueue_embedding_fault(Fault.rate_limit(retry_after=0.01))
    vectors = make(server).embed(["a", "b"])
    assert [r.status for r in server.embedding_requests] == [429, 200]
    assert [r.retry_count for r in server.embedding_requests] == [0, 1]
    np.testing.assert_allclose(vectors, server.expected_embeddings(["a", "b"]), atol=1e-6)


def test_dimension_is_discovered_from_the_first_response(server: ScriptedOpenAIServer) -> None:
    embedder = make(server)
    embedder.embed(["hello"])
    assert embedder.dim == 64
    assert len(server.embedding_requests) == 1  # known now: no probe


def test_reading_dim_first_costs_one_probe(server: ScriptedOpenAIServer) -> None:
    embedder = make(server)
    assert embedder.dim == 64
    assert embedder.dim == 64
    assert len(server.embedding_requests) == 1


def test_configured_dim_that_differs_is_a_clear_error(server: ScriptedOpenAIServer) -> None:
    embedder = make(server, dims=384)
    assert embedder.dim == 384  # configured: no request needed
    assert server.embedding_requests == []
    with pytest.raises(DimensionMismatchError) as info:
        embedder.embed(["hello"])
    assert info.value.expected == 384
    assert info.value.got == 64
    assert server.base_url in str(info.value)


def test_dimension_change_between_responses_is_caught(server: ScriptedOpenAIServer) -> None:
    embedder = make(server)
    embedder.embed(["first"])
    server.embedding_handler = lambda request: [[0.5] * 32 for _ in request.inputs]
    with pytest.raises(DimensionMismatchError):
        embedder.embed(["second"])


def test_send_dimensions_asks_for_the_size(server: ScriptedOpenAIServer) -> None:
    embedder = make(server, dim=16, send_dimensions=True)
    vectors = embedder.embed(["short vectors"])
    assert vectors.shape == (1, 16)
    assert server.embedding_requests[0].body["dimensions"] == 16
    assert embedder.model_id == "scripted-embed@16"
    assert make(server).model_id == "scripted-embed"
    with pytest.raises(ConfigurationError):
        make(server, send_dimensions=True)


def test_keeps_failing_is_an_embedding_error_naming_the_endpoint(
    server: ScriptedOpenAIServer,
) -> None:
    server.enqueue_embedding_fault(*[Fault.server_error(503, retry_after=0.01)] * 5)
    with pytest.raises(EmbeddingError) as info:
        make(server, max_retries=2).embed(["doomed"])
    message = str(info.value)
    assert f"{server.base_url}/embeddings" in message
    assert "HTTP 503" in message
    assert "max_retries=2" in message
    assert len(server.embedding_requests) == 3  # first try + 2 retries


def test_client_errors_are_not_retried(server: ScriptedOpenAIServer) -> None:
    server.enqueue_embedding_fault(Fault.bad_request("input too long", param="input"))
    with pytest.raises(EmbeddingError, match="HTTP 400: input too long"):
        make(server).embed(["x"])
    assert len(server.embedding_requests) == 1


def test_malformed_body_is_an_embedding_error(server: ScriptedOpenAIServer) -> None:
    server.enqueue_embedding_fault(Fault.malformed('{"object": "list", "data": [{"index": 0}]}'))
    with pytest.raises(EmbeddingError, match="embeddings"):
        make(server).embed(["x"])


def test_wrong_number_of_vectors_is_an_embedding_error(server: ScriptedOpenAIServer) -> None:
    body = {"object": "list", "data": [{"index": 0, "embedding": [0.1] * 64}], "model": "m"}
    server.enqueue_embedding_fault(Fault.malformed(json.dumps(body)))
    with pytest.raises(EmbeddingError, match="1 embeddings for 2 inputs"):
        make(server).embed(["a", "b"])


def test_responses_are_reordered_by_index(server: ScriptedOpenAIServer) -> None:
    expected = server.expected_embeddings(["a", "b", "c"])
    data = [{"index": i, "embedding": expected[i].tolist()} for i in (2, 0, 1)]
    server.enqueue_embedding_fault(Fault.malformed(json.dumps({"object": "list", "data": data})))
    vectors = make(server).embed(["a", "b", "c"])
    np.testing.assert_allclose(vectors, expected, atol=1e-6)


def test_unreachable_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    embedder = OpenAIEmbedder("m", base_url=f"http://127.0.0.1:{port}/v1", max_retries=0)
    with pytest.raises(
        EmbeddingError, match=rf"127\.0\.0\.1:{port}/v1/embeddings.*could not connect"
    ):
        embedder.embed(["x"])


def test_empty_strings_are_sent_as_a_space(server: ScriptedOpenAIServer) -> None:
    make(server).embed(["", "text"])
    assert server.embedding_requests[0].inputs == [" ", "text"]


def test_async_batches_and_retries(server: ScriptedOpenAIServer) -> None:
    server.enqueue_embedding_fault(Fault.rate_limit(retry_after=0.01))
    embedder = make(server, batch_size=2)
    texts = ["one", "two", "three"]
    vectors = asyncio.run(embedder.aembed(texts))
    assert [r.status for r in server.embedding_requests] == [429, 200, 200]
    np.testing.assert_allclose(vectors, server.expected_embeddings(texts), atol=1e-6)
    vectors_again = asyncio.run(mwe.aembed_texts(embedder, texts))  # a new event loop
    np.testing.assert_allclose(vectors_again, vectors, atol=1e-6)


def test_async_failure_is_wrapped(server: ScriptedOpenAIServer) -> None:
    server.enqueue_embedding_fault(*[Fault.server_error(retry_after=0.01)] * 3)
    with pytest.raises(EmbeddingError, match="HTTP 500"):
        asyncio.run(make(server, max_retries=1).aembed(["x"]))


def test_facade_normalises_and_caches_queries(server: ScriptedOpenAIServer) -> None:
    embedder = make(server)
    rows = embed_texts(embedder, ["a", "b", "c"], batch_size=2)
    np.testing.assert_allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-6)
    assert len(server.embedding_requests) == 2
    first = embed_query(embedder, "what do I like?")
    second = embed_query(embedder, "what do I like?")
    np.testing.assert_array_equal(first, second)
    assert len(server.embedding_requests) == 3


def test_config_shapes_and_env_defaults(
    server: ScriptedOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    mem0_style = get_embedder(
        {
            "provider": "openai",
            "config": {"model": "m", "openai_base_url": server.base_url, "embedding_dims": 64},
        }
    )
    assert isinstance(mem0_style, OpenAIEmbedder)
    assert mem0_style.dim == 64
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    from_env = get_embedder({"provider": "openai", "model": "env-model"})
    assert from_env.endpoint == f"{server.base_url}/embeddings"  # type: ignore[attr-defined]
    from_env.embed(["x"])
    assert server.embedding_requests[-1].model == "env-model"


def test_key_is_required_only_for_remote_endpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        OpenAIEmbedder()
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        OpenAIEmbedder(base_url="https://embeddings.example.com/v1")
    OpenAIEmbedder(base_url="http://localhost:11434/v1")  # Ollama: no key needed
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert OpenAIEmbedder().endpoint == "https://api.openai.com/v1/embeddings"  # no request made


def test_option_validation() -> None:
    local = "http://127.0.0.1:9/v1"
    with pytest.raises(ValidationError):
        OpenAIEmbedder(base_url=local, batch_size=0)
    with pytest.raises(ValidationError):
        OpenAIEmbedder(base_url=local, max_retries=-1)
    with pytest.raises(ValidationError):
        OpenAIEmbedder(base_url=local, timeout=0)
    with pytest.raises(ConfigurationError, match="conflicting"):
        OpenAIEmbedder(base_url=local, dim=8, dims=16)
    with pytest.raises(ValidationError):
        OpenAIEmbedder(base_url=local).embed("one string")  # type: ignore[arg-type]
