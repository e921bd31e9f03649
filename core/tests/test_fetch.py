"""Opt-in URL fetching against a real local HTTP server: SSRF refusals, limits, redirects."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from mnemoweave import Memory
from mnemoweave._fetch import check_url
from mnemoweave.errors import FetchRefusedError as FetchRefused
from mnemoweave.errors import ValidationError
from mnemoweave.testing import allow_fetch_from

from .test_multimodal import make_pdf

PDF = make_pdf(["Alex owns a red bicycle", "Alex lives in Lisbon"])


class DocServer(ThreadingHTTPServer):
    """Serves a few fixed routes on 127.0.0.1 and records every path it was asked for."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.hits: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: DocServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.server.hits.append(self.path)
        port = self.server.server_address[1]
        routes: dict[str, tuple[int, dict[str, str], bytes]] = {
            "/doc.pdf": (200, {"Content-Type": "application/pdf"}, PDF),
            "/notes.md": (200, {"Content-Type": "text/markdown"}, b"# Notes\n\nAlex likes tea."),
            "/page.html": (200, {"Content-Type": "text/html"}, b"<html>not a pdf</html>"),
            "/big": (200, {"Content-Type": "text/plain"}, b"z" * 50_000),
            "/hop": (302, {"Location": "/doc.pdf"}, b""),
            "/to-loopback": (302, {"Location": f"http://127.0.0.2:{port}/doc.pdf"}, b""),
            "/to-private": (302, {"Location": "http://10.0.0.1/doc.pdf"}, b""),
            "/to-metadata": (302, {"Location": "http://169.254.169.254/latest/"}, b""),
        }
        if self.path == "/stream":  # no Content-Length: the cap must hold while reading
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for _ in range(20):
                self.wfile.write(b"1000\r\n" + b"s" * 0x1000 + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
            return
        status, headers, body = routes.get(self.path, (404, {}, b""))
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def docs() -> Iterator[DocServer]:
    server = DocServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def mem(tmp_path: Path) -> Iterator[Memory]:
    memory = Memory(tmp_path / "store", embedder="hash", allow_fetch=True, max_fetch_bytes=20_000)
    yield memory
    memory.close()


def pdf_part(url: str) -> dict[str, Any]:
    return {"role": "user", "content": {"type": "pdf_url", "pdf_url": {"url": url}}}


def test_fetching_is_off_by_default(tmp_path: Path, docs: DocServer) -> None:
    with (
        Memory(tmp_path / "s", embedder="hash") as memory,
        pytest.raises(ValidationError, match="allow_fetch=True"),
    ):
        memory.add(pdf_part(docs.url + "/doc.pdf"), user_id="alex", infer=False)
    assert docs.hits == []


def test_loopback_is_refused_even_with_allow_fetch(mem: Memory, docs: DocServer) -> None:
    for url in (docs.url + "/doc.pdf", docs.url.replace("127.0.0.1", "localhost") + "/doc.pdf"):
        with pytest.raises(FetchRefused, match="non-public"):
            mem.add(pdf_part(url), user_id="alex", infer=False)
    assert docs.hits == []
    assert mem.get_all(user_id="alex").results == []


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/doc.pdf",
        "http://192.168.1.1/doc.pdf",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/doc.pdf",
        "http://[::ffff:127.0.0.1]/doc.pdf",
        "http://0.0.0.0/doc.pdf",
    ],
)
def test_non_public_addresses_are_refused_before_any_connection(url: str) -> None:
    with pytest.raises(FetchRefused, match="non-public"):
        check_url(url)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/a.pdf", "gopher://x/"])
def test_only_http_and_https_are_fetched(url: str) -> None:
    with pytest.raises(FetchRefused, match="only http and https"):
        check_url(url)


def test_the_test_allowance_fetches_a_pdf_with_page_sources(mem: Memory, docs: DocServer) -> None:
    with allow_fetch_from("127.0.0.1/32"):
        res = mem.add(pdf_part(docs.url + "/hop"), user_id="alex", infer=False)
    assert docs.hits == ["/hop", "/doc.pdf"]
    texts = [e.memory for e in res.results]
    assert len(texts) == 2
    assert texts[0].startswith(f"[document pdf {docs.url}/hop sha256:")
    assert ", page 1]" in texts[0]
    assert "red bicycle" in texts[0]
    assert ", page 2]" in texts[1]
    assert "Lisbon" in texts[1]
    with pytest.raises(FetchRefused):  # the allowance ends with its block
        mem.add(pdf_part(docs.url + "/doc.pdf"), user_id="alex", infer=False)


def test_markdown_url_is_fetched_as_text(mem: Memory, docs: DocServer) -> None:
    part = {"type": "mdx_url", "mdx_url": {"url": docs.url + "/notes.md"}}
    with allow_fetch_from("127.0.0.1/32"):
        res = mem.add({"role": "user", "content": [part]}, user_id="alex", infer=False)
    (text,) = [e.memory for e in res.results]
    assert text.endswith("# Notes\n\nAlex likes tea.")


@pytest.mark.parametrize("path", ["/to-loopback", "/to-private", "/to-metadata"])
def test_redirects_to_non_public_addresses_are_refused(
    mem: Memory, docs: DocServer, path: str
) -> None:
    with allow_fetch_from("127.0.0.1/32"), pytest.raises(FetchRefused, match="non-public"):
        mem.add(pdf_part(docs.url + path), user_id="alex", infer=False)
    assert docs.hits == [path]  # the hop target was never requested


@pytest.mark.parametrize(
    ("path", "match"),
    [
        ("/big", "max_fetch_bytes"),
        ("/stream", "max_fetch_bytes"),
        ("/page.html", "not a PDF"),
        ("/missing", "HTTP 404"),
    ],
)
def test_size_type_and_status_are_checked(
    mem: Memory, docs: DocServer, path: str, match: str
) -> None:
    kind = "pdf_url" if path in ("/page.html", "/missing") else "txt_url"
    part = {"type": kind, kind: {"url": docs.url + path}}
    with allow_fetch_from("127.0.0.1/32"), pytest.raises(ValidationError, match=match):
        mem.add({"role": "user", "content": part}, user_id="alex", infer=False)
    assert mem.get_all(user_id="alex").results == []


def test_data_uris_need_no_fetching(mem: Memory, docs: DocServer) -> None:
    uri = "data:application/pdf;base64," + base64.b64encode(PDF).decode()
    res = mem.add(pdf_part(uri), user_id="alex", infer=False)
    assert len(res.results) == 2
    assert docs.hits == []
