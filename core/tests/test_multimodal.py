"""Images and documents in messages: what reaches the LLM, what is stored, what is refused."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from mnemoweave import Memory
from mnemoweave.errors import ValidationError
from mnemoweave.testing import ScriptedOpenAIServer
from mnemoweave.testing import operations as ops

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64).decode()
DATA_URI = f"data:image/png;base64,{PNG}"


def make_pdf(pages: list[str]) -> bytes:
    """A real PDF with one line of Helvetica text per page."""
    writer = PdfWriter()
    font = writer._add_object(
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
            }
        )
    )
    for text in pages:
        page = writer.add_blank_page(612, 792)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
        )
        stream = DecodedStreamObject()
        stream.set_data(f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode())
        page[NameObject("/Contents")] = writer._add_object(stream)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def llm(server: ScriptedOpenAIServer, **extra: Any) -> dict[str, Any]:
    return {"model": "vision-model", "base_url": server.base_url, "api_key": "k", **extra}


@pytest.fixture
def vision(tmp_path: Path, server: ScriptedOpenAIServer) -> Iterator[Memory]:
    memory = Memory(
        tmp_path / "store",
        embedder="hash",
        llm=llm(server, enable_vision=True, vision_details="low"),
    )
    yield memory
    memory.close()


def sent_user_content(server: ScriptedOpenAIServer) -> Any:
    (request,) = server.chat_requests
    return request.messages[-1]["content"]


def test_image_url_and_base64_reach_the_one_extraction_call(
    vision: Memory, server: ScriptedOpenAIServer
) -> None:
    server.script(ops(("ADD", None, "Has a golden retriever")))
    res = vision.add(
        [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "This is my dog"},
                    {"type": "image_url", "image_url": {"url": "https://example.com/dog.jpg"}},
                    {"type": "image_url", "image_url": {"url": DATA_URI, "detail": "high"}},
                ],
            }
        ],
        user_id="alex",
    )
    assert [e.memory for e in res.results] == ["Has a golden retriever"]
    content = sent_user_content(server)
    assert content[0]["type"] == "text"
    assert "This is my dog" in content[0]["text"]
    assert content[1:] == [
        {"type": "image_url", "image_url": {"url": "https://example.com/dog.jpg", "detail": "low"}},
        {"type": "image_url", "image_url": {"url": DATA_URI, "detail": "high"}},
    ]


def test_mem0_single_part_image_shape_works_as_written(
    vision: Memory, server: ScriptedOpenAIServer
) -> None:
    server.script(ops(("ADD", None, "Was at the beach")))
    vision.add(
        {"role": "user", "content": {"type": "image_url", "image_url": {"url": DATA_URI}}},
        user_id="alex",
    )
    content = sent_user_content(server)
    assert content[1]["image_url"]["url"] == DATA_URI


def test_image_without_a_vision_model_raises_and_calls_nothing(
    tmp_path: Path, server: ScriptedOpenAIServer
) -> None:
    with Memory(tmp_path / "s", embedder="hash", llm=llm(server)) as mem:
        msg = {"role": "user", "content": [{"type": "image_url", "image_url": {"url": DATA_URI}}]}
        with pytest.raises(ValidationError, match="enable_vision"):
            mem.add([msg], user_id="alex")
        assert server.chat_requests == []
        assert mem.get_all(user_id="alex").results == []


def test_image_with_infer_false_stores_a_reference_and_caption(tmp_path: Path) -> None:
    with Memory(tmp_path / "s", embedder="hash") as mem:
        parts = [
            {"type": "text", "text": "my new bike"},
            {"type": "image_url", "image_url": {"url": DATA_URI}},
        ]
        res = mem.add([{"role": "user", "content": parts}], user_id="alex", infer=False)
        (stored,) = [e.memory for e in res.results]
        assert stored.startswith("my new bike\n[image 1: inline image/png, 72 bytes, sha256:")


@pytest.mark.parametrize(
    ("part", "hint"),
    [
        ({"type": "input_audio", "input_audio": {}}, "unsupported type 'input_audio'"),
        ({"type": "image", "url": "https://x/y.png"}, '"type": "image_url"'),
        ({"type": "image_url", "image_url": {"url": "ftp://x/y.png"}}, "https://"),
        ({"type": "image_url", "image_url": {"url": "data:image/png;base64,@@@"}}, "base64"),
        ({"type": "pdf_url", "pdf_url": {}}, '"pdf_url": {"url"'),
    ],
)
def test_parts_we_cannot_use_are_errors_not_silent_drops(
    tmp_path: Path, part: dict[str, Any], hint: str
) -> None:
    with Memory(tmp_path / "s", embedder="hash") as mem:
        with pytest.raises(ValidationError, match=hint.replace("(", r"\(")) as info:
            mem.add([{"role": "user", "content": [part]}], user_id="alex", infer=False)
        assert "messages[0] part 0" in str(info.value)


def test_pdf_becomes_one_raw_memory_per_page_with_its_source(tmp_path: Path) -> None:
    pdf = make_pdf(["Alex owns a red bicycle", "Alex lives in Lisbon", "Alex likes tea"])
    uri = "data:application/pdf;base64," + base64.b64encode(pdf).decode()
    with Memory(tmp_path / "s", embedder="hash") as mem:
        res = mem.add(
            {"role": "user", "content": {"type": "pdf_url", "pdf_url": {"url": uri}}},
            user_id="alex",
            infer=False,
        )
        texts = [e.memory for e in res.results]
        assert len(texts) == 3
        for page, (text, want) in enumerate(
            zip(texts, ["red bicycle", "Lisbon", "likes tea"], strict=True), start=1
        ):
            assert text.startswith("[document pdf inline sha256:")
            assert f", page {page}]\n" in text
            assert want in text
        found = mem.search("where does Alex live? Lisbon", user_id="alex", limit=1).results
        assert "Lisbon" in found[0].memory


def test_pdf_pages_each_reach_their_own_extraction_call(
    vision: Memory, server: ScriptedOpenAIServer
) -> None:
    pdf = make_pdf(["Alex owns a red bicycle", "Alex lives in Lisbon"])
    uri = "data:application/pdf;base64," + base64.b64encode(pdf).decode()
    server.script(ops(("ADD", None, "Owns a red bicycle")), ops(("ADD", None, "Lives in Lisbon")))
    res = vision.add(
        [{"role": "user", "content": [{"type": "pdf_url", "pdf_url": {"url": uri}}]}],
        user_id="alex",
    )
    assert [e.memory for e in res.results] == ["Owns a red bicycle", "Lives in Lisbon"]
    # What each call was given to read (the second also sees page 1's fact, to reconcile).
    first, second = (r.messages[-1]["content"].split("Messages:")[1] for r in server.chat_requests)
    assert "page 1]" in first
    assert "red bicycle" in first
    assert "Lisbon" not in first
    assert "page 2]" in second
    assert "Lisbon" in second
    assert "bicycle" not in second
    assert res.usage.llm_calls == 2


def test_mdx_data_uri_is_chunked_text(tmp_path: Path) -> None:
    body = "# Notes\n\n" + "\n\n".join(f"Paragraph {i}: " + "word " * 150 for i in range(12))
    uri = "data:text/markdown;base64," + base64.b64encode(body.encode()).decode()
    with Memory(tmp_path / "s", embedder="hash") as mem:
        res = mem.add(
            {"role": "user", "content": {"type": "mdx_url", "mdx_url": {"url": uri}}},
            user_id="alex",
            infer=False,
        )
        assert len(res.results) > 1
        assert all(len(e.memory) < 4_200 for e in res.results)
        joined = "".join(e.memory for e in res.results)
        assert all(f"Paragraph {i}:" in joined for i in range(12))


def test_oversized_and_unfetched_documents_are_clear_errors(tmp_path: Path) -> None:
    big = "data:text/plain;base64," + base64.b64encode(b"x" * 5_000).decode()
    with Memory(tmp_path / "s", embedder="hash", max_fetch_bytes=1_000) as mem:
        with pytest.raises(ValidationError, match="max_fetch_bytes=1,000"):
            mem.add(
                {"role": "user", "content": {"type": "txt_url", "txt_url": {"url": big}}},
                user_id="a",
            )
        with pytest.raises(ValidationError, match="allow_fetch=True"):
            mem.add(
                {
                    "role": "user",
                    "content": {"type": "pdf_url", "pdf_url": {"url": "https://e.com/a.pdf"}},
                },
                user_id="alex",
            )
    with Memory(tmp_path / "t", embedder="hash", max_document_chars=100) as mem:
        small = "data:text/plain;base64," + base64.b64encode(b"y" * 500).decode()
        with pytest.raises(ValidationError, match="max_document_chars=100"):
            mem.add(
                {"role": "user", "content": {"type": "txt_url", "txt_url": {"url": small}}},
                user_id="a",
            )


def test_async_add_sends_the_image_too(tmp_path: Path, server: ScriptedOpenAIServer) -> None:
    import asyncio

    from mnemoweave import AsyncMemory

    async def main() -> None:
        memory = AsyncMemory(tmp_path / "a", embedder="hash", llm=llm(server, enable_vision=True))
        try:
            server.script(ops(("ADD", None, "Likes sunsets")))
            await memory.add(
                {"role": "user", "content": {"type": "image_url", "image_url": DATA_URI}},
                user_id="alex",
            )
        finally:
            await memory.close()

    asyncio.run(main())
    content = sent_user_content(server)
    assert content[1] == {"type": "image_url", "image_url": {"url": DATA_URI, "detail": "auto"}}


def test_responses_api_text_parts_count_as_text(tmp_path: Path) -> None:
    with Memory(tmp_path / "s", embedder="hash") as mem:
        parts = [{"type": "input_text", "text": "I like tea"}, {"type": "text", "text": "a lot"}]
        res = mem.add({"role": "user", "content": parts}, user_id="a", infer=False)
        assert [e.memory for e in res.results] == ["I like tea\na lot"]
