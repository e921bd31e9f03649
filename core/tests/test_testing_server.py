"""ScriptedOpenAIServer driven through the real ``openai`` SDK (sync and async)."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import numpy as np
import openai
import pytest

from mnemoweave.testing import (
    ChatReply,
    Fault,
    RecordedRequest,
    ScriptedOpenAIServer,
    count_prompt_tokens,
    count_tokens,
    fenced,
    prose_wrapped,
    with_think,
)
from mnemoweave.testing.pytest_plugin import scripted_openai_server

USER = [{"role": "user", "content": "I moved to Lisbon last year."}]


@pytest.fixture
def server() -> Iterator[ScriptedOpenAIServer]:
    with ScriptedOpenAIServer(embedding_dim=32) as srv:
        yield srv


def _chat(client: openai.OpenAI, **kwargs: Any) -> Any:
    return client.chat.completions.create(model="test-model", messages=USER, **kwargs)


def _post(url: str, payload: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    """A raw HTTP POST (no SDK), to look at status, headers and body as sent."""
    req = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, dict(resp.headers.items()), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers.items()), err.read()


# -- token counting -------------------------------------------------------------------------


def test_count_tokens_rule() -> None:
    assert count_tokens("Hello, world!") == 4
    assert count_tokens("") == 0
    assert count_tokens("  \n\t ") == 0
    assert count_tokens("Grüße, 世界") == 3
    assert count_tokens('{"a": [1, 2]}') == 11


def test_count_prompt_tokens_rule() -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "Hi there"}]},
    ]
    # 3 priming + (4 + 3) + (4 + 2)
    assert count_prompt_tokens(messages) == 16


# -- chat round trips -----------------------------------------------------------------------


def test_scripted_reply_round_trip_with_usage(server: ScriptedOpenAIServer) -> None:
    server.script("You live in Lisbon.")
    reply = _chat(server.client(api_key="sk-secret"))

    assert reply.choices[0].message.content == "You live in Lisbon."
    assert reply.choices[0].finish_reason == "stop"
    expected_prompt = count_prompt_tokens(USER)
    assert reply.usage is not None
    assert reply.usage.prompt_tokens == expected_prompt == 3 + 4 + 7
    assert reply.usage.completion_tokens == count_tokens("You live in Lisbon.") == 5
    assert reply.usage.total_tokens == expected_prompt + 5

    (request,) = server.chat_requests
    assert request.path == "/v1/chat/completions"
    assert request.model == "test-model"
    assert request.messages == USER
    assert request.status == 200
    assert request.text == "You live in Lisbon."
    assert "authorization" not in request.headers
    assert "sk-secret" not in json.dumps(request.headers)
    assert request.headers["content-type"].startswith("application/json")
    assert (server.prompt_tokens, server.completion_tokens) == (expected_prompt, 5)
    assert server.pending == 0


def test_async_client_round_trip(server: ScriptedOpenAIServer) -> None:
    server.script({"facts": ["lives in Lisbon"]}, ["a", "b"])

    async def run() -> list[str | None]:
        client = server.async_client()
        first = await client.chat.completions.create(model="m", messages=USER)
        second = await client.chat.completions.create(model="m", messages=USER)
        await client.close()
        return [first.choices[0].message.content, second.choices[0].message.content]

    first, second = asyncio.run(run())
    assert json.loads(first or "") == {"facts": ["lives in Lisbon"]}
    assert json.loads(second or "") == ["a", "b"]
    assert len(server.chat_requests) == 2


def test_path_without_v1_prefix(server: ScriptedOpenAIServer) -> None:
    server.script("ok")
    client = openai.OpenAI(base_url=server.url, api_key="x")
    assert _chat(client).choices[0].message.content == "ok"
    assert server.requests[0].path == "/chat/completions"


def test_json_mode_and_schema_are_recorded(server: ScriptedOpenAIServer) -> None:
    schema = {"type": "object", "properties": {"ops": {"type": "array"}}, "required": ["ops"]}
    server.script({"ops": []}, {"ops": []}, "plain")
    client = server.client()
    _chat(client, response_format={"type": "json_object"})
    _chat(
        client,
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "memory_ops", "schema": schema, "strict": True},
        },
    )
    _chat(client)

    json_mode, with_schema, plain = server.chat_requests
    assert json_mode.response_format == {"type": "json_object"}
    assert json_mode.wants_json
    assert json_mode.json_schema is None
    assert with_schema.response_format_type == "json_schema"
    assert with_schema.json_schema is not None
    assert with_schema.json_schema["schema"] == schema
    assert with_schema.json_schema["name"] == "memory_ops"
    assert plain.response_format is None
    assert not plain.wants_json


def test_validate_json_makes_non_json_reply_loud() -> None:
    with ScriptedOpenAIServer(validate_json=True) as srv:
        srv.script("not json at all")
        with pytest.raises(openai.InternalServerError, match="not JSON"):
            _chat(srv.client(max_retries=2), response_format={"type": "json_object"})
        assert len(srv.chat_requests) == 1  # x-should-retry: false stopped the SDK
        assert srv.problems


def test_finish_reason_and_reply_helpers(server: ScriptedOpenAIServer) -> None:
    obj = {"ops": [{"event": "ADD", "text": "likes {braces}"}]}
    server.script(
        ChatReply("cut off", finish_reason="length"),
        fenced(obj),
        prose_wrapped(obj),
        with_think(obj),
    )
    client = server.client()
    truncated = _chat(client)
    assert truncated.choices[0].finish_reason == "length"
    contents = [_chat(client).choices[0].message.content or "" for _ in range(3)]
    dumped = json.dumps(obj)
    assert contents[0] == f"```json\n{dumped}\n```"
    assert contents[1].startswith("Sure!")
    assert dumped in contents[1]
    assert not contents[1].rstrip().endswith("}")
    assert contents[2].startswith("<think>")
    assert contents[2].endswith(dumped)


# -- faults ---------------------------------------------------------------------------------


def test_rate_limit_headers_on_the_wire(server: ScriptedOpenAIServer) -> None:
    server.script(Fault.rate_limit(retry_after=0.25))
    status, headers, body = _post(
        server.base_url + "/chat/completions", {"model": "m", "messages": USER}
    )
    assert status == 429
    lowered = {k.lower(): v for k, v in headers.items()}
    assert lowered["retry-after"] == "0.25"
    assert lowered["retry-after-ms"] == "250"
    assert json.loads(body)["error"]["code"] == "rate_limit_exceeded"


def test_rate_limit_then_success_is_retried_by_sdk(server: ScriptedOpenAIServer) -> None:
    server.script(Fault.rate_limit(retry_after=0.01), "second time lucky")
    reply = _chat(server.client(max_retries=2))

    assert reply.choices[0].message.content == "second time lucky"
    first, second = server.chat_requests
    assert (first.status, second.status) == (429, 200)
    assert (first.retry_count, second.retry_count) == (0, 1)
    assert isinstance(first.reply, Fault)
    # Billing-style totals count only the answered request.
    assert server.prompt_tokens == second.prompt_tokens


def test_async_rate_limit_then_success(server: ScriptedOpenAIServer) -> None:
    server.script(Fault.rate_limit(retry_after=0.01), "ok")

    async def run() -> str | None:
        async with server.async_client(max_retries=1) as client:
            reply = await client.chat.completions.create(model="m", messages=USER)
        return reply.choices[0].message.content

    assert asyncio.run(run()) == "ok"
    assert [r.status for r in server.chat_requests] == [429, 200]


def test_server_errors_exhaust_retries(server: ScriptedOpenAIServer) -> None:
    server.script(*[Fault.server_error(503, retry_after=0.01)] * 3, "never reached")
    with pytest.raises(openai.InternalServerError) as info:
        _chat(server.client(max_retries=2))

    assert info.value.status_code == 503
    assert [r.status for r in server.chat_requests] == [503, 503, 503]
    assert server.pending == 1


def test_bad_request_is_not_retried(server: ScriptedOpenAIServer) -> None:
    server.script(Fault.bad_request("response_format is not supported", param="response_format"))
    with pytest.raises(openai.BadRequestError) as info:
        _chat(server.client(max_retries=3))
    assert "response_format" in info.value.message
    assert isinstance(info.value.body, dict)
    assert info.value.body["param"] == "response_format"
    assert len(server.chat_requests) == 1


def test_hang_past_client_timeout_sync(server: ScriptedOpenAIServer) -> None:
    server.script(Fault.hang(5), Fault.hang(5))
    with pytest.raises(openai.APITimeoutError):
        _chat(server.client(max_retries=1, timeout=0.2))
    assert len(server.chat_requests) == 2
    assert all(r.status is None for r in server.chat_requests)


def test_hang_past_client_timeout_async(server: ScriptedOpenAIServer) -> None:
    server.script(Fault.hang(5))

    async def run() -> None:
        async with server.async_client(max_retries=0, timeout=0.2) as client:
            await client.chat.completions.create(model="m", messages=USER)

    with pytest.raises(openai.APITimeoutError):
        asyncio.run(run())
    assert len(server.chat_requests) == 1


def test_disconnect_is_a_connection_error(server: ScriptedOpenAIServer) -> None:
    server.script(Fault.disconnect())
    with pytest.raises(openai.APIConnectionError):
        _chat(server.client(max_retries=0))


def test_malformed_body_breaks_the_sdk(server: ScriptedOpenAIServer) -> None:
    server.script(Fault.malformed())
    # The SDK does not wrap JSON decoding failures: they surface as ValueError.
    with pytest.raises(ValueError):
        _chat(server.client(max_retries=0))
    assert server.chat_requests[0].status == 200


def test_stream_sends_the_reply_in_chunks(server: ScriptedOpenAIServer) -> None:
    server.script("Lisbon is lovely in May.")
    chunks = list(_chat(server.client(), stream=True, stream_options={"include_usage": True}))
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    texts = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert texts == ["Lisbon ", "is ", "lovely ", "in ", "May."]
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == count_tokens("Lisbon is lovely in May.")
    assert server.chat_requests[0].reply == "Lisbon is lovely in May."


def test_stream_pieces_go_out_before_the_reply_ends(server: ScriptedOpenAIServer) -> None:
    """``after_chunk`` holds the stream after the first piece until the client has read it."""
    seen_first = threading.Event()
    server.script(
        ChatReply(
            "ab",
            chunks=["a", "b"],
            after_chunk=lambda i: seen_first.wait(60) if i == 0 else None,
        )
    )
    texts, usages = [], []
    for chunk in _chat(server.client(), stream=True):
        usages.append(chunk.usage)
        if chunk.choices and chunk.choices[0].delta.content:
            texts.append(chunk.choices[0].delta.content)
            seen_first.set()
    assert texts == ["a", "b"]
    assert usages == [None] * len(usages)  # no usage chunk unless include_usage asks


def test_stream_faults_stay_http_errors(server: ScriptedOpenAIServer) -> None:
    server.script(Fault.rate_limit(retry_after=0.01), "after the retry")
    chunks = list(_chat(server.client(max_retries=1), stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == (
        "after the retry"
    )
    assert [r.status for r in server.chat_requests] == [429, 200]


def test_async_stream(server: ScriptedOpenAIServer) -> None:
    server.script("one two")

    async def main() -> str:
        client = server.async_client()
        stream = await client.chat.completions.create(
            model="test-model", messages=USER, stream=True
        )
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        await client.close()
        return text

    assert asyncio.run(main()) == "one two"


# -- handlers and loud errors ---------------------------------------------------------------


def test_handler_function_answers_from_the_request() -> None:
    seen: list[RecordedRequest] = []

    def handler(request: RecordedRequest) -> str:
        seen.append(request)
        return request.messages[-1]["content"].upper()

    with ScriptedOpenAIServer(handler=handler) as srv:
        assert _chat(srv.client()).choices[0].message.content == USER[0]["content"].upper()
        srv.handler = lambda request: {"model_seen": request.model}
        assert json.loads(_chat(srv.client()).choices[0].message.content or "") == {
            "model_seen": "test-model"
        }
    assert seen[0].status is None  # handlers see the request before it is answered
    assert seen[0].prompt_tokens == count_prompt_tokens(USER)


def test_handler_none_falls_back_to_script(server: ScriptedOpenAIServer) -> None:
    def reject_schema(request: RecordedRequest) -> Fault | None:
        if request.response_format_type == "json_schema":
            return Fault.bad_request("json_schema unsupported", param="response_format")
        return None

    server.handler = reject_schema
    server.script("from the queue")
    client = server.client(max_retries=0)
    schema_format = {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}}
    with pytest.raises(openai.BadRequestError):
        _chat(client, response_format=schema_format)
    assert _chat(client).choices[0].message.content == "from the queue"
    assert server.pending == 0


def test_empty_script_is_loud_and_not_retried(server: ScriptedOpenAIServer) -> None:
    with pytest.raises(openai.InternalServerError, match="script ran out"):
        _chat(server.client(max_retries=3))
    assert len(server.chat_requests) == 1
    assert "script ran out" in server.problems[0]


def test_handler_exception_is_loud(server: ScriptedOpenAIServer) -> None:
    def broken(request: RecordedRequest) -> str:
        raise KeyError("oops")

    server.handler = broken
    with pytest.raises(openai.InternalServerError, match="handler raised KeyError"):
        _chat(server.client(max_retries=2))
    assert len(server.chat_requests) == 1


def test_bad_reply_types_are_rejected_early(server: ScriptedOpenAIServer) -> None:
    with pytest.raises(TypeError):
        server.script(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        server.enqueue_embedding_fault("nope")  # type: ignore[arg-type]


def test_reset_forgets_everything_but_the_handler(server: ScriptedOpenAIServer) -> None:
    server.script("a", "b")
    _chat(server.client())
    server.enqueue_embedding_fault(Fault.server_error())
    server.reset()
    assert server.requests == []
    assert (server.pending, server.pending_embedding_faults) == (0, 0)
    assert (server.prompt_tokens, server.completion_tokens) == (0, 0)


def test_concurrent_requests_are_each_recorded_once(server: ScriptedOpenAIServer) -> None:
    server.handler = lambda request: request.messages[0]["content"]
    client = server.client(max_retries=0)
    answers: dict[int, str | None] = {}

    def ask(i: int) -> None:
        reply = client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": f"question {i}"}]
        )
        answers[i] = reply.choices[0].message.content

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == {i: f"question {i}" for i in range(12)}
    indices = [r.index for r in server.requests]
    assert sorted(indices) == list(range(12)) == indices


def test_models_endpoint() -> None:
    with ScriptedOpenAIServer(models=("alpha", "beta")) as srv:
        client = srv.client()
        assert [m.id for m in client.models.list()] == ["alpha", "beta"]
        assert client.models.retrieve("beta").id == "beta"
        with pytest.raises(openai.NotFoundError):
            client.models.retrieve("gamma")


def test_unknown_route_is_404(server: ScriptedOpenAIServer) -> None:
    status, _, body = _post(server.base_url + "/completions", {"prompt": "x"})
    assert status == 404
    assert "no route" in json.loads(body)["error"]["message"]


# -- embeddings -----------------------------------------------------------------------------


def test_embeddings_float_and_base64_round_trip(server: ScriptedOpenAIServer) -> None:
    texts = ["I like green tea", "Lisbon is sunny"]
    expected = server.expected_embeddings(texts)
    client = server.client()
    as_float = client.embeddings.create(model="emb", input=texts, encoding_format="float")
    default = client.embeddings.create(model="emb", input=texts)  # the SDK asks for base64

    for response in (as_float, default):
        got = np.array([d.embedding for d in response.data], dtype=np.float32)
        assert got.shape == (2, 32)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
        assert response.usage.prompt_tokens == count_tokens(texts[0]) + count_tokens(texts[1])
    formats = [r.body.get("encoding_format") for r in server.embedding_requests]
    assert formats == ["float", "base64"]
    assert server.embedding_tokens == 2 * (4 + 3)


def test_embeddings_base64_on_the_wire(server: ScriptedOpenAIServer) -> None:
    status, _, body = _post(
        server.base_url + "/embeddings",
        {"model": "e", "input": "hello", "encoding_format": "base64"},
    )
    assert status == 200
    encoded = json.loads(body)["data"][0]["embedding"]
    decoded = np.frombuffer(base64.b64decode(encoded), dtype="<f4")
    np.testing.assert_array_equal(decoded, server.expected_embeddings(["hello"])[0])


def test_embeddings_dimensions_and_async(server: ScriptedOpenAIServer) -> None:
    async def run() -> Any:
        async with server.async_client() as client:
            return await client.embeddings.create(model="emb", input="hello", dimensions=64)

    response = asyncio.run(run())
    assert len(response.data[0].embedding) == 64
    np.testing.assert_allclose(
        response.data[0].embedding, server.expected_embeddings(["hello"], 64)[0], atol=1e-6
    )
    assert server.embedding_requests[0].body["dimensions"] == 64


def test_embedding_fault_queue_then_success(server: ScriptedOpenAIServer) -> None:
    server.enqueue_embedding_fault(Fault.rate_limit(retry_after=0.01))
    response = server.client(max_retries=1).embeddings.create(model="e", input=["a b"])
    assert len(response.data) == 1
    assert [r.status for r in server.embedding_requests] == [429, 200]
    assert server.pending_embedding_faults == 0


def test_embedding_handler_can_fail_big_batches(server: ScriptedOpenAIServer) -> None:
    def limit(request: RecordedRequest) -> Fault | None:
        if len(request.inputs) > 2:
            return Fault.bad_request("too many inputs", param="input")
        return None

    server.embedding_handler = limit
    client = server.client(max_retries=0)
    with pytest.raises(openai.BadRequestError, match="too many inputs"):
        client.embeddings.create(model="e", input=["a", "b", "c"])
    assert len(client.embeddings.create(model="e", input=["a", "b"]).data) == 2
    assert [len(r.inputs) for r in server.embedding_requests] == [3, 2]


# -- pytest plugin --------------------------------------------------------------------------


def test_pytest_plugin_fixture(scripted_openai_server: ScriptedOpenAIServer) -> None:
    scripted_openai_server.script("from the fixture")
    reply = _chat(scripted_openai_server.client())
    assert reply.choices[0].message.content == "from the fixture"


def test_stop_is_idempotent_and_frees_the_server() -> None:
    srv = ScriptedOpenAIServer().start()
    srv.script(Fault.hang(30))
    url = srv.base_url
    errors: list[BaseException] = []

    def hung_call() -> None:
        try:
            openai.OpenAI(base_url=url, api_key="x", max_retries=0, timeout=30).models.list()
            _chat(openai.OpenAI(base_url=url, api_key="x", max_retries=0, timeout=30))
        except BaseException as exc:
            errors.append(exc)

    caller = threading.Thread(target=hung_call)
    caller.start()
    deadline = time.monotonic() + 120  # generous: a loaded machine starts the call late
    while not srv.chat_requests and time.monotonic() < deadline:
        threading.Event().wait(0.01)
    assert srv.chat_requests, "the client never reached the hanging call"
    srv.stop()  # ends the 30 s hang: the client sees the connection drop
    srv.stop()
    caller.join(timeout=120)
    assert not caller.is_alive()
    assert len(errors) == 1
    assert isinstance(errors[0], openai.APIConnectionError)
    with pytest.raises(RuntimeError):
        _ = srv.base_url


_ = scripted_openai_server  # imported for its fixture
