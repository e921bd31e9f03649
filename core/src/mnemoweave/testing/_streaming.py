"""Streamed chat replies: ``stream=true`` answered as server-sent ``chat.completion.chunk`` events.

The reply's content goes out in pieces (a :class:`ChatReply`'s ``chunks``, else one piece per
word with its trailing whitespace), each event flushed on its own HTTP/1.1 chunk, then the
finish reason, a usage chunk when ``stream_options.include_usage`` asks for it, and
``data: [DONE]``, the way OpenAI streams.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

_PIECE = re.compile(r"\s*\S+\s*|\s+")


class _Writable(Protocol):
    def write(self, data: bytes, /) -> Any: ...
    def flush(self) -> Any: ...


def pieces(content: str, chunks: Sequence[str] | None) -> list[str]:
    """The content pieces to send: ``chunks`` when given, else word by word."""
    if chunks is not None:
        return list(chunks)
    return _PIECE.findall(content)


def chunk_events(
    *,
    index: int,
    model: str,
    parts: Sequence[str],
    finish_reason: str,
    usage: dict[str, int] | None,
) -> Iterator[tuple[dict[str, Any], int | None]]:
    """The ``chat.completion.chunk`` objects of one streamed reply, in order, each with the
    index of the content piece it carries (``None`` for the others)."""
    base = {
        "id": f"chatcmpl-scripted-{index}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "fp_mnemoweave_scripted",
    }

    def choice(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
        return {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}

    yield {**base, "choices": [choice({"role": "assistant", "content": ""}, None)]}, None
    for i, part in enumerate(parts):
        yield {**base, "choices": [choice({"content": part}, None)]}, i
    yield {**base, "choices": [choice({}, finish_reason)]}, None
    if usage is not None:
        yield {**base, "choices": [], "usage": usage}, None


def write_stream(
    out: _Writable,
    events: Iterator[tuple[dict[str, Any], int | None]],
    *,
    after_chunk: Callable[[int], None] | None = None,
) -> None:
    """Write ``events`` as SSE on a chunked HTTP/1.1 body, flushing each one.

    ``after_chunk(i)`` runs after the i-th content piece went out (tests hold a stream open
    there to see that a proxy passes pieces on before the reply is complete).
    """
    for event, piece in events:
        _write_chunk(out, b"data: " + json.dumps(event, ensure_ascii=False).encode() + b"\n\n")
        if after_chunk is not None and piece is not None:
            after_chunk(piece)
    _write_chunk(out, b"data: [DONE]\n\n")
    out.write(b"0\r\n\r\n")
    out.flush()


def _write_chunk(out: _Writable, data: bytes) -> None:
    out.write(b"%x\r\n%s\r\n" % (len(data), data))
    out.flush()
