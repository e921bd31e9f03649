"""Documents named in messages (``pdf_url``, ``mdx_url``, ``txt_url`` parts) turned into text.

A document part is replaced, before the messages are normalised, by one text message per
chunk (a :class:`~mnemoweave._messages.DocumentChunk`), each headed with its source (type,
URL or file, content hash, page) and carrying it as a ``source`` dict, which becomes the
``document`` metadata of the memories made from it. The body comes from a base64 data
URI, only with ``allow_fetch=True`` from an SSRF-guarded fetch, and only with
``allow_files=True`` from a local file.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

from . import _fetch
from ._files import is_local, read_local
from ._messages import DocumentChunk
from .errors import ConfigurationError, ValidationError

__all__ = ["DOCUMENT_TYPES", "expand_documents"]

#: Part types that carry a document, as mem0 spells them.
DOCUMENT_TYPES = frozenset({"pdf_url", "mdx_url", "txt_url"})
#: Characters per chunk: about 1,000 tokens at the usual four characters a token.
CHUNK_CHARS = 4_000
_TEXT_TYPES = frozenset({"application/json", "application/markdown", "application/x-mdx"})


def _decode_data_uri(url: str, limit: int) -> tuple[str, bytes]:
    head, sep, data = url.partition(",")
    if not sep:
        raise ValidationError("a data: URI needs a ',' before its data")
    mime = head[5:].split(";")[0].lower()
    if len(data) * 3 // 4 > limit:
        raise ValidationError(f"the data: URI is larger than max_fetch_bytes={limit:,}")
    if head.endswith(";base64"):
        try:
            return mime, base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise ValidationError("the data: URI is not valid base64") from None
    return mime, unquote(data).encode()


def _load(url: str, options: Any, what: str) -> tuple[str, bytes, dict[str, Any]]:
    """The document's MIME type, bytes, and where it came from (``url``/``file``/``inline``)."""
    if url.startswith("data:"):
        mime, body = _decode_data_uri(url, options.max_fetch_bytes)
        return mime, body, {"inline": True}
    if is_local(url):
        found = read_local(url, options, what)
        return found.mime, found.body, {"file": found.path.name}
    if urlsplit(url).scheme not in ("http", "https"):
        raise ValidationError(
            f"document URL {url[:80]!r} must be https://..., http://..., a base64 data: URI, "
            "or a local path with allow_files=True"
        )
    if not options.allow_fetch:
        raise ValidationError(
            f"fetching {url[:80]!r} is off: pass allow_fetch=True to Memory(...) to fetch "
            "public http(s) URLs, or send the document as a base64 data: URI"
        )
    got = _fetch.fetch(url, timeout=options.fetch_timeout, max_bytes=options.max_fetch_bytes)
    return got.content_type, got.body, {"url": url}


def _check_type(kind: str, mime: str, body: bytes) -> None:
    """A PDF must look like one; a text document must not be declared as binary."""
    if kind == "pdf_url":
        if not body.startswith(b"%PDF-"):
            raise ValidationError(f"the pdf_url document is not a PDF (content type {mime!r})")
    elif mime and not (mime.startswith("text/") or mime in _TEXT_TYPES):
        raise ValidationError(
            f"the {kind} document has content type {mime!r}; expected text (markdown or plain)"
        )


def _pdf_pages(body: bytes) -> list[str]:
    try:
        from pypdf import PdfReader
        from pypdf.errors import PyPdfError
    except ImportError:
        raise ConfigurationError(
            "pdf_url parts need pypdf: pip install 'mnemoweave[documents]'"
        ) from None
    try:
        reader = PdfReader(io.BytesIO(body))
        return [page.extract_text() or "" for page in reader.pages]
    except (PyPdfError, ValueError, KeyError, TypeError) as exc:
        raise ValidationError(f"the PDF could not be read: {exc}") from None


def _chunks(text: str) -> list[str]:
    """Split on paragraph boundaries into pieces of at most :data:`CHUNK_CHARS`."""
    out: list[str] = []
    current = ""
    for para in text.split("\n\n"):
        while len(para) > CHUNK_CHARS:
            out.append(para[:CHUNK_CHARS])
            para = para[CHUNK_CHARS:]
        if current and len(current) + len(para) + 2 > CHUNK_CHARS:
            out.append(current)
            current = ""
        current = f"{current}\n\n{para}" if current else para
    if current.strip():
        out.append(current)
    return [c.strip() for c in out if c.strip()]


def _document_chunks(
    kind: str, url: str, options: Any, what: str
) -> list[tuple[str, dict[str, Any]]]:
    """Each chunk's headed text and its source (type, where, sha256, page for PDFs)."""
    mime, body, origin = _load(url, options, what)
    _check_type(kind, mime, body)
    sha = hashlib.sha256(body).hexdigest()
    name = origin.get("url") or origin.get("file") or "inline"
    if kind == "pdf_url":
        pages = [(i + 1, t) for i, t in enumerate(_pdf_pages(body))]
    else:
        try:
            pages = [(0, body.decode("utf-8"))]
        except UnicodeDecodeError:
            raise ValidationError(f"the {kind} document is not UTF-8 text") from None
    total = sum(len(t) for _, t in pages)
    if total > options.max_document_chars:
        raise ValidationError(
            f"the {kind} document has {total:,} characters of text, more than "
            f"max_document_chars={options.max_document_chars:,}"
        )
    doc_type = kind[:-4]
    out = []
    for page, text in pages:
        where = f", page {page}" if page else ""
        source: dict[str, Any] = {"type": doc_type, **origin, "sha256": sha}
        if page:
            source["page"] = page
        for chunk in _chunks(text):
            out.append((f"[document {doc_type} {name} sha256:{sha[:16]}{where}]\n{chunk}", source))
    if not out:
        raise ValidationError(f"the {kind} document has no extractable text")
    return out


def _part_url(part: Mapping[str, Any], kind: str, where: str) -> str:
    inner = part.get(kind)
    url = inner.get("url") if isinstance(inner, Mapping) else inner
    if not isinstance(url, str) or not url:
        raise ValidationError(
            f'{where} needs a URL: write {{"type": "{kind}", "{kind}": {{"url": "https://..."}}}}'
        )
    return url


def expand_documents(messages: Any, options: Any) -> Any:
    """Replace each message holding document parts by one message per chunk of text.

    Anything without a document part is returned as it was, for ``normalize_messages``.
    """
    if isinstance(messages, Mapping):
        items: list[Any] = [messages]
    elif isinstance(messages, list | tuple):
        items = list(messages)
    else:
        return messages
    out: list[Any] = []
    changed = False
    for index, item in enumerate(items):
        content = item.get("content") if isinstance(item, Mapping) else None
        parts = [content] if isinstance(content, Mapping) else content
        if not isinstance(parts, Sequence) or isinstance(parts, str | bytes | bytearray):
            out.append(item)
            continue
        kept: list[Any] = []
        chunks: list[tuple[str, dict[str, Any]]] = []
        for j, part in enumerate(parts):
            kind = part.get("type") if isinstance(part, Mapping) else None
            if kind in DOCUMENT_TYPES:
                where = f"messages[{index}] part {j}"
                url = _part_url(part, str(kind), where)
                chunks.extend(_document_chunks(str(kind), url, options, where))
            else:
                kept.append(part)
        if not chunks:
            out.append(item)
            continue
        changed = True
        if kept:
            out.append({**item, "content": kept})
        out.extend(DocumentChunk({**item, "content": text}, src) for text, src in chunks)
    return out if changed else messages
