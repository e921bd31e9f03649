"""The ``infer`` add pipeline: one LLM call extracts facts and reconciles them with the scope.

The conversation with the LLM (first call, optional repair call, parsing) is written once, as
a generator that yields the requests it wants made; ``run_infer`` drives it with the sync
client and ``arun_infer`` with the async one, so both behave identically. Around it, the add
holds its scope's lease (``_lease.py``) from reading the existing memories to applying the
reply, so adds of one scope in different processes never reconcile against stale input.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from . import _searching
from ._adding import append_window, rows_for
from ._ids import text_hash
from ._keywords import terms_blob
from ._lease import ATTEMPTS, Lease, LeaseLost, ttl_for
from ._media import user_content
from ._time import iso
from ._time import now as _now
from .backends.base import Selection
from .errors import ExtractionError, MnemoweaveError, StorageError
from .llm import prompts
from .llm._parse import extract_json, strip_thinking
from .types import AddEvent, AddResult, Usage

if TYPE_CHECKING:
    from ._adding import AddRequest
    from ._engine import Engine

logger = logging.getLogger("mnemoweave")

_OPS = ("ADD", "UPDATE", "DELETE", "NONE")


@dataclass(slots=True)
class Existing:
    """A memory shown to the LLM under a short integer id (its position in the list)."""

    id: str
    text: str
    immutable: bool


@dataclass(slots=True)
class Op:
    op: str
    index: int | None
    text: str | None


@dataclass(slots=True)
class Call:
    """One chat-completions request the pipeline wants made."""

    messages: list[dict[str, Any]]
    json_schema: dict[str, Any] | None


@dataclass(slots=True)
class Job:
    req: AddRequest
    existing: list[Existing]
    messages: list[dict[str, Any]]
    procedural: bool
    max_reply_chars: int = 200_000
    usage: Usage = field(default_factory=Usage)


# -- preparing ------------------------------------------------------------------------------
def begin(engine: Engine, req: AddRequest) -> Lease:
    """Save the raw messages to the scope's window, and try to take the scope's lease."""
    lease = Lease(req.key, ttl_for(engine.llm))
    with engine.backend.write() as w:
        append_window(engine, w, req, _now())
        lease.try_take(w)
    return lease


def retake(engine: Engine, lease: Lease) -> bool:
    """Try again to take a lease another add of the scope holds."""
    with engine.backend.write() as w:
        return lease.try_take(w)


def finish(engine: Engine, lease: Lease) -> None:
    """Give the scope back if the add ended without applying (an error, a cancellation)."""
    if not lease.held:
        return
    try:
        with engine.backend.write() as w:
            lease.release(w)
        lease.held = False
    except MnemoweaveError as exc:  # it expires on its own; the add's own error matters more
        logger.warning("mnemoweave: could not release the lease of %s: %s", lease.scope, exc)


def prepare(engine: Engine, req: AddRequest, usage: Usage | None = None) -> Job:
    """Gather what the LLM needs to see (the add holds the scope's lease)."""
    usage = Usage() if usage is None else usage
    turns = [(m.role, m.content, m.name) for m in req.messages]
    limit = engine.config.max_reply_chars
    if req.memory_type == "procedural_memory":
        chat = [
            {"role": "system", "content": prompts.PROCEDURAL_SYSTEM},
            {"role": "user", "content": prompts.procedural_user(turns)},
        ]
        return Job(req, [], chat, procedural=True, max_reply_chars=limit, usage=usage)
    existing = _existing(engine, req)
    system = prompts.extraction_system(
        engine.config.custom_instructions,
        req.prompt or engine.config.extraction_prompt,
        includes=req.includes,
        excludes=req.excludes,
    )
    context = _context_turns(engine, req)
    user = prompts.extraction_user(iso(req.observed), [e.text for e in existing], turns, context)
    content = user_content(user, req.messages, engine.llm)
    chat: list[dict[str, Any]] = [
        {"role": "system", "content": system},
        {"role": "user", "content": content},
    ]
    return Job(req, existing, chat, procedural=False, max_reply_chars=limit, usage=usage)


_CONTEXT_CHARS = 500


def _context_turns(engine: Engine, req: AddRequest) -> list[tuple[str, str, str | None]]:
    """The exact scope's last ``context_turns`` window messages recorded before this add's."""
    turns = engine.config.context_turns
    if turns == 0:
        return []
    with engine.backend.read() as reader:
        rows = reader.messages(req.ids, turns, req.context_before)
    return [(role, content[:_CONTEXT_CHARS], name) for role, content, name, _ in rows]


def _existing(engine: Engine, req: AddRequest) -> list[Existing]:
    limit = engine.config.reconcile_limit
    if limit == 0:
        return []
    query = "\n".join(m.content for m in req.messages if m.role != "system")
    if not query.strip():
        return []
    # Exactly the add's scope: an add for agent "bot" alone never sees a user's memories
    # stored under that agent, nor does (alice, bot) see (alice, bot, run-7)'s.
    found = _searching.search(
        engine,
        query[: engine.config.max_text_chars],
        Selection(req.scope, _now(), exact=True),
        limit=limit,
        threshold=None,
        keyword_weight=engine.config.keyword_weight,
        explain=False,
    )
    return [Existing(item.id, item.memory, item.immutable) for item in found]


# -- talking to the LLM ---------------------------------------------------------------------
def conversation(job: Job) -> Generator[Call, Any, list[Op]]:
    """Ask once; if the reply is unusable, show the model its reply and ask once more."""
    schema = None if job.procedural else prompts.OPERATIONS_SCHEMA
    reply = yield Call(job.messages, schema)
    _account(job, reply)
    _check_size(job, reply.text)
    try:
        return _parse(job, reply.text)
    except ValueError as exc:
        reason = str(exc)
        logger.warning("mnemoweave: unusable LLM reply (%s); asking once more", reason)
    repair = [
        *job.messages,
        {"role": "assistant", "content": reply.text or ""},
        {
            "role": "user",
            "content": (
                prompts.PROCEDURAL_REPAIR_TEMPLATE if job.procedural else prompts.REPAIR_TEMPLATE
            ).format(reason=reason),
        },
    ]
    second = yield Call(repair, schema)
    _account(job, second)
    _check_size(job, second.text)
    try:
        return _parse(job, second.text)
    except ValueError as exc:
        raise ExtractionError(
            f"the LLM did not return valid memory operations after one repair attempt: {exc}. "
            "The messages were kept in the scope's message window (get_messages).",
            raw=second.text,
        ) from None


def _check_size(job: Job, text: str | None) -> None:
    """Refuse an oversized reply before parsing it (and without sending it back in a repair)."""
    if text is not None and len(text) > job.max_reply_chars:
        raise ExtractionError(
            f"the LLM reply has {len(text):,} characters, more than max_reply_chars="
            f"{job.max_reply_chars:,}; it was not parsed. The messages were kept in the "
            "scope's message window (get_messages).",
            raw=text,
        )


def _account(job: Job, reply: Any) -> None:
    job.usage.llm_calls += 1
    job.usage.prompt_tokens += int(getattr(reply, "prompt_tokens", 0) or 0)
    job.usage.completion_tokens += int(getattr(reply, "completion_tokens", 0) or 0)
    job.usage.llm_seconds += float(getattr(reply, "seconds", 0.0) or 0.0)


def _parse(job: Job, text: str | None) -> list[Op]:
    if text is None or not text.strip():
        raise ValueError("the reply was empty")
    if job.procedural:
        summary = strip_thinking(text).strip()
        if not summary:
            raise ValueError("the reply held no summary")
        return [Op("ADD", None, summary)]
    data = extract_json(text)
    ops = data.get("operations", data.get("memory")) if isinstance(data, dict) else data
    if not isinstance(ops, list):
        raise ValueError('expected {"operations": [...]}')
    out: list[Op] = []
    for raw in ops:
        op = _op(job, raw)
        if op is not None:
            out.append(op)
    return out


def _op(job: Job, raw: Any) -> Op | None:
    """One operation, or ``None`` (with a warning) when it cannot be applied."""
    if not isinstance(raw, dict):
        raise ValueError(f"operation {_brief(raw)} is not an object")
    name = str(raw.get("op", raw.get("event", ""))).upper()
    if name not in _OPS:
        raise ValueError(f"unknown operation {_brief(raw.get('op'))}")
    text = raw.get("text", raw.get("memory"))
    if text is not None and not isinstance(text, str):
        raise ValueError(f"operation text must be a string, got {_brief(text)}")
    index = raw.get("id")
    if name == "ADD":
        if not text or not text.strip():
            raise ValueError("an ADD operation has no text")
        return Op(name, None, text.strip())
    if isinstance(index, str) and index.strip().isdigit():
        index = int(index.strip())
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(job.existing):
        logger.warning(
            "mnemoweave: ignoring %s for id %r, which the LLM was not shown", name, index
        )
        return None
    if name == "UPDATE" and (not text or not text.strip()):
        raise ValueError("an UPDATE operation has no text")
    return Op(name, index, text.strip() if text else None)


def _brief(value: Any) -> str:
    """A short repr of part of a reply, for error messages that go back to the model."""
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."


def drive(gen: Generator[Call, Any, list[Op]], complete: Callable[[Call], Any]) -> list[Op]:
    """Run the conversation with a synchronous ``complete(call)``."""
    try:
        call = next(gen)
        while True:
            call = gen.send(complete(call))
    except StopIteration as stop:
        return list(stop.value)


async def adrive(gen: Generator[Call, Any, list[Op]], acomplete: Callable[[Call], Any]) -> list[Op]:
    """Run the conversation with an async ``acomplete(call)``."""
    try:
        call = next(gen)
        while True:
            call = gen.send(await acomplete(call))
    except StopIteration as stop:
        return list(stop.value)


# -- applying -------------------------------------------------------------------------------
def apply(engine: Engine, job: Job, ops: list[Op], lease: Lease) -> AddResult:
    """Carry out the operations in one transaction and report what happened.

    Raises :class:`LeaseLost` (writing nothing) when another add took the scope over while
    the LLM answered; otherwise the lease is given back in the same transaction, and every
    memory the add touched is linked to the messages it came from.
    """
    req = job.req
    texts = [op.text for op in ops if op.op in ("ADD", "UPDATE") and op.text]
    vectors = dict(zip(texts, engine.embed(texts))) if texts else {}
    events: list[AddEvent] = []
    touched: set[int] = set()
    now = _now()
    actor = _actor(req)
    meta = dict(req.metadata)
    if job.procedural:
        meta["memory_type"] = "procedural_memory"
    fact_req = replace(req, metadata=meta)
    with engine.backend.write() as w:
        lease.check(w)
        sources: set[int] = set()  # rids of the memories these messages now back
        seen_hashes: set[str] = set()
        for op in ops:
            if op.index is not None and op.index in touched:
                logger.warning("mnemoweave: ignoring a second %s for id %d", op.op, op.index)
                continue
            if op.op == "ADD":
                assert op.text is not None
                digest = text_hash(op.text)
                dup = w.duplicate(req.ids, digest)
                if dup is not None or digest in seen_hashes:
                    if dup is not None:
                        events.append(AddEvent(id=dup.id, memory=dup.memory, event="NONE"))
                        sources.add(dup.key)
                    continue
                seen_hashes.add(digest)
                row = rows_for(
                    fact_req, [op.text], vectors[op.text][None, :], [(actor, None)], now
                )[0]
                sources.update(w.insert([row]))
                events.append(
                    AddEvent(
                        id=row.id,
                        memory=op.text,
                        event="ADD",
                        metadata=meta or None,
                        actor_id=actor,
                    )
                )
                continue
            assert op.index is not None
            target = job.existing[op.index]
            found = w.target(target.id, req.ids)
            if found is None or not found.active:
                logger.warning(
                    "mnemoweave: memory %s changed before the LLM reply was applied", target.id
                )
                continue
            rid, current, immutable = found.key, found.memory, found.immutable
            touched.add(op.index)
            sources.add(rid)
            if op.op == "NONE":
                events.append(AddEvent(id=target.id, memory=current, event="NONE"))
                continue
            if immutable:
                logger.warning("mnemoweave: memory %s is immutable; ignoring %s", target.id, op.op)
                events.append(AddEvent(id=target.id, memory=current, event="NONE"))
                continue
            if op.op == "UPDATE":
                assert op.text is not None
                if text_hash(op.text) == text_hash(current):
                    events.append(AddEvent(id=target.id, memory=current, event="NONE"))
                    continue
                w.replace_text(
                    rid,
                    text=op.text,
                    hash_=text_hash(op.text),
                    terms=terms_blob(op.text),
                    vector=vectors[op.text],
                    now=now,
                    valid_from=req.observed,
                    actor_id=actor,
                )
                events.append(
                    AddEvent(
                        id=target.id,
                        memory=op.text,
                        event="UPDATE",
                        previous_memory=current,
                        actor_id=actor,
                    )
                )
            else:  # DELETE: retire, keep for history and as_of
                w.retire(rid, now=now, valid_to=req.observed, actor_id=actor)
                events.append(AddEvent(id=target.id, memory=current, event="DELETE"))
        w.link_sources(sources, req.message_ids)
        lease.release(w)
    lease.held = False
    result = AddResult(results=events, usage=job.usage)
    engine.emit_add(result.results, req.ids, now)
    return result


def _actor(req: AddRequest) -> str | None:
    """The speaker a fact is about: the single named user in the messages, if there is one."""
    names = {m.name for m in req.messages if m.role == "user" and m.name}
    return names.pop() if len(names) == 1 else None


# -- drivers --------------------------------------------------------------------------------
def _call_kwargs(call: Call) -> dict[str, Any]:
    return {"json_schema": call.json_schema} if call.json_schema is not None else {}


def run_infer(engine: Engine, req: AddRequest) -> AddResult:
    """The synchronous pipeline: take the scope, read it, one LLM call (+ one repair), apply."""
    lease = begin(engine, req)
    usage = Usage()
    llm = engine.llm
    try:
        for _ in range(ATTEMPTS):
            while not lease.held:
                time.sleep(lease.pause())
                retake(engine, lease)
            job = prepare(engine, req, usage)
            ops = drive(
                conversation(job), lambda call: llm.complete(call.messages, **_call_kwargs(call))
            )
            try:
                return apply(engine, job, ops, lease)
            except LeaseLost:
                _replanning(lease)
        raise _gave_up(lease)
    finally:
        finish(engine, lease)


async def arun_infer(engine: Engine, req: AddRequest) -> AddResult:
    """The async pipeline: SQLite and embedding work in threads, the LLM call on the loop."""
    lease = await asyncio.to_thread(begin, engine, req)
    usage = Usage()
    llm = engine.llm

    async def acomplete(call: Call) -> Any:
        return await llm.acomplete(call.messages, **_call_kwargs(call))

    try:
        for _ in range(ATTEMPTS):
            while not lease.held:
                await asyncio.sleep(lease.pause())
                await asyncio.to_thread(retake, engine, lease)
            job = await asyncio.to_thread(prepare, engine, req, usage)
            ops = await adrive(conversation(job), acomplete)
            try:
                return await asyncio.to_thread(apply, engine, job, ops, lease)
            except LeaseLost:
                _replanning(lease)
        raise _gave_up(lease)
    finally:
        await asyncio.to_thread(finish, engine, lease)


def _replanning(lease: Lease) -> None:
    logger.warning(
        "mnemoweave: another add took scope %s over while the LLM answered (this one held it "
        "longer than %.0fs); reading the scope again",
        lease.scope,
        lease.ttl,
    )


def _gave_up(lease: Lease) -> StorageError:
    return StorageError(
        f"gave up reconciling scope {lease.scope}: other adds took it over {ATTEMPTS} times "
        "while the LLM answered; the messages are kept in the scope's window (get_messages)"
    )
