"""mem0's embedder provider names, offline: scripted server, our local model, LangChain fakes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from mnemoweave import Memory
from mnemoweave.embed import (
    AzureOpenAIEmbedder,
    LangChainEmbedder,
    LocalEmbedder,
    OpenAIEmbedder,
    available_embedders,
    get_embedder,
)
from mnemoweave.errors import ConfigurationError, DimensionMismatchError
from mnemoweave.testing import ScriptedOpenAIServer


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "GEMINI_API_KEY",
        "GOOGLE_API_KEY",
        "TOGETHER_API_KEY",
        "AZURE_OPENAI_API_KEY",
        "AZURE_OPENAI_ENDPOINT",
        "OPENAI_API_VERSION",
        "EMBEDDING_AZURE_OPENAI_API_KEY",
        "EMBEDDING_AZURE_ENDPOINT",
        "EMBEDDING_AZURE_API_VERSION",
        "EMBEDDING_AZURE_DEPLOYMENT",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server() -> Iterator[ScriptedOpenAIServer]:
    with ScriptedOpenAIServer(embedding_dim=16) as srv:
        yield srv


def test_every_mem0_embedder_name_is_registered() -> None:
    names = {"openai", "azure_openai", "ollama", "lmstudio", "huggingface", "gemini", "together"}
    assert names | {"langchain"} <= set(available_embedders())


@pytest.mark.parametrize(
    ("provider", "url_key"), [("ollama", "ollama_base_url"), ("lmstudio", "lmstudio_base_url")]
)
def test_local_servers_get_v1_and_no_key(
    provider: str, url_key: str, server: ScriptedOpenAIServer
) -> None:
    embedder = get_embedder(
        {"provider": provider, "config": {"model": "nomic-embed-text", url_key: server.url}}
    )
    assert embedder.embed(["hello"]).shape == (1, 16)
    (request,) = server.embedding_requests
    assert request.path == "/v1/embeddings"
    assert request.body["model"] == "nomic-embed-text"


@pytest.mark.parametrize(
    ("provider", "env"), [("gemini", "GEMINI_API_KEY"), ("together", "TOGETHER_API_KEY")]
)
def test_remote_vendors_read_their_own_key(
    provider: str, env: str, server: ScriptedOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigurationError, match=env):
        get_embedder({"provider": provider, "config": {}})
    monkeypatch.setenv(env, "secret")
    embedder = get_embedder(
        {"provider": provider, "config": {"base_url": server.base_url, "embedding_dims": 16}}
    )
    assert isinstance(embedder, OpenAIEmbedder)
    assert embedder.embed(["a", "b"]).shape == (2, 16)
    assert server.embedding_requests[0].credential_headers == ("authorization",)


def test_openai_dimensions_is_sent_and_checked(server: ScriptedOpenAIServer) -> None:
    config = {"model": "text-embedding-3-small", "dimensions": 16, "api_key": "k"}
    embedder = get_embedder(
        {"provider": "openai", "config": {**config, "openai_base_url": server.base_url}}
    )
    assert embedder.dim == 16
    embedder.embed(["x"])
    assert server.embedding_requests[0].body["dimensions"] == 16
    bad = get_embedder(
        {
            "provider": "openai",
            "config": {"embedding_dims": 32, "api_key": "k", "openai_base_url": server.base_url},
        }
    )
    with pytest.raises(DimensionMismatchError):
        bad.embed(["x"])


def test_azure_embeddings_use_deployment_path_and_api_key_header(
    server: ScriptedOpenAIServer,
) -> None:
    embedder = get_embedder(
        {
            "provider": "azure_openai",
            "config": {
                "model": "text-embedding-3-small",
                "azure_kwargs": {
                    "azure_deployment": "emb",
                    "azure_endpoint": server.url,
                    "api_version": "2024-10-21",
                    "api_key": "k",
                },
            },
        }
    )
    assert isinstance(embedder, AzureOpenAIEmbedder)
    assert embedder.embed(["x"]).shape == (1, 16)
    (request,) = server.embedding_requests
    assert request.path == "/openai/deployments/emb/embeddings?api-version=2024-10-21"
    assert request.credential_headers == ("api-key",)
    with pytest.raises(ConfigurationError, match="azure_endpoint"):
        get_embedder({"provider": "azure_openai", "config": {}})


def test_huggingface_runs_a_local_model_folder() -> None:
    default = LocalEmbedder()
    folder = default.model_dir
    embedder = get_embedder({"provider": "huggingface", "config": {"model": str(folder)}})
    assert isinstance(embedder, LocalEmbedder)
    assert embedder.model_id == Path(folder).name
    np.testing.assert_allclose(embedder.embed(["tea"]), default.embed(["tea"]), atol=1e-5)
    named = get_embedder(
        {"provider": "huggingface", "config": {"model": "sentence-transformers/all-MiniLM-L6-v2"}}
    )
    assert named.dim == 384
    with pytest.raises(ConfigurationError, match="folder"):
        get_embedder({"provider": "huggingface", "config": {"model": "BAAI/bge-small-en"}})
    with pytest.raises(DimensionMismatchError):
        get_embedder({"provider": "huggingface", "config": {"embedding_dims": 768}})


def test_huggingface_base_url_is_a_tei_server(server: ScriptedOpenAIServer) -> None:
    embedder = get_embedder(
        {"provider": "huggingface", "config": {"huggingface_base_url": server.url}}
    )
    assert embedder.embed(["x"]).shape == (1, 16)
    assert server.embedding_requests[0].path == "/v1/embeddings"


def test_langchain_embeddings_object(tmp_path: Path) -> None:
    import asyncio

    from langchain_core.embeddings import DeterministicFakeEmbedding

    fake = DeterministicFakeEmbedding(size=12)
    embedder = get_embedder({"provider": "langchain", "config": {"model": fake}})
    assert isinstance(embedder, LangChainEmbedder)
    assert embedder.dim == 12
    np.testing.assert_allclose(embedder.embed(["a"])[0], fake.embed_query("a"), atol=1e-6)
    assert asyncio.run(embedder.aembed(["a", "b"])).shape == (2, 12)
    config = {
        "embedder": {"provider": "langchain", "config": {"model": fake}},
        "path": str(tmp_path),
    }
    with Memory(config=config) as m:
        m.add("tea is good", user_id="u", infer=False)
        assert m.search("tea", user_id="u")["results"][0]["memory"] == "tea is good"
    with pytest.raises(ConfigurationError, match="Embeddings"):
        get_embedder({"provider": "langchain", "config": {"model": "text-embedding-3-small"}})
