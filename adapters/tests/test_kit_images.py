"""Images in framework messages: the kit's conversion, and AutoGen images reaching the LLM."""

from __future__ import annotations

import asyncio
import base64
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from autogen_agentchat.base import TaskResult
from autogen_agentchat.messages import MultiModalMessage, TextMessage
from autogen_core import Image
from autogen_core.models import UserMessage
from PIL import Image as PILImage

from mnemoweave import Memory
from mnemoweave.errors import ValidationError
from mnemoweave.testing import ScriptedOpenAIServer
from mnemoweave.testing import operations as ops
from mnemoweave_adapters import DEFAULT_RAW_POLICY, MemoryBinding, last_user_text, to_message
from mnemoweave_adapters._parts import image_part
from mnemoweave_adapters.autogen import MnemoweaveMemory

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32).decode()
DATA_URI = f"data:image/png;base64,{PNG}"
URL = "https://example.com/cat.jpg"


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


def sent_images(server: ScriptedOpenAIServer) -> list[str]:
    """The image URLs of the one extraction request (asserting there was exactly one)."""
    (request,) = server.chat_requests
    content = request.messages[-1]["content"]
    assert isinstance(content, list), "the extraction call carried no image parts"
    return [p["image_url"]["url"] for p in content if p["type"] == "image_url"]


def sent_text(server: ScriptedOpenAIServer) -> str:
    content = server.chat_requests[-1].messages[-1]["content"]
    return str(content[0]["text"] if isinstance(content, list) else content)


@pytest.mark.parametrize(
    ("block", "url"),
    [
        ({"type": "image_url", "image_url": {"url": URL}}, URL),
        ({"type": "image_url", "image_url": URL}, URL),
        ({"type": "input_image", "image_url": URL}, URL),
        ({"type": "image", "url": URL}, URL),  # LangChain v1 standard block
        ({"type": "image", "base64": PNG, "mime_type": "image/png"}, DATA_URI),
        ({"type": "image", "source_type": "url", "url": URL}, URL),  # LangChain v0
        (
            {"type": "image", "source_type": "base64", "data": PNG, "mime_type": "image/png"},
            DATA_URI,
        ),
        (
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
            DATA_URI,
        ),
    ],
)
def test_every_image_spelling_becomes_an_openai_part(block: dict[str, Any], url: str) -> None:
    part = image_part(block)
    assert part is not None
    assert part["type"] == "image_url"
    assert part["image_url"]["url"] == url


def test_detail_is_carried_over() -> None:
    part = image_part({"type": "image_url", "image_url": {"url": URL, "detail": "low"}})
    assert part == {"type": "image_url", "image_url": {"url": URL, "detail": "low"}}


@pytest.mark.parametrize(
    ("block", "match"),
    [
        ({"type": "image", "file_id": "file-123"}, "file id"),
        ({"type": "image", "base64": PNG}, "MIME type"),
        ({"type": "image"}, "'url' or 'base64'"),
        ({"type": "image_url"}, "no URL"),
    ],
)
def test_images_that_cannot_be_used_raise(block: dict[str, Any], match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        to_message({"role": "user", "content": [block]})


def test_to_message_keeps_images_and_leaves_text_messages_alone() -> None:
    text_only = to_message({"role": "human", "content": [{"type": "text", "text": "hi there"}]})
    assert text_only == {"role": "user", "content": "hi there"}
    msg = to_message(
        {
            "role": "human",
            "content": [{"type": "text", "text": "my cat"}, {"type": "image", "url": URL}],
        }
    )
    assert msg == {
        "role": "user",
        "content": [
            {"type": "text", "text": "my cat"},
            {"type": "image_url", "image_url": {"url": URL}},
        ],
    }
    image_only = to_message({"role": "user", "content": [{"type": "image", "url": URL}]})
    assert image_only is not None
    assert image_only["content"] == [{"type": "image_url", "image_url": {"url": URL}}]
    assert last_user_text([msg]) == "my cat"


def test_raw_policy_keeps_a_shared_image_even_without_text() -> None:
    msg = to_message({"role": "user", "content": [{"type": "image", "url": URL}]})
    assert msg is not None
    assert DEFAULT_RAW_POLICY.keeps(msg)
    assert not DEFAULT_RAW_POLICY.keeps({"role": "user", "content": "ok"})


def test_binding_sends_the_image_in_the_one_extraction_call(
    vision: Memory, server: ScriptedOpenAIServer
) -> None:
    server.script(ops(("ADD", None, "Has a tabby cat")))
    binding = MemoryBinding(vision, user_id="ada")
    msg = to_message(
        {
            "role": "user",
            "content": [{"type": "text", "text": "my cat"}, {"type": "image", "url": URL}],
        }
    )
    result = binding.remember_turn([msg])
    assert [e.memory for e in result[0].results] == ["Has a tabby cat"]
    assert sent_images(server) == [URL]


def pil_png() -> tuple[Image, bytes]:
    pil = PILImage.new("RGB", (2, 2), (200, 10, 10))
    image = Image.from_pil(pil)
    return image, base64.b64decode(image.to_base64())


def test_autogen_multimodal_message_reaches_the_extraction_request(
    vision: Memory, server: ScriptedOpenAIServer
) -> None:
    image, png = pil_png()
    assert PILImage.open(io.BytesIO(png)).size == (2, 2)
    server.script(ops(("ADD", None, "Painted a red square")))
    memory = MnemoweaveMemory(vision, user_id="ada")
    result = TaskResult(
        messages=[
            MultiModalMessage(content=["I painted this", image], source="user"),
            TextMessage(content="It is a lovely red square.", source="assistant"),
        ]
    )
    out = asyncio.run(memory.remember_messages(result))
    assert [e.memory for e in out.results] == ["Painted a red square"]
    (url,) = sent_images(server)
    assert url == image.data_uri
    assert base64.b64decode(url.partition(",")[2]) == png
    assert "I painted this" in sent_text(server)


def test_autogen_user_message_with_an_image_reaches_the_request(
    vision: Memory, server: ScriptedOpenAIServer
) -> None:
    image, _ = pil_png()
    server.script(ops(("ADD", None, "Likes red")))
    memory = MnemoweaveMemory(vision, user_id="ada")
    asyncio.run(
        memory.remember_messages([UserMessage(content=["my favourite colour", image], source="u")])
    )
    assert sent_images(server) == [image.data_uri]


def test_autogen_image_without_a_vision_model_is_an_error_not_a_drop(
    tmp_path: Path, server: ScriptedOpenAIServer
) -> None:
    image, _ = pil_png()
    llm = {"model": "m", "base_url": server.base_url, "api_key": "k"}
    with Memory(tmp_path / "plain", embedder="hash", llm=llm) as store:
        memory = MnemoweaveMemory(store, user_id="ada")
        message = MultiModalMessage(content=["look", image], source="user")
        with pytest.raises(ValidationError, match="enable_vision"):
            asyncio.run(memory.remember_messages([message]))
        assert server.chat_requests == []
