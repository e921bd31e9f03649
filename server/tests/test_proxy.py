"""The OpenAI-compatible chat proxy through the real ``openai`` client (sync and async,
streamed and not), with ``ScriptedOpenAIServer`` as the upstream behind the live server."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from mnemoweave.llm.memory_block import CLOSE_TAG, OPEN_TAG, count_tokens, unquote_block
from mnemoweave.testing import ChatReply, Fault, RecordedRequest, ScriptedOpenAIServer
from mnemoweave_server.testing import LiveServer

MODEL = "gpt-test"  # the shared server maps it to the upstream's "scripted-model"


def wait_for(check: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    """Poll ``check`` until it returns something truthy (generous deadline, no fixed sleep)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def memories(live: LiveServer, user: str) -> list[str]:
    with live.client() as admin:
        return [m.memory for m in admin.get_all(user_id=user).results]


def remembered(live: LiveServer, user: str, *texts: str) -> list[str]:
    """The user's memories once they hold every one of ``texts`` (the background add)."""
    return wait_for(
        lambda: (found := memories(live, user)) and all(t in found for t in texts) and found,
        f"{texts} to be remembered for {user}",
    )


def system_block(request: RecordedRequest) -> str:
    system = request.messages[0]
    assert system["role"] == "system"
    content = system["content"]
    assert isinstance(content, str)
    return content[content.index(OPEN_TAG) : content.index(CLOSE_TAG) + len(CLOSE_TAG)]


@pytest.fixture
def key(live: LiveServer, uid: str) -> str:
    return live.create_key("proxy", users=[uid]).key


@pytest.fixture
def chat(live: LiveServer, key: str) -> Iterator[openai.OpenAI]:
    client = openai.OpenAI(base_url=f"{live.url}/v1", api_key=key, max_retries=0)
    yield client
    client.close()


def test_recall_goes_into_a_new_system_message(
    live: LiveServer, upstream: ScriptedOpenAIServer, chat: openai.OpenAI, uid: str
) -> None:
    with live.client() as admin:
        admin.add("Is vegetarian", user_id=uid, infer=False)
    upstream.script("Try the lentil soup.")
    ask = [{"role": "user", "content": "What should I cook tonight?"}]
    raw = chat.chat.completions.with_raw_response.create(model=MODEL, messages=ask, user=uid)
    reply = raw.parse()
    sent = upstream.chat_requests[-1]
    assert sent.model == "scripted-model"
    assert unquote_block(system_block(sent)) == ["Is vegetarian"]
    assert sent.messages[1:] == ask
    assert "user" in sent.body
    # The upstream's answer comes back as it was sent.
    assert reply.id == f"chatcmpl-scripted-{sent.index}"
    assert reply.model == "scripted-model"
    assert reply.choices[0].message.content == "Try the lentil soup."
    assert reply.usage is not None
    assert reply.usage.prompt_tokens == sent.prompt_tokens
    assert raw.headers["x-request-id"] == f"req_scripted_{sent.index}"
    found = remembered(live, uid, "What should I cook tonight?", "Try the lentil soup.")
    assert "Is vegetarian" in found


def test_recall_joins_an_existing_system_message_by_header(
    live: LiveServer, upstream: ScriptedOpenAIServer, chat: openai.OpenAI, uid: str
) -> None:
    with live.client() as admin:
        admin.add("Lives in Porto", user_id=uid, infer=False)
    upstream.script("Sunny.")
    chat.chat.completions.create(
        model=MODEL,
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Weather where I live?"},
        ],
        extra_headers={"X-Mnemoweave-User-Id": uid},
    )
    sent = upstream.chat_requests[-1]
    assert len(sent.messages) == 2
    assert sent.messages[0]["content"].startswith("Be brief.\n\n" + OPEN_TAG)
    assert unquote_block(system_block(sent)) == ["Lives in Porto"]


def test_a_key_bound_to_one_user_needs_no_user_field(
    live: LiveServer, upstream: ScriptedOpenAIServer, chat: openai.OpenAI, uid: str
) -> None:
    upstream.script("Noted.")
    chat.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "I ski."}])
    remembered(live, uid, "I ski.", "Noted.")


def test_the_block_stays_within_its_token_budget(
    live: LiveServer, upstream: ScriptedOpenAIServer, chat: openai.OpenAI, uid: str
) -> None:
    long_fact = "Enjoys " + " ".join(f"hobby{i}" for i in range(1500))  # ~1,500 tokens
    short = [f"Enjoys hobby number {i} on weekends" for i in range(8)]
    with live.client() as admin:
        admin.add(long_fact, user_id=uid, infer=False)
        for fact in short:
            admin.add(fact, user_id=uid, infer=False)
    upstream.script("ok")
    chat.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Which hobby do I enjoy?"}]
    )
    block = system_block(upstream.chat_requests[-1])
    # The default budget (1,000 tokens) has room for the short facts but not the long one:
    # a line that does not fit is dropped whole, never cut.
    assert sorted(unquote_block(block)) == sorted(short)
    assert count_tokens(block) <= 1000


def test_streamed_chunks_are_passed_on_as_they_arrive(
    live: LiveServer, upstream: ScriptedOpenAIServer, chat: openai.OpenAI, uid: str
) -> None:
    first_seen = threading.Event()
    pieces = ["Rain ", "is ", "likely ", "today."]
    # The upstream holds the stream after its first piece until the client has read that
    # piece through the proxy: a proxy that buffered the reply would never get the rest.
    upstream.script(
        ChatReply(
            "".join(pieces),
            chunks=pieces,
            after_chunk=lambda i: first_seen.wait(60) if i == 0 else None,
        )
    )
    stream = chat.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Do I need an umbrella?"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    received, ids = [], set()
    for chunk in stream:
        ids.add(chunk.id)
        if chunk.choices and chunk.choices[0].delta.content:
            received.append(chunk.choices[0].delta.content)
            first_seen.set()
        last = chunk
    assert received == pieces
    assert ids == {f"chatcmpl-scripted-{upstream.chat_requests[-1].index}"}
    assert last.usage is not None
    assert upstream.chat_requests[-1].body["stream"] is True
    remembered(live, uid, "Do I need an umbrella?", "Rain is likely today.")


def test_async_client_streamed_and_not(
    live: LiveServer, upstream: ScriptedOpenAIServer, key: str, uid: str
) -> None:
    with live.client() as admin:
        admin.add("Has a cat named Miso", user_id=uid, infer=False)

    async def main() -> tuple[str, list[str]]:
        async with openai.AsyncOpenAI(
            base_url=f"{live.url}/v1", api_key=key, max_retries=0
        ) as client:
            upstream.script("Miso says hi.")
            reply = await client.chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": "My cat's name?"}]
            )
            upstream.script("Feed Miso at six.")
            stream = await client.chat.completions.create(
                model=MODEL,
                messages=[{"role": "user", "content": "When do I feed my cat?"}],
                stream=True,
            )
            parts = [c.choices[0].delta.content async for c in stream if c.choices]
            return reply.choices[0].message.content or "", [p for p in parts if p]

    text, parts = asyncio.run(main())
    assert text == "Miso says hi."
    assert "".join(parts) == "Feed Miso at six."
    assert len(parts) == 4
    assert "Has a cat named Miso" in unquote_block(system_block(upstream.chat_requests[-1]))
    remembered(live, uid, "When do I feed my cat?", "Feed Miso at six.")


def test_a_key_bound_to_a_cannot_chat_as_b(
    live: LiveServer, upstream: ScriptedOpenAIServer, chat: openai.OpenAI, uid: str
) -> None:
    other = f"{uid}-b"
    with live.client() as admin:
        admin.add("B's bank PIN is 9876", user_id=other, infer=False)
    before = len(upstream.chat_requests)
    ask = [{"role": "user", "content": "What is the PIN?"}]
    with pytest.raises(openai.PermissionDeniedError) as denied:
        chat.chat.completions.create(model=MODEL, messages=ask, user=other)
    assert denied.value.status_code == 403
    assert "9876" not in denied.value.response.text
    with pytest.raises(openai.PermissionDeniedError):
        chat.chat.completions.create(
            model=MODEL, messages=ask, extra_headers={"X-Mnemoweave-User-Id": other}
        )
    with pytest.raises(openai.UnprocessableEntityError, match="name different users"):
        chat.chat.completions.create(
            model=MODEL, messages=ask, user=uid, extra_headers={"X-Mnemoweave-User-Id": other}
        )
    assert len(upstream.chat_requests) == before  # nothing was forwarded
    upstream.script("I can't tell.")
    chat.chat.completions.create(model=MODEL, messages=ask, user=uid)
    assert "9876" not in str(upstream.chat_requests[-1].messages)  # A's recall holds no B
    assert memories(live, other) == ["B's bank PIN is 9876"]


def test_upstream_errors_pass_through_and_never_show_its_key(
    live: LiveServer, upstream: ScriptedOpenAIServer, chat: openai.OpenAI, upstream_key: str
) -> None:
    ask = [{"role": "user", "content": "Hello?"}]
    upstream.script(Fault.rate_limit(retry_after=0.01))
    with pytest.raises(openai.RateLimitError) as limited:
        chat.chat.completions.create(model=MODEL, messages=ask)
    assert limited.value.status_code == 429
    assert "upstream answered HTTP 429: Rate limit reached" in limited.value.message
    assert limited.value.response.headers["retry-after"] == "0.01"

    upstream.script(Fault.server_error(500))
    with pytest.raises(openai.InternalServerError) as broken:
        chat.chat.completions.create(model=MODEL, messages=ask)
    assert broken.value.status_code == 500
    assert "upstream answered HTTP 500" in broken.value.message

    upstream.script(Fault.server_error(503))
    with pytest.raises(openai.InternalServerError) as unavailable:
        chat.chat.completions.create(model=MODEL, messages=ask, stream=True)
    assert unavailable.value.status_code == 503

    echo = f"Incorrect API key provided: {upstream_key}"
    upstream.script(Fault.error(401, echo, error_type="invalid_request_error"))
    with pytest.raises(openai.APIStatusError) as refused:
        chat.chat.completions.create(model=MODEL, messages=ask)
    assert refused.value.status_code == 502  # the client's own key was fine
    assert "refused the proxy's credentials" in refused.value.message
    upstream.script(Fault.error(400, echo))
    with pytest.raises(openai.BadRequestError) as bad:
        chat.chat.completions.create(model=MODEL, messages=ask)

    upstream.script("fine")
    good = chat.chat.completions.with_raw_response.create(model=MODEL, messages=ask)
    upstream.script("fine")
    with chat.chat.completions.with_streaming_response.create(
        model=MODEL, messages=ask, stream=True
    ) as streamed:
        stream_text = "".join(streamed.iter_text())
        stream_headers = str(streamed.headers)
    seen = [
        refused.value.response.text,
        str(refused.value.response.headers),
        bad.value.response.text,
        limited.value.response.text,
        str(limited.value.response.headers),
        good.text,
        str(good.headers),
        stream_text,
        stream_headers,
    ]
    for text in seen:
        assert upstream_key not in text
        assert "d0c5ecre7" not in text
    assert "***" in bad.value.response.text  # the echoed key was masked


def test_models_are_listed_from_the_upstream(chat: openai.OpenAI) -> None:
    assert [m.id for m in chat.models.list()] == ["scripted-model"]


def test_bad_requests_are_clear_and_unauthenticated_ones_refused(
    live: LiveServer, key: str
) -> None:
    url = f"{live.url}/v1/chat/completions"
    ask = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}
    assert httpx.post(url, json=ask).status_code == 401
    auth = {"Authorization": f"Bearer {key}"}
    for body, problem in (
        ({"messages": ask["messages"]}, "model:"),
        ({"model": MODEL, "messages": []}, "messages:"),
        ({"model": MODEL, "messages": [{"content": "no role"}]}, "messages[0]"),
        ({**ask, "stream": "yes"}, "stream:"),
        ({**ask, "user": ""}, "user:"),
    ):
        answer = httpx.post(url, json=body, headers=auth)
        assert answer.status_code == 422, answer.text
        assert problem in answer.json()["error"]["message"]
    answer = httpx.post(url, content=b"{not json", headers=auth)
    assert answer.status_code == 422
    assert "not valid JSON" in answer.json()["error"]["message"]


def test_failed_remembering_is_logged_and_counted(
    live: LiveServer, upstream: ScriptedOpenAIServer, chat: openai.OpenAI
) -> None:
    def errors() -> float:
        for line in httpx.get(f"{live.url}/metrics").text.splitlines():
            if line.startswith('mnemoweave_proxy_remembered_total{outcome="error"}'):
                return float(line.split()[-1])
        return 0.0

    before = errors()
    upstream.script("That is long.")
    too_long = "word " * 8000  # over the server's 32,768-character text limit
    reply = chat.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": too_long}]
    )
    assert reply.choices[0].message.content == "That is long."  # the answer is unaffected
    wait_for(lambda: errors() > before, "the failed remember to be counted")
    assert "could not remember a proxied exchange" in live.output()


def test_an_upstream_timeout_is_a_504(tmp_path: Path, server_env: dict[str, str]) -> None:
    with ScriptedOpenAIServer() as slow:
        args = ["--proxy-upstream", slow.base_url, "--proxy-timeout", "0.5"]
        with LiveServer(tmp_path / "store", args=args, env=server_env) as live:
            key = live.create_key("t", users=["u"]).key
            client = openai.OpenAI(base_url=f"{live.url}/v1", api_key=key, max_retries=0)
            slow.script(Fault.hang(30), Fault.hang(30))
            ask = [{"role": "user", "content": "hi"}]
            for stream in (False, True):
                with pytest.raises(openai.APIStatusError) as late:
                    client.chat.completions.create(model="m", messages=ask, stream=stream)
                assert late.value.status_code == 504
                assert "did not answer in time" in late.value.message
            client.close()
