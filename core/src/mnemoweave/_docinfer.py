"""``infer`` adds that carry documents: one extraction call per chunk, with a bounded total.

An add without document chunks is the one-call pipeline (``_pipeline.run_infer``) as it is.
With chunks, the add is split into sub-adds run one after the other under the scope's
lock: the conversation's own messages (one call, as before), then the chunks, one call each
while there are at most ``max_document_calls`` of them, else consecutive chunks of one
document packed into as few groups as fit the bound. Every memory a chunk call makes
records the chunk's source in its ``document`` metadata; the result reports every call in
``usage``. The messages reach the scope's window once, in order, before any call.

When a later call fails, the memories earlier calls made stay (each call commits on its
own, like separate adds) and the error is raised.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ._adding import record_window
from ._intake import with_source
from ._pipeline import arun_infer, run_infer
from .errors import ValidationError
from .types import AddResult, Usage

if TYPE_CHECKING:
    from ._adding import AddRequest
    from ._engine import Engine

__all__ = ["arun", "group_size", "run"]


def group_size(counts: Sequence[int], bound: int) -> int:
    """Smallest number of chunks per call keeping every document's calls within ``bound``.

    Groups never cross documents, so each document needs ``ceil(count / size)`` calls.
    """
    if len(counts) > bound:
        raise ValidationError(
            f"the add holds {len(counts)} documents but max_document_calls={bound}: each "
            "document needs at least one extraction call; raise max_document_calls, split the "
            "add, or use infer=False to store the chunks raw"
        )
    size = 1
    while sum(math.ceil(n / size) for n in counts) > bound:
        size += 1
    return size


def _document_key(source: Any) -> tuple[Any, ...]:
    return (source.get("type"), source.get("sha256"), source.get("url"), source.get("file"))


def _group_source(sources: Sequence[Any]) -> dict[str, Any]:
    """The first chunk's source; a group spanning pages also gets ``page_end``."""
    out = dict(sources[0])
    last = sources[-1].get("page")
    if last is not None and last != out.get("page"):
        out["page_end"] = last
    return out


def plan(engine: Engine, req: AddRequest) -> list[AddRequest]:
    """The sub-adds of ``req`` (just ``[req]`` when it has no document chunks)."""
    chunks = [i for i, m in enumerate(req.messages) if m.source is not None]
    if not chunks or req.memory_type is not None:
        return [req]
    system = [i for i, m in enumerate(req.messages) if m.role == "system"]
    talk = [i for i, m in enumerate(req.messages) if m.source is None and m.role != "system"]
    docs: list[list[int]] = []
    for i in chunks:
        src = req.messages[i].source
        if docs and _document_key(req.messages[docs[-1][0]].source) == _document_key(src):
            docs[-1].append(i)
        else:
            docs.append([i])
    size = group_size([len(d) for d in docs], engine.config.max_document_calls)
    groups: list[tuple[list[int], dict[str, Any] | None]] = []
    if talk:
        groups.append((sorted(system + talk), None))
    for doc in docs:
        for start in range(0, len(doc), size):
            part = doc[start : start + size]
            sources = [req.messages[i].source for i in part]
            groups.append((sorted(system + part), _group_source(sources)))
    return [_sub(req, indices, source) for indices, source in groups]


def _sub(req: AddRequest, indices: list[int], source: dict[str, Any] | None) -> AddRequest:
    ids: dict[int, int] = {}  # message index -> its window row (non-system messages only)
    rows = iter(req.message_ids)
    for i, m in enumerate(req.messages):
        if m.role != "system":
            row = next(rows, None)
            if row is not None:
                ids[i] = row
    return replace(
        req,
        messages=[req.messages[i] for i in indices],
        metadata=with_source(req.metadata, source),
        window_done=True,
        message_ids=[ids[i] for i in indices if i in ids],
    )


def _merge(results: Sequence[AddResult]) -> AddResult:
    usage = Usage()
    for result in results:
        usage.llm_calls += result.usage.llm_calls
        usage.prompt_tokens += result.usage.prompt_tokens
        usage.completion_tokens += result.usage.completion_tokens
        usage.llm_seconds += result.usage.llm_seconds
    return AddResult(results=[e for r in results for e in r.results], usage=usage)


def _window_first(engine: Engine, req: AddRequest) -> None:
    """Record all the add's messages in the window, once and in order, before any call."""
    if not req.window_done:
        record_window(engine, req)


def run(engine: Engine, req: AddRequest, lock: Callable[[str], Any]) -> AddResult:
    """The synchronous infer add: one call, or one per chunk group (bounded)."""
    subs = plan(engine, req)
    if len(subs) == 1 and subs[0] is req:
        with lock(req.key):
            return run_infer(engine, req)
    with lock(req.key):
        _window_first(engine, req)
        return _merge([run_infer(engine, sub) for sub in plan(engine, req)])


async def arun(engine: Engine, req: AddRequest) -> AddResult:
    """Async twin of :func:`run` (the caller holds the scope's async lock)."""
    subs = plan(engine, req)
    if len(subs) == 1 and subs[0] is req:
        return await arun_infer(engine, req)
    await asyncio.to_thread(_window_first, engine, req)
    return _merge([await arun_infer(engine, sub) for sub in plan(engine, req)])
