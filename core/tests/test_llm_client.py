"""LLMConfig and LLMClient, end to end through the real openai SDK against the scripted server."""

from __future__ import annotations

import asyncio
import gc
import logging
import warnings
import weakref
from collections.abc import Iterator
from typing import Any

import pytest

from mnemoweave.errors import ConfigurationError, LLMError, ValidationError
from mnemoweave.llm import LOCAL_API_KEY, LLMClient, LLMConfig, LLMReply, is_local_url
from mnemoweave.testing import Fault, RecordedRequest, ScriptedOpenAIServer, count_tokens

MESSAGES = [
    {"role": "system", "content": "Extract facts as JSON."},
    {"role": "user", "content": "I am vegetarian."},
]
SCHEMA = {
    "type": "object",
    "properties": {"operations": {"type": "array", "items": {"type": "string"}}},
    "required": ["operations"],
    "additionalProperties": False,
}
SECRET = "sk-test-very-secret-key"


@pytest.fixture(autouse=True)
def _no_openai_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


@pytest.fixture
def server() -> Iterator[ScriptedOpenAIServer]:
    with ScriptedOpenAIServer() as srv:
        yield srv


def _client(server: ScriptedOpenAIServer, **overrides: Any) -> LLMClient:
    options: dict[str, Any] = {
        "model": "test-model",
        "base_url": server.base_url,
        "api_key": SECRET,
        "timeout": 60,  # generous: a loaded machine must not time out a normal call
        "max_retries": 2,
    }
    options.update(overrides)
    return LLMClient(LLMConfig(**options))


def _arun(client: LLMClient, **kwargs: Any) -> LLMReply:
    """``acomplete`` in a fresh event loop, closing that loop's HTTP client afterwards."""

    async def call() -> LLMReply:
        try:
            return await client.acomplete(MESSAGES, **kwargs)
        finally:
            await client.aclose()

    return asyncio.run(call())


def _reject_schema(request: RecordedRequest) -> Fault | None:
    """What an endpoint without structured outputs answers to a json_schema request."""
    if request.response_format_type == "json_schema":
        return Fault.bad_request(
            "response_format type json_schema is not supported", param="response_format"
        )
    return None


# -- calls ----------------------------------------------------------------------------------


def test_plain_completion_with_usage(server: ScriptedOpenAIServer) -> None:
    server.script("You are vegetarian.")
    reply = _client(server, max_tokens=50).complete(MESSAGES)

    assert isinstance(reply, LLMReply)
    assert reply.text == "You are vegetarian."
    (request,) = server.chat_requests
    assert reply.prompt_tokens == request.prompt_tokens > 0
    assert reply.completion_tokens == count_tokens("You are vegetarian.")
    assert reply.attempts == 1
    assert reply.model == "test-model"
    assert reply.finish_reason == "stop"
    assert reply.response_format == "none"
    assert reply.seconds > 0
    assert request.response_format is None  # no schema asked: no response_format sent
    assert request.body["temperature"] == 0.0
    assert request.body["max_tokens"] == 50
    assert request.messages == MESSAGES


def test_json_schema_is_sent(server: ScriptedOpenAIServer) -> None:
    server.script({"operations": []})
    reply = _client(server).complete(MESSAGES, json_schema=SCHEMA, schema_name="ops")

    assert reply.response_format == "json_schema"
    (request,) = server.chat_requests
    assert request.response_format_type == "json_schema"
    assert request.json_schema == {"name": "ops", "schema": SCHEMA, "strict": True}


def test_async_json_schema_is_sent(server: ScriptedOpenAIServer) -> None:
    server.script({"operations": ["a"]})
    reply = _arun(_client(server), json_schema=SCHEMA)

    assert reply.text == '{"operations": ["a"]}'
    assert server.chat_requests[0].json_schema is not None
    assert server.chat_requests[0].json_schema["name"] == "memory_ops"


def test_auto_downgrades_to_json_object_and_remembers(server: ScriptedOpenAIServer) -> None:
    server.handler = _reject_schema
    server.script({"operations": []}, {"operations": ["b"]})
    client = _client(server)

    first = client.complete(MESSAGES, json_schema=SCHEMA)
    assert first.response_format == "json_object"
    assert first.attempts == 2
    assert [r.response_format_type for r in server.chat_requests] == ["json_schema", "json_object"]
    assert client.response_format == "json_object"

    second = client.complete(MESSAGES, json_schema=SCHEMA)
    assert second.attempts == 1
    assert server.chat_requests[-1].response_format_type == "json_object"
    assert len(server.chat_requests) == 3


def test_auto_downgrades_to_no_format_async(server: ScriptedOpenAIServer) -> None:
    def reject_any_format(request: RecordedRequest) -> Fault | None:
        if request.wants_json:
            return Fault.error(422, "Unsupported value: 'response_format'")
        return None

    server.handler = reject_any_format
    server.script("plain text reply")
    reply = _arun(_client(server), json_schema=SCHEMA)

    assert reply.text == "plain text reply"
    assert reply.response_format == "none"
    assert reply.attempts == 3
    assert [r.response_format_type for r in server.chat_requests] == [
        "json_schema",
        "json_object",
        None,
    ]


def test_explicit_json_schema_mode_does_not_downgrade(server: ScriptedOpenAIServer) -> None:
    server.handler = _reject_schema
    with pytest.raises(LLMError, match="HTTP 400"):
        _client(server, response_format="json_schema").complete(MESSAGES, json_schema=SCHEMA)
    assert len(server.chat_requests) == 1


def test_json_object_and_none_modes(server: ScriptedOpenAIServer) -> None:
    server.script("{}", "{}")
    _client(server, response_format="json_object").complete(MESSAGES, json_schema=SCHEMA)
    _client(server, response_format="none").complete(MESSAGES, json_schema=SCHEMA)
    assert [r.response_format_type for r in server.chat_requests] == ["json_object", None]


def test_unrelated_bad_request_is_an_error_not_a_downgrade(server: ScriptedOpenAIServer) -> None:
    server.script(Fault.bad_request("context length exceeded", param="messages"))
    client = _client(server)
    with pytest.raises(LLMError, match="context length exceeded"):
        client.complete(MESSAGES, json_schema=SCHEMA)
    assert client.response_format == "json_schema"


def test_rate_limit_then_success(server: ScriptedOpenAIServer) -> None:
    server.script(Fault.rate_limit(retry_after=0.01), "ok")
    reply = _client(server).complete(MESSAGES)
    assert reply.text == "ok"
    assert reply.attempts == 2
    assert [r.status for r in server.chat_requests] == [429, 200]


def test_async_rate_limit_then_success(server: ScriptedOpenAIServer) -> None:
    server.script(Fault.rate_limit(retry_after=0.01), Fault.rate_limit(retry_after=0.01), "ok")
    reply = _arun(_client(server))
    assert reply.attempts == 3


def test_server_errors_exhausted_raise_llm_error(server: ScriptedOpenAIServer) -> None:
    server.script(*[Fault.server_error(500, retry_after=0.01)] * 3)
    with pytest.raises(LLMError) as info:
        _client(server, max_retries=2).complete(MESSAGES)

    message = str(info.value)
    assert "HTTP 500" in message
    assert server.base_url in message
    assert "'test-model'" in message
    assert SECRET not in message
    assert len(server.chat_requests) == 3


def test_timeout_raises_llm_error_sync(server: ScriptedOpenAIServer) -> None:
    server.script(Fault.hang(5))
    with pytest.raises(LLMError, match="timed out"):
        _client(server, timeout=0.5, max_retries=0).complete(MESSAGES)
    assert len(server.chat_requests) == 1


def test_timeout_raises_llm_error_async(server: ScriptedOpenAIServer) -> None:
    server.script(Fault.hang(5), Fault.hang(5))
    with pytest.raises(LLMError, match="timed out"):
        _arun(_client(server, timeout=0.5, max_retries=1))
    assert len(server.chat_requests) == 2


def test_malformed_body_raises_llm_error(server: ScriptedOpenAIServer) -> None:
    server.script(Fault.malformed(), Fault.malformed('{"object": "not a completion"}'))
    client = _client(server)
    for _ in range(2):
        with pytest.raises(LLMError, match="not a valid chat completion"):
            client.complete(MESSAGES)


def test_connection_refused_raises_llm_error() -> None:
    with ScriptedOpenAIServer() as srv:
        url = srv.base_url
    client = LLMClient(LLMConfig(base_url=url, max_retries=0, timeout=2))
    with pytest.raises(LLMError, match="could not connect"):
        client.complete(MESSAGES)


def test_async_client_survives_separate_event_loops(server: ScriptedOpenAIServer) -> None:
    server.script("one", "two")
    client = _client(server)
    first_loop: list[weakref.ref[asyncio.AbstractEventLoop]] = []

    async def first() -> LLMReply:
        first_loop.append(weakref.ref(asyncio.get_running_loop()))
        return await client.acomplete(MESSAGES)  # leaves this loop's client open

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)  # that loop's sockets, once collected
        assert asyncio.run(first()).text == "one"
        assert _arun(client).text == "two"
        gc.collect()
    assert first_loop[0]() is None  # the finished loop (and its client) were let go


def test_extra_headers_and_body_are_sent(server: ScriptedOpenAIServer) -> None:
    server.script("ok")
    client = _client(server, extra_headers={"X-Team": "memory"}, extra_body={"top_k": 20})
    client.complete(MESSAGES)
    request = server.chat_requests[0]
    assert request.headers["x-team"] == "memory"
    assert request.body["top_k"] == 20


def test_api_key_is_never_logged_or_shown(
    server: ScriptedOpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.handler = _reject_schema
    server.script("{}")
    client = _client(server)
    with caplog.at_level(logging.DEBUG):
        client.complete(MESSAGES, json_schema=SCHEMA)
    assert "json_object from now on" in caplog.text
    assert SECRET not in caplog.text
    assert SECRET not in repr(client.config)
    assert SECRET not in repr(client)


def test_bad_messages_are_a_validation_error(server: ScriptedOpenAIServer) -> None:
    client = _client(server)
    for bad in ([], "hello", [{"content": "no role"}]):
        with pytest.raises(ValidationError):
            client.complete(bad)  # type: ignore[arg-type]
    assert server.requests == []


# -- configuration --------------------------------------------------------------------------


def test_defaults_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    config = LLMConfig()
    assert config.model == "gpt-4.1-mini"
    assert config.base_url is None
    assert config.api_key is None
    assert (config.temperature, config.timeout, config.max_retries) == (0.0, 60.0, 3)
    assert config.response_format == "auto"

    monkeypatch.setenv("OPENAI_BASE_URL", "https://llm.example.com/v1")
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    from_env = LLMConfig()
    assert from_env.base_url == "https://llm.example.com/v1"
    assert from_env.resolved_api_key() == SECRET
    assert SECRET not in repr(from_env)


def test_missing_key_fails_only_when_the_client_is_built() -> None:
    client = LLMClient({"model": "gpt-4.1-mini"})  # no key, default OpenAI endpoint: fine here
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        client.complete(MESSAGES)
    remote = LLMConfig(base_url="https://llm.example.com/v1")
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        remote.resolved_api_key()


def test_local_endpoints_get_a_placeholder_key(server: ScriptedOpenAIServer) -> None:
    server.script("ok")
    client = LLMClient(LLMConfig(base_url=server.base_url, max_retries=0))
    assert client.config.resolved_api_key() == LOCAL_API_KEY
    assert client.complete(MESSAGES).text == "ok"


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("http://localhost:11434/v1", True),
        ("http://127.0.0.1:8000/v1", True),
        ("http://[::1]:1234/v1", True),
        ("http://0.0.0.0:8080", True),
        ("http://gpu.localhost/v1", True),
        ("https://api.openai.com/v1", False),
        ("http://10.0.0.5:8000/v1", False),
        (None, False),
    ],
)
def test_is_local_url(url: str | None, local: bool) -> None:
    assert is_local_url(url) is local


def test_from_any_simple_shapes() -> None:
    assert LLMConfig.from_any(None) == LLMConfig()
    config = LLMConfig(model="m", timeout=5)
    assert LLMConfig.from_any(config) is config
    assert LLMConfig.from_any("llama3.1").model == "llama3.1"
    assert LLMConfig.from_any({"model": "m", "max_retries": 0}).max_retries == 0


def test_from_any_mem0_openai(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    config = LLMConfig.from_any(
        {
            "provider": "openai",
            "config": {
                "model": "gpt-4.1-nano",
                "temperature": 0.2,
                "max_tokens": 2000,
                "openai_base_url": "https://proxy.example.com/v1",
            },
        }
    )
    assert config.model == "gpt-4.1-nano"
    assert (config.temperature, config.max_tokens) == (0.2, 2000)
    assert config.base_url == "https://proxy.example.com/v1"
    assert config.resolved_api_key() == SECRET


@pytest.mark.parametrize(
    ("provider", "url_key", "url", "expected"),
    [
        ("ollama", None, None, "http://localhost:11434/v1"),
        ("ollama", "ollama_base_url", "http://localhost:11434", "http://localhost:11434/v1"),
        ("ollama", "ollama_base_url", "http://gpu-box:11434/v1", "http://gpu-box:11434/v1"),
        ("lmstudio", None, None, "http://localhost:1234/v1"),
        ("vllm", None, None, "http://localhost:8000/v1"),
        ("vllm", "vllm_base_url", "http://gpu-box:8000/v1", "http://gpu-box:8000/v1"),
        ("openai_compatible", "base_url", "http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1"),
    ],
)
def test_from_any_mem0_local_providers(
    monkeypatch: pytest.MonkeyPatch,
    provider: str,
    url_key: str | None,
    url: str | None,
    expected: str,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    options: dict[str, Any] = {"model": "llama3.1:8b"}
    if url_key:
        options[url_key] = url
    config = LLMConfig.from_any({"provider": provider, "config": options})
    assert config.base_url == expected
    assert config.model == "llama3.1:8b"
    if provider != "openai_compatible":
        assert config.resolved_api_key() == LOCAL_API_KEY  # the OpenAI key is not sent there


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        ({"provider": "openai", "config": {"model": "m", "top_q": 0.9}}, "top_q"),
        ({"provider": "ollama", "config": {"vision_details": "ultra"}}, "vision_details"),
        ({"provider": "openai", "config": {}, "extra": 1}, "extra"),
        ({"provider": "anthropic_native", "config": {}}, "anthropic_native"),
        ({"model": "m", "temprature": 0.1}, "temprature"),
        ({"model": "m", "temperature": 9}, "temperature"),
        ({"provider": "openai", "config": "gpt-4"}, "config"),
        (42, "int"),
    ],
)
def test_from_any_rejects_bad_config_by_name(spec: Any, named: str) -> None:
    with pytest.raises(ConfigurationError, match=named):
        LLMConfig.from_any(spec)


def test_mem0_vision_options_are_read() -> None:
    config = LLMConfig.from_any(
        {"provider": "ollama", "config": {"enable_vision": True, "vision_details": "high"}}
    )
    assert config.enable_vision is True
    assert config.vision_details == "high"
    assert LLMConfig.from_any({"model": "m"}).enable_vision is False


def test_from_any_rejects_conflicting_base_urls() -> None:
    spec = {
        "provider": "openai",
        "config": {"openai_base_url": "http://a/v1", "base_url": "http://b/v1"},
    }
    with pytest.raises(ConfigurationError, match="conflicting"):
        LLMConfig.from_any(spec)


def test_llm_client_accepts_mem0_dict_and_is_lazy() -> None:
    client = LLMClient({"provider": "ollama", "config": {"model": "qwen3:4b"}})
    assert client.config.base_url == "http://localhost:11434/v1"
    assert "qwen3:4b" in repr(client)
