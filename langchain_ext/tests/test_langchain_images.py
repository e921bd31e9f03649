"""LangChain messages with image content blocks reach the one extraction request."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from mnemoweave import Memory
from mnemoweave.testing import ScriptedOpenAIServer
from mnemoweave.testing import operations as ops
from mnemoweave_adapters import MemoryBinding
from mnemoweave_langchain import MnemoweaveChatMessageHistory
from mnemoweave_langchain._middleware import latest_exchange

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32).decode()
DATA_URI = f"data:image/png;base64,{PNG}"
URL = "https://example.com/receipt.jpg"


@pytest.fixture
def server() -> Iterator[ScriptedOpenAIServer]:
    with ScriptedOpenAIServer() as srv:
        yield srv


@pytest.fixture
def vision(tmp_path: Path, server: ScriptedOpenAIServer) -> Iterator[Memory]:
    llm = {"model": "m", "base_url": server.base_url, "api_key": "k", "enable_vision": True}
    memory = Memory(tmp_path / "vision", embedder="hash", llm=llm)
    yield memory
    memory.close()


def request_parts(server: ScriptedOpenAIServer) -> list[dict[str, Any]]:
    (request,) = server.chat_requests  # the one extraction call
    content = request.messages[-1]["content"]
    assert isinstance(content, list), "no image reached the extraction request"
    return list(content)


@pytest.mark.parametrize(
    ("block", "url"),
    [
        ({"type": "image_url", "image_url": {"url": URL}}, URL),  # OpenAI style
        ({"type": "image", "url": URL}, URL),  # LangChain v1 standard block
        ({"type": "image", "base64": PNG, "mime_type": "image/png"}, DATA_URI),
    ],
)
def test_history_turn_with_an_image_block_reaches_the_extraction_call(
    vision: Memory, server: ScriptedOpenAIServer, block: dict[str, Any], url: str
) -> None:
    server.script(ops(("ADD", None, "Bought groceries for 42 EUR")))
    history = MnemoweaveChatMessageHistory(MemoryBinding(vision, user_id="ada"))
    history.add_messages(
        [
            HumanMessage(content=[{"type": "text", "text": "my receipt"}, block]),
            AIMessage(content="Noted, 42 EUR."),
        ]
    )
    parts = request_parts(server)
    assert "my receipt" in parts[0]["text"]
    assert [p["image_url"]["url"] for p in parts[1:]] == [url]
    assert [m.memory for m in vision.get_all(user_id="ada").results] == [
        "Bought groceries for 42 EUR"
    ]


def test_agent_middleware_exchange_keeps_the_image() -> None:
    human = HumanMessage(
        content=[{"type": "text", "text": "this is me"}, {"type": "image", "url": URL}]
    )
    turn = latest_exchange([human, AIMessage(content="Nice photo!")])
    assert turn[0]["content"][1] == {"type": "image_url", "image_url": {"url": URL}}
    assert turn[1] == {"role": "assistant", "content": "Nice photo!"}


def test_image_block_without_vision_is_stored_as_a_reference_when_raw(memory: Memory) -> None:
    history = MnemoweaveChatMessageHistory(MemoryBinding(memory, user_id="ada"))
    history.add_messages([HumanMessage(content=[{"type": "image", "url": URL}])])
    stored = [m.memory for m in memory.get_all(user_id="ada").results]
    assert stored == [f"[image 1: {URL}]"]
