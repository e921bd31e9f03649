"""LlamaIndex ``ImageBlock``s in chat messages reach the one extraction request."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from llama_index.core.base.llms.types import ImageBlock
from llama_index.core.llms import ChatMessage, MessageRole, TextBlock

from mnemoweave import Memory, ValidationError
from mnemoweave.testing import ScriptedOpenAIServer
from mnemoweave.testing import operations as ops
from mnemoweave_llamaindex import MnemoweaveMemory
from mnemoweave_llamaindex._chat import as_record, from_record

RAW_PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
DATA_URI = "data:image/png;base64," + base64.b64encode(RAW_PNG).decode()
URL = "https://example.com/plant.jpg"


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


def image_urls(server: ScriptedOpenAIServer) -> list[str]:
    (request,) = server.chat_requests  # one extraction call for the turn
    content = request.messages[-1]["content"]
    assert isinstance(content, list), "no image reached the extraction request"
    return [p["image_url"]["url"] for p in content if p["type"] == "image_url"]


@pytest.mark.parametrize(
    ("block", "url"),
    [(ImageBlock(url=URL), URL), (ImageBlock(image=RAW_PNG), DATA_URI)],
    ids=["url", "bytes"],
)
def test_a_turn_with_an_image_block_reaches_the_extraction_call(
    vision: Memory, server: ScriptedOpenAIServer, block: ImageBlock, url: str
) -> None:
    server.script(ops(("ADD", None, "Owns a monstera")))
    mem = MnemoweaveMemory.from_memory(vision, user_id="ada")
    mem.put(ChatMessage(role=MessageRole.USER, blocks=[TextBlock(text="my plant"), block]))
    mem.put(ChatMessage(role=MessageRole.ASSISTANT, content="A lovely monstera."))
    mem.flush()
    assert image_urls(server) == [url]
    assert "my plant" in server.chat_requests[0].messages[-1]["content"][0]["text"]
    assert [m.memory for m in vision.get_all(user_id="ada").results] == ["Owns a monstera"]


def test_image_records_round_trip_through_pending_state(store: Memory) -> None:
    message = ChatMessage(role=MessageRole.USER, blocks=[TextBlock(text="hi"), ImageBlock(url=URL)])
    record = as_record(message)
    assert record is not None
    content: Any = record["content"]
    assert content == [
        {"type": "text", "text": "hi"},
        {"type": "image_url", "image_url": {"url": URL}},
    ]
    rebuilt = from_record(record)
    assert [type(b).__name__ for b in rebuilt.blocks] == ["TextBlock", "ImageBlock"]
    assert as_record(rebuilt) == record


def test_an_image_block_path_is_read_only_with_allow_files(
    tmp_path: Path, server: ScriptedOpenAIServer
) -> None:
    picture = tmp_path / "plant.png"
    picture.write_bytes(RAW_PNG)
    llm = {"model": "m", "base_url": server.base_url, "api_key": "k", "enable_vision": True}
    message = ChatMessage(role=MessageRole.USER, blocks=[ImageBlock(path=picture)])
    with Memory(tmp_path / "off", embedder="hash", llm=llm) as store:
        binding = MnemoweaveMemory.from_memory(store, user_id="ada").binding
        with pytest.raises(ValidationError, match="allow_files=True"):
            binding.remember([as_record(message)])
    assert server.chat_requests == []
    server.script(ops(("ADD", None, "Has a plant picture")))
    with Memory(tmp_path / "on", embedder="hash", llm=llm, allow_files=True) as store:
        MnemoweaveMemory.from_memory(store, user_id="ada").binding.remember([as_record(message)])
    assert image_urls(server) == [DATA_URI]
