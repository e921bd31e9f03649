"""mem0's LLM provider names, each driven offline against a real local server.

OpenAI-compatible vendors and Azure go through ``ScriptedOpenAIServer`` (paths, credential
header names, ``api-version``, model names); LangChain through a langchain-core fake chat model;
LiteLLM through its OpenAI route at the scripted server and its Bedrock Converse route at a
local fake that answers as AWS does (SigV4-signed requests).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from mnemoweave import Memory
from mnemoweave.errors import (
    ConfigurationError,
    LLMAuthenticationError,
    LLMError,
    LLMRateLimitError,
)
from mnemoweave.llm import PROVIDERS, LangChainLLM, LLMClient, build_llm, provider_names
from mnemoweave.testing import Fault, ScriptedOpenAIServer, operations

MESSAGES = [{"role": "user", "content": "hi"}]
KEY_VARS = [
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "AZURE_OPENAI_API_KEY",
    "AZURE_OPENAI_ENDPOINT",
    "OPENAI_API_VERSION",
    "LLM_AZURE_OPENAI_API_KEY",
    "LLM_AZURE_ENDPOINT",
    "LLM_AZURE_API_VERSION",
    "LLM_AZURE_DEPLOYMENT",
    *{name for p in PROVIDERS.values() for name in p.key_env},
]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in KEY_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server() -> Iterator[ScriptedOpenAIServer]:
    with ScriptedOpenAIServer() as srv:
        yield srv


REMOTE = ["anthropic", "deepseek", "gemini", "groq", "mistral", "openrouter", "together", "xai"]


@pytest.mark.parametrize("provider", REMOTE)
def test_remote_vendor_uses_its_url_and_its_own_key_variable(
    provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = PROVIDERS[provider].key_env[0]
    monkeypatch.setenv(env, f"{provider}-secret")
    monkeypatch.setenv("OPENAI_API_KEY", "must-not-leak")
    client = build_llm({"provider": provider, "config": {"model": f"{provider}-model"}})
    assert isinstance(client, LLMClient)
    assert client.config.endpoint == PROVIDERS[provider].base_url
    assert client._client_options()["api_key"] == f"{provider}-secret"


@pytest.mark.parametrize("provider", REMOTE)
def test_remote_vendor_without_its_key_names_the_variable(provider: str) -> None:
    client = build_llm({"provider": provider, "config": {"model": "m"}})
    env = PROVIDERS[provider].key_env[0]
    with pytest.raises(ConfigurationError, match=env):
        client.complete(MESSAGES)


@pytest.mark.parametrize(
    "provider", [*REMOTE, "openai", "openai_compatible", "ollama", "lmstudio", "vllm"]
)
def test_vendor_requests_reach_the_chat_route_with_a_bearer_key(
    provider: str, server: ScriptedOpenAIServer
) -> None:
    server.script("pong")
    url_key = PROVIDERS[provider].url_key or "base_url"
    options: dict[str, Any] = {"model": f"{provider}-model", "api_key": "k", url_key: server.url}
    if not PROVIDERS[provider].local:
        options[url_key] = server.base_url
    reply = build_llm({"provider": provider, "config": options}).complete(MESSAGES)
    assert reply.text == "pong"
    (request,) = server.chat_requests
    assert request.path == "/v1/chat/completions"
    assert request.body["model"] == f"{provider}-model"
    assert request.credential_headers == ("authorization",)


def test_local_providers_need_no_key_and_add_v1(server: ScriptedOpenAIServer) -> None:
    server.script("ok")
    client = build_llm({"provider": "ollama", "config": {"ollama_base_url": server.url}})
    assert client.config.base_url == server.base_url
    assert client.complete(MESSAGES).text == "ok"


def test_openrouter_site_and_app_headers(server: ScriptedOpenAIServer) -> None:
    server.script("ok")
    config = {
        "model": "meta/llama",
        "api_key": "k",
        "openrouter_base_url": server.base_url,
        "site_url": "https://example.org",
        "app_name": "demo",
    }
    build_llm({"provider": "openrouter", "config": config}).complete(MESSAGES)
    headers = server.chat_requests[0].headers
    assert headers["http-referer"] == "https://example.org"
    assert headers["x-title"] == "demo"


def test_azure_uses_deployment_path_api_version_and_api_key_header(
    server: ScriptedOpenAIServer,
) -> None:
    server.script("from azure")
    llm = {
        "provider": "azure_openai",
        "config": {
            "model": "gpt-4o-mini",
            "azure_kwargs": {
                "azure_deployment": "my-deploy",
                "azure_endpoint": server.url,
                "api_version": "2024-10-21",
                "api_key": "azure-secret",
            },
        },
    }
    assert build_llm(llm).complete(MESSAGES).text == "from azure"
    (request,) = server.chat_requests
    assert request.path == "/openai/deployments/my-deploy/chat/completions?api-version=2024-10-21"
    assert request.credential_headers == ("api-key",)


def test_azure_reads_the_usual_env_vars(
    server: ScriptedOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "from-env")
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", server.url)
    monkeypatch.setenv("OPENAI_API_VERSION", "2024-06-01")
    server.script("ok")
    llm = build_llm({"provider": "azure_openai", "config": {"model": "dep"}})
    llm.complete(MESSAGES)
    assert server.chat_requests[0].path.endswith("?api-version=2024-06-01")


def test_azure_without_endpoint_is_a_config_error() -> None:
    with pytest.raises(ConfigurationError, match="azure_endpoint"):
        build_llm({"provider": "azure_openai", "config": {"model": "m"}})
    with pytest.raises(ConfigurationError, match="deployment_name"):
        build_llm({"provider": "azure_openai", "config": {"azure_kwargs": {"deployment_name": 1}}})


def test_unknown_provider_lists_what_works() -> None:
    with pytest.raises(ConfigurationError, match="groq") as info:
        build_llm({"provider": "claude", "config": {}})
    assert "'claude'" in str(info.value)
    assert provider_names() == sorted(provider_names())


def test_auth_failure_is_llm_authentication_error_naming_the_env_var(
    server: ScriptedOpenAIServer,
) -> None:
    server.script(Fault.error(401, "invalid key"))
    client = build_llm(
        {"provider": "groq", "config": {"api_key": "x", "base_url": server.base_url}}
    )
    with pytest.raises(LLMAuthenticationError, match="GROQ_API_KEY") as info:
        client.complete(MESSAGES)
    assert isinstance(info.value, LLMError)
    assert info.value.status == 401
    assert info.value.provider == "groq"


def test_rate_limit_after_retries_is_llm_rate_limit_error(server: ScriptedOpenAIServer) -> None:
    server.script(*[Fault.rate_limit(retry_after=0.01)] * 2)
    config = {"api_key": "x", "base_url": server.base_url, "max_retries": 1}
    with pytest.raises(LLMRateLimitError) as info:
        build_llm({"provider": "mistral", "config": config}).complete(MESSAGES)
    assert info.value.retry_after == pytest.approx(0.01)
    assert len(server.chat_requests) == 2


def test_memory_infers_through_a_named_provider(
    server: ScriptedOpenAIServer, tmp_path: Any
) -> None:
    server.script(operations(("ADD", None, "Likes tea")))
    llm = {"provider": "deepseek", "config": {"api_key": "x", "deepseek_base_url": server.base_url}}
    with Memory(tmp_path, embedder="hash", llm=llm) as m:
        m.add("I like tea", user_id="u", infer=True)
        assert [r["memory"] for r in m.get_all(user_id="u")["results"]] == ["Likes tea"]
    assert server.chat_requests[0].body["model"] == "gpt-4.1-mini"


# -- LangChain ---------------------------------------------------------------------------


def test_langchain_chat_model_object_is_the_llm(tmp_path: Any) -> None:
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    model = FakeListChatModel(responses=[json.dumps(operations(("ADD", None, "Name is Ada")))])
    llm = build_llm({"provider": "langchain", "config": {"model": model}})
    assert isinstance(llm, LangChainLLM)
    with Memory(
        tmp_path, embedder="hash", llm={"provider": "langchain", "config": {"model": model}}
    ) as m:
        m.add("I am Ada", user_id="u", infer=True)
        assert [r["memory"] for r in m.get_all(user_id="u")["results"]] == ["Name is Ada"]


def test_langchain_async_and_errors() -> None:
    import asyncio

    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    llm = LangChainLLM(FakeListChatModel(responses=["one"]))
    assert asyncio.run(llm.acomplete(MESSAGES)).text == "one"
    with pytest.raises(ConfigurationError, match="chat model"):
        build_llm({"provider": "langchain", "config": {"model": "gpt-4o"}})
    with pytest.raises(ConfigurationError, match="temperature"):
        build_llm({"provider": "langchain", "config": {"model": None, "temperature": 1}})


# -- LiteLLM -----------------------------------------------------------------------------


def test_litellm_routes_through_litellm(server: ScriptedOpenAIServer) -> None:
    server.script("via litellm")
    config = {"model": "openai/local-model", "api_key": "k", "api_base": server.base_url}
    llm = build_llm({"provider": "litellm", "config": config})
    reply = llm.complete(MESSAGES, json_schema={"type": "object"})
    assert reply.text == "via litellm"
    (request,) = server.chat_requests
    assert request.body["model"] == "local-model"
    assert request.body["response_format"] == {"type": "json_object"}


def test_aws_bedrock_maps_onto_litellm_bedrock_route() -> None:
    config = {"model": "anthropic.claude-3-haiku", "aws_region": "eu-west-1"}
    llm_config = build_llm.__globals__["LLMConfig"].from_any(
        {"provider": "aws_bedrock", "config": config}
    )
    assert llm_config.model == "bedrock/anthropic.claude-3-haiku"
    assert llm_config.litellm_params == {"aws_region_name": "eu-west-1"}
    with pytest.raises(ConfigurationError, match="Bedrock model id"):
        build_llm({"provider": "aws_bedrock", "config": {}})


class _BedrockConverse(BaseHTTPRequestHandler):
    """Answers Bedrock Runtime's ``POST /model/<id>/converse`` the way AWS does."""

    seen: ClassVar[list[tuple[str, dict[str, str], Any]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        reply = {
            "output": {"message": {"role": "assistant", "content": [{"text": "from bedrock"}]}},
            "stopReason": "end_turn",
            "usage": {"inputTokens": 7, "outputTokens": 3, "totalTokens": 10},
        }
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


def test_aws_bedrock_speaks_converse_with_sigv4_to_a_local_fake() -> None:
    _BedrockConverse.seen.clear()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _BedrockConverse)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        config = {
            "model": "anthropic.claude-3-haiku-20240307-v1:0",
            "aws_region": "eu-west-1",
            "aws_access_key_id": "AKIDEXAMPLE",
            "aws_secret_access_key": "not-a-secret",
            "api_base": f"http://127.0.0.1:{httpd.server_port}",
            "max_retries": 0,
        }
        reply = build_llm({"provider": "aws_bedrock", "config": config}).complete(MESSAGES)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert (reply.text, reply.prompt_tokens, reply.completion_tokens) == ("from bedrock", 7, 3)
    ((path, headers, body),) = _BedrockConverse.seen
    assert path == "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse"
    assert headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/bedrock/aws4_request" in headers["authorization"]
    assert body["messages"] == [{"role": "user", "content": [{"text": "hi"}]}]
