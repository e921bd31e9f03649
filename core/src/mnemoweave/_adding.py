"""Add planning and raw adds: validate an ``add`` call into a request, store messages as-is.

Infer adds (one LLM call) continue in :mod:`._pipeline`; both share :func:`rows_for` and
:func:`append_window`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict

import numpy as np

from . import _validate as check
from ._ids import new_ids, scope_key, text_hash
from ._intake import intake, with_source
from ._keywords import terms_blob
from ._media import require_vision
from ._messages import Message, normalize_messages
from ._time import now as _now
from ._time import optional_epoch, to_epoch
from .backends.base import NewRow, Writer
from .errors import ConfigurationError, ValidationError
from .types import AddEvent, AddResult

if TYPE_CHECKING:
    from ._engine import Engine

logger = logging.getLogger("mnemoweave")

_NO_LLM_NOTICE = (
    "mnemoweave: no LLM is configured, so add() stores messages verbatim (infer=False). "
    "Pass llm={'model': ..., 'base_url': ...} to extract facts."
)


@dataclass(slots=True)
class AddRequest:
    """A validated ``add`` call, shared by the sync and async front ends."""

    messages: list[Message]
    scope: dict[str, str]
    metadata: dict[str, Any]
    categories: list[str]
    observed: float
    expires: float | None
    immutable: bool
    memory_type: str | None
    prompt: str | None
    infer: bool
    #: What this add's extraction may remember / must not remember (mem0's includes/excludes).
    includes: str | None = None
    excludes: str | None = None
    #: Set once the messages are in the scope's window (background adds do it up front).
    window_done: bool = False
    #: The window rows of this add's non-system messages (what its memories came from).
    message_ids: list[int] = field(default_factory=list)
    #: Contextual add reads the window rows before this one (a document chunk: its whole add's).
    context_before: int | None = None

    @property
    def ids(self) -> tuple[str | None, str | None, str | None]:
        return (self.scope.get("user_id"), self.scope.get("agent_id"), self.scope.get("run_id"))

    @property
    def key(self) -> str:
        return scope_key(*self.ids)


class AddOptions(TypedDict, total=False):
    """The keyword arguments of ``Memory.add`` besides ``background`` and ``window``.

    Only for type checkers: the ``add`` overloads share it, so each lists its own return type
    without repeating the whole signature.
    """

    user_id: str | None
    agent_id: str | None
    run_id: str | None
    metadata: Mapping[str, Any] | None
    infer: bool | None
    timestamp: Any
    expiration_date: Any
    immutable: bool
    memory_type: str | None
    prompt: str | None
    categories: Sequence[str] | None
    includes: str | None
    excludes: str | None
    version: str | None
    output_format: str | None


def plan_add(engine: Engine, messages: Any, options: Mapping[str, Any]) -> AddRequest:
    """Validate an ``add`` call (``options`` as in :class:`AddOptions`) into a request."""
    options = dict(options)
    check.legacy(options)
    scope = check.scope_ids(options.get("user_id"), options.get("agent_id"), options.get("run_id"))
    config = engine.config
    msgs = intake(messages, config)
    infer = options.get("infer")
    if infer is None:
        infer = engine.llm is not None
        if not infer and not engine.noticed:
            engine.noticed = True
            logger.info(_NO_LLM_NOTICE)
    elif not isinstance(infer, bool):
        raise ValidationError(f"infer must be True, False or None, got {infer!r}")
    mtype = check.memory_type(options.get("memory_type"), scope.get("agent_id"))
    if (infer or mtype) and engine.llm is None:
        what = "memory_type='procedural_memory'" if mtype else "infer=True"
        raise ConfigurationError(
            f"{what} needs an LLM: pass llm={{'model': ..., 'base_url': ..., 'api_key': ...}} "
            "to Memory(...) (any OpenAI-compatible endpoint), or use infer=False"
        )
    require_vision(msgs, bool(infer), engine.llm)
    prompt = check.optional_text(options.get("prompt"), "prompt", config.max_text_chars)
    steer = {
        name: check.optional_text(options.get(name), name, config.max_text_chars)
        for name in ("includes", "excludes")
    }
    if not infer and any(steer.values()):
        raise ValidationError(
            "includes/excludes steer the LLM's extraction; they need infer=True (a raw add, "
            "infer=False, stores the messages as they are)"
        )
    timestamp = options.get("timestamp")
    return AddRequest(
        messages=msgs,
        scope=scope,
        metadata=check.metadata(options.get("metadata")),
        categories=check.categories(options.get("categories")),
        observed=_now() if timestamp is None else to_epoch(timestamp, name="timestamp"),
        expires=optional_epoch(options.get("expiration_date"), name="expiration_date"),
        immutable=check.flag(options.get("immutable", False), "immutable"),
        memory_type=mtype,
        prompt=prompt,
        infer=bool(infer) or mtype is not None,
        includes=steer["includes"],
        excludes=steer["excludes"],
    )


def window_request(engine: Engine, messages: Any, scope: dict[str, str]) -> AddRequest:
    """A request that only records messages in the scope's window (``append_messages``)."""
    return AddRequest(
        messages=normalize_messages(messages, engine.config.max_text_chars, files=engine.config),
        scope=scope,
        metadata={},
        categories=[],
        observed=_now(),
        expires=None,
        immutable=False,
        memory_type=None,
        prompt=None,
        infer=False,
    )


def run_add(engine: Engine, req: AddRequest) -> AddResult:
    """Carry out a planned add in this thread."""
    if not req.infer:
        return add_raw(engine, req)
    from ._docinfer import run  # one call, or one per document chunk

    return run(engine, req, engine.scope_lock)


def record_window(engine: Engine, req: AddRequest) -> None:
    """Put the raw messages in the window now (a background add, ``append_messages``)."""
    with engine.backend.write() as w:
        append_window(engine, w, req, _now())
    req.window_done = True


def append_window(engine: Engine, w: Writer, req: AddRequest, recorded: float) -> None:
    if req.window_done:
        return
    ids = w.append_messages(
        req.ids,
        [(m.role, m.content, m.name) for m in req.messages],
        recorded,
        engine.config.message_window,
    )
    req.message_ids = [i for i, m in zip(ids, req.messages) if m.role != "system"]
    if ids:
        req.context_before = min(ids)


def rows_for(
    req: AddRequest,
    texts: Sequence[str],
    vectors: np.ndarray,
    speakers: Sequence[tuple[str | None, str | None]],
    recorded: float,
    metas: Sequence[Mapping[str, Any]] | None = None,
) -> list[NewRow]:
    """Rows for new memories; ``speakers`` holds each text's ``(actor_id, role)``, and
    ``metas`` (when given) each text's own metadata instead of the request's."""
    meta, cats = json_or(req.metadata, "{}"), json_or(req.categories, "[]")
    row_metas = [meta] * len(texts) if metas is None else [json_or(m, "{}") for m in metas]
    user, agent, run = req.ids
    return [
        new_row(
            memory_id,
            text,
            vector,
            user,
            agent,
            run,
            actor,
            role,
            row_meta,
            cats,
            req.memory_type,
            req.immutable,
            req.observed,
            recorded,
            req.expires,
        )
        for memory_id, text, vector, (actor, role), row_meta in zip(
            new_ids(len(texts)), texts, vectors, speakers, row_metas
        )
    ]


def add_raw(engine: Engine, req: AddRequest) -> AddResult:
    """``infer=False``: every non-system message becomes one memory, verbatim."""
    kept = [m for m in req.messages if m.role != "system"]
    if not kept:
        raise ValidationError("messages contain only system messages; there is nothing to store")
    texts = [m.content for m in kept]
    vectors = engine.embed(texts)
    recorded = _now()
    metas = [with_source(req.metadata, m.source) for m in kept]  # document chunks' sources
    speakers = [(m.name, m.role) for m in kept]
    rows = rows_for(req, texts, vectors, speakers, recorded, metas)
    with engine.backend.write() as w:
        w.insert(rows)
        append_window(engine, w, req, recorded)
    result = AddResult(
        results=[
            AddEvent(
                id=r.id,
                memory=r.memory,
                event="ADD",
                metadata=meta or None,
                actor_id=r.actor_id,
                role=r.role,
            )
            for r, meta in zip(rows, metas, strict=True)
        ]
    )
    engine.emit_add(result.results, req.ids, recorded)
    return result


def json_or(value: Any, empty: str) -> str:
    """``value`` as JSON text, or ``empty`` when it is empty."""
    return json.dumps(value, ensure_ascii=False) if value else empty


def new_row(
    memory_id: str,
    text: str,
    vector: np.ndarray,
    user: str | None,
    agent: str | None,
    run: str | None,
    actor: str | None,
    role: str | None,
    metadata: str,
    categories: str,
    memory_type: str | None,
    immutable: bool,
    observed: float,
    recorded: float,
    expires: float | None,
) -> NewRow:
    """A new memory row with its hash and its keyword terms."""
    return NewRow(
        id=memory_id,
        memory=text,
        hash=text_hash(text),
        user_id=user,
        agent_id=agent,
        run_id=run,
        actor_id=actor,
        role=role,
        metadata=metadata,
        categories=categories,
        memory_type=memory_type,
        immutable=int(immutable),
        timestamp=observed,
        recorded_at=recorded,
        expires_at=expires,
        terms=terms_blob(text),
        vector=vector,
    )
