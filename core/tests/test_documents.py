"""Documents as memories: page sources in metadata, bounded per-chunk extraction, local files."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mnemoweave import AsyncMemory, Memory
from mnemoweave.errors import ConfigurationError, ValidationError
from mnemoweave.testing import ScriptedOpenAIServer
from mnemoweave.testing import operations as ops

from .test_multimodal import PNG, make_pdf

PAGES = [
    "Alex owns a red bicycle",
    "Alex lives in Lisbon",
    "Alex likes green tea",
    "Alex works as a nurse",
    "Alex plays the cello",
]


def pdf_uri(pdf: bytes) -> str:
    return "data:application/pdf;base64," + base64.b64encode(pdf).decode()


def pdf_message(url: str, text: str | None = None) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
    return {"role": "user", "content": [*parts, {"type": "pdf_url", "pdf_url": {"url": url}}]}


def llm(server: ScriptedOpenAIServer, **extra: Any) -> dict[str, Any]:
    return {"model": "m", "base_url": server.base_url, "api_key": "k", **extra}


@pytest.fixture
def smart(tmp_path: Path, server: ScriptedOpenAIServer) -> Iterator[Memory]:
    memory = Memory(tmp_path / "smart", embedder="hash", llm=llm(server))
    yield memory
    memory.close()


def prompts(server: ScriptedOpenAIServer) -> list[str]:
    return [str(r.messages[-1]["content"]) for r in server.chat_requests]


# -- sources ----------------------------------------------------------------------------------
def test_raw_pdf_memories_carry_their_page_source(tmp_path: Path) -> None:
    pdf = make_pdf(PAGES[:3])
    with Memory(tmp_path / "s", embedder="hash") as mem:
        res = mem.add(pdf_message(pdf_uri(pdf)), user_id="alex", infer=False, metadata={"k": 1})
        sha = hashlib.sha256(pdf).hexdigest()
        want = [{"type": "pdf", "inline": True, "sha256": sha, "page": p} for p in (1, 2, 3)]
        assert [e.metadata["document"] for e in res.results if e.metadata] == want
        stored = {i.memory: i.metadata for i in mem.get_all(user_id="alex").results}
        for page, text in enumerate(PAGES[:3], start=1):
            (meta,) = [m for t, m in stored.items() if text in t]
            assert meta == {"k": 1, "document": {**want[0], "page": page}}
        found = mem.search("cello or Lisbon", user_id="alex", filters={"k": 1}).results
        assert found  # the sourced memories are searchable as any other


def test_a_callers_own_document_key_is_kept(tmp_path: Path) -> None:
    with Memory(tmp_path / "s", embedder="hash") as mem:
        res = mem.add(
            pdf_message(pdf_uri(make_pdf(PAGES[:1]))),
            user_id="a",
            infer=False,
            metadata={"document": "mine"},
        )
        assert [e.metadata for e in res.results] == [{"document": "mine"}]


# -- bounded per-chunk extraction -------------------------------------------------------------
def test_each_page_is_its_own_call_and_its_facts_carry_the_page(
    smart: Memory, server: ScriptedOpenAIServer
) -> None:
    pdf = make_pdf(PAGES[:3])
    server.script(*(ops(("ADD", None, f"Fact from page {p}")) for p in (1, 2, 3)))
    res = smart.add(pdf_message(pdf_uri(pdf)), user_id="alex")
    assert len(server.chat_requests) == 3
    assert res.usage.llm_calls == 3
    assert res.usage.prompt_tokens == server.prompt_tokens
    for page, prompt in enumerate(prompts(server), start=1):
        assert PAGES[page - 1] in prompt
        assert all(other not in prompt for other in PAGES[:3] if other != PAGES[page - 1])
    pages = {e.memory: e.metadata["document"]["page"] for e in res.results if e.metadata}
    assert pages == {"Fact from page 1": 1, "Fact from page 2": 2, "Fact from page 3": 3}
    stored = {i.memory: i.metadata for i in smart.get_all(user_id="alex").results}
    assert stored["Fact from page 2"]["document"]["sha256"] == hashlib.sha256(pdf).hexdigest()


def test_max_document_calls_bounds_the_requests(
    tmp_path: Path, server: ScriptedOpenAIServer
) -> None:
    server.script(ops(("ADD", None, "First half")), ops(("ADD", None, "Second half")))
    with Memory(tmp_path / "s", embedder="hash", llm=llm(server), max_document_calls=2) as mem:
        res = mem.add(pdf_message(pdf_uri(make_pdf(PAGES))), user_id="alex")
    assert len(server.chat_requests) == 2  # five pages, at most two calls
    assert res.usage.llm_calls == 2
    first, second = prompts(server)
    assert all(p in first for p in PAGES[:3])
    assert PAGES[3] not in first
    assert all(p in second for p in PAGES[3:])
    assert PAGES[2] not in second
    sources = [e.metadata["document"] for e in res.results if e.metadata]
    spans = [(s["page"], s.get("page_end")) for s in sources]
    assert spans == [(1, 3), (4, 5)]


def test_conversation_text_gets_its_own_call_without_a_source(
    smart: Memory, server: ScriptedOpenAIServer
) -> None:
    server.script(ops(("ADD", None, "Shared a CV")), ops(("ADD", None, "Is a nurse")))
    msg = pdf_message(pdf_uri(make_pdf(PAGES[3:4])), text="here is my CV")
    res = smart.add(msg, user_id="alex")
    conversation, document = prompts(server)
    assert "here is my CV" in conversation
    assert PAGES[3] not in conversation
    assert PAGES[3] in document
    assert "here is my CV" not in document
    assert [(e.memory, bool(e.metadata)) for e in res.results] == [
        ("Shared a CV", False),
        ("Is a nurse", True),
    ]
    window = smart.get_messages(user_id="alex")
    assert window[0]["content"] == "here is my CV"
    assert len(window) == 2  # each message once, in order


def test_more_documents_than_the_bound_is_an_error_before_any_call(
    tmp_path: Path, server: ScriptedOpenAIServer
) -> None:
    docs = [pdf_message(pdf_uri(make_pdf([p]))) for p in PAGES[:3]]
    with Memory(tmp_path / "s", embedder="hash", llm=llm(server), max_document_calls=2) as mem:
        with pytest.raises(ValidationError, match="3 documents but max_document_calls=2"):
            mem.add(docs, user_id="alex")
        assert server.chat_requests == []
        assert mem.get_messages(user_id="alex") == []


def test_async_add_runs_one_call_per_page(tmp_path: Path, server: ScriptedOpenAIServer) -> None:
    server.script(ops(("ADD", None, "A")), ops(("ADD", None, "B")))

    async def main() -> Any:
        async with AsyncMemory(tmp_path / "a", embedder="hash", llm=llm(server)) as memory:
            return await memory.add(pdf_message(pdf_uri(make_pdf(PAGES[:2]))), user_id="x")

    res = asyncio.run(main())
    assert len(server.chat_requests) == 2
    assert res.usage.llm_calls == 2
    assert [e.metadata["document"]["page"] for e in res.results if e.metadata] == [1, 2]


def test_background_add_reports_every_call(smart: Memory, server: ScriptedOpenAIServer) -> None:
    server.script(ops(("ADD", None, "A")), ops(("ADD", None, "B")))
    handle = smart.add(pdf_message(pdf_uri(make_pdf(PAGES[:2]))), user_id="x", background=True)
    assert handle.result(timeout=60).usage.llm_calls == 2
    assert len(smart.get_messages(user_id="x")) == 2


def test_max_document_calls_is_validated(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="max_document_calls"):
        Memory(tmp_path / "s", embedder="hash", max_document_calls=0)


# -- local files --------------------------------------------------------------------------------
def image_message(url: str) -> dict[str, Any]:
    return {"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}


@pytest.fixture
def files(tmp_path: Path) -> Path:
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "cat.png").write_bytes(base64.b64decode(PNG))
    (folder / "cv.pdf").write_bytes(make_pdf(PAGES[:2]))
    (folder / "notes.md").write_text("# Notes\n\nAlex likes tea.", encoding="utf-8")
    (folder / "notes.txt").write_text("not an image", encoding="utf-8")
    return folder


@pytest.mark.parametrize("spell", ["path", "file_url"])
def test_local_files_are_refused_unless_allowed(tmp_path: Path, files: Path, spell: str) -> None:
    def ref(name: str) -> str:
        return str(files / name) if spell == "path" else (files / name).as_uri()

    with Memory(tmp_path / "s", embedder="hash") as mem:
        for msg in (image_message(ref("cat.png")), pdf_message(ref("cv.pdf"))):
            with pytest.raises(ValidationError, match="allow_files=True"):
                mem.add(msg, user_id="a", infer=False)
        assert mem.get_all(user_id="a").results == []


def test_allowed_local_image_is_sent_inline_and_named(
    tmp_path: Path, files: Path, server: ScriptedOpenAIServer
) -> None:
    server.script(ops(("ADD", None, "Has a cat")))
    vision = llm(server, enable_vision=True)
    with Memory(tmp_path / "s", embedder="hash", llm=vision, allow_files=True) as mem:
        mem.add(image_message((files / "cat.png").as_uri()), user_id="a")
        (request,) = server.chat_requests
        part = request.messages[-1]["content"][1]
        assert part["image_url"]["url"] == f"data:image/png;base64,{PNG}"
        raw = mem.add(image_message(str(files / "cat.png")), user_id="b", infer=False)
        assert raw.results[0].memory.startswith("[image 1: file cat.png image/png, 72 bytes")


def test_allowed_local_documents_record_their_file(tmp_path: Path, files: Path) -> None:
    with Memory(tmp_path / "s", embedder="hash", allow_files=True) as mem:
        res = mem.add(pdf_message(str(files / "cv.pdf")), user_id="a", infer=False)
        sources = [e.metadata["document"] for e in res.results if e.metadata]
        sha = hashlib.sha256((files / "cv.pdf").read_bytes()).hexdigest()
        assert sources == [
            {"type": "pdf", "file": "cv.pdf", "sha256": sha, "page": 1},
            {"type": "pdf", "file": "cv.pdf", "sha256": sha, "page": 2},
        ]
        assert res.results[0].memory.startswith("[document pdf cv.pdf sha256:")
        md = {"type": "mdx_url", "mdx_url": {"url": (files / "notes.md").as_uri()}}
        (note,) = mem.add({"role": "user", "content": [md]}, user_id="a", infer=False).results
        assert note.memory.endswith("Alex likes tea.")
        assert note.metadata is not None
        assert note.metadata["document"]["file"] == "notes.md"


@pytest.mark.parametrize(
    ("name", "kind", "match"),
    [
        ("missing.png", "image", "no file"),
        (".", "image", "not a regular file"),
        ("notes.txt", "image", "not an image file"),
        ("cat.png", "pdf", "not a PDF"),
        ("big.txt", "txt", "max_fetch_bytes=100"),
    ],
)
def test_bad_local_files_are_clear_errors(
    tmp_path: Path, files: Path, name: str, kind: str, match: str
) -> None:
    (files / "big.txt").write_text("x" * 500, encoding="utf-8")
    url = str(files / name)
    if kind == "image":
        msg = image_message(url)
    else:
        part = f"{kind}_url"
        msg = {"role": "user", "content": [{"type": part, part: {"url": url}}]}
    with (
        Memory(tmp_path / "s", embedder="hash", allow_files=True, max_fetch_bytes=100) as mem,
        pytest.raises(ValidationError, match=match),
    ):
        mem.add(msg, user_id="a", infer=False)


def test_chunks_sharing_a_call_may_exceed_max_text_chars_together(
    tmp_path: Path, server: ScriptedOpenAIServer
) -> None:
    body = "\n\n".join(f"Paragraph {i}: " + "word " * 150 for i in range(16))  # ~12k chars
    uri = "data:text/plain;base64," + base64.b64encode(body.encode()).decode()
    server.script(ops(("ADD", None, "Wrote many paragraphs")))
    options = {"max_text_chars": 5_000, "max_document_calls": 1}
    with Memory(tmp_path / "s", embedder="hash", llm=llm(server), **options) as mem:
        part = {"type": "txt_url", "txt_url": {"url": uri}}
        res = mem.add({"role": "user", "content": [part]}, user_id="a")
    assert len(server.chat_requests) == 1
    assert all(f"Paragraph {i}:" in prompts(server)[0] for i in range(16))
    assert res.results[0].metadata is not None
    assert res.results[0].metadata["document"]["type"] == "txt"
