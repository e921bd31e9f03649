"""Changes a user asks for: updates (a new text keeps the id, the old one becomes a version),
erasure (complete: rows, versions, vectors, terms, history text), and raw bulk inserts.

Each call is one backend transaction, all or nothing, and emits its events after commit.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from . import _validate as check
from . import events as _events
from ._adding import json_or, new_row
from ._ids import new_ids, text_hash
from ._keywords import terms_blob
from ._time import now as _now
from ._time import optional_epoch, to_epoch
from ._values import clean
from .backends.base import KEEP, Target, Writer
from .errors import ImmutableMemoryError, NotFoundError, ValidationError

if TYPE_CHECKING:
    from ._engine import Engine

_UPDATE_KEYS = frozenset(
    {"memory_id", "text", "data", "metadata", "expiration_date", "categories", "force"}
)

_RECORD_KEYS = frozenset(
    {
        "text",
        "memory",
        "user_id",
        "agent_id",
        "run_id",
        "metadata",
        "categories",
        "actor_id",
        "role",
        "timestamp",
        "expiration_date",
        "immutable",
    }
)


def target(w: Writer, memory_id: str, *, writable: bool = False) -> Target:
    """The memory ``memory_id``; ``writable`` also refuses an immutable memory."""
    found = w.target(memory_id)
    if found is None:
        raise NotFoundError(f"no memory with id {memory_id!r}", memory_id=memory_id)
    if writable and found.immutable:
        raise ImmutableMemoryError(
            f"memory {memory_id!r} was added with immutable=True; pass force=True to "
            "update it anyway (delete always erases it)",
            memory_id=memory_id,
        )
    return found


def _plan_update(engine: Engine, i: int, upd: Any) -> tuple[Any, ...]:
    if not isinstance(upd, Mapping):
        raise ValidationError(f"updates[{i}] must be a dict")
    unknown = set(upd) - _UPDATE_KEYS
    if unknown:
        raise ValidationError(f"updates[{i}] has unknown keys {sorted(unknown)}")
    mid = check.memory_id(upd.get("memory_id"))
    force = check.flag(upd.get("force", False), f"updates[{i}].force")
    text = upd.get("text", upd.get("data"))
    if text is not None:
        text = check.text(text, f"updates[{i}].text", engine.config.max_text_chars)
    meta = None if upd.get("metadata") is None else check.metadata(upd["metadata"])
    expires: Any = KEEP
    if "expiration_date" in upd:
        expires = optional_epoch(upd["expiration_date"], name=f"updates[{i}].expiration_date")
    cats = None if upd.get("categories") is None else check.categories(upd["categories"])
    if text is None and meta is None and expires is KEEP and cats is None:
        raise ValidationError(
            f"updates[{i}] needs 'text', 'metadata', 'categories' and/or 'expiration_date'"
        )
    return mid, text, meta, expires, cats, force


def batch_update(engine: Engine, updates: list[Any]) -> list[dict[str, Any]]:
    """Apply validated updates in one transaction (any bad item aborts all of them)."""
    plans = [_plan_update(engine, i, upd) for i, upd in enumerate(updates)]
    texts = [plan[1] for plan in plans if plan[1] is not None]
    vectors = iter(engine.embed(texts)) if texts else iter(())
    out = []
    now = _now()
    changed: list[_events.MemoryEvent] = []
    with engine.backend.write() as w:
        for mid, text, meta, expires, cats, force in plans:
            found = target(w, mid, writable=not force)
            cats_json = None if cats is None else json.dumps(cats, ensure_ascii=False)
            w.set_fields(found.key, now, categories=cats_json, expires=expires)
            meta_json = None if meta is None else json.dumps(meta, ensure_ascii=False)
            vector = next(vectors) if text is not None else None
            if text is not None and text_hash(text) != found.hash:
                assert vector is not None
                w.replace_text(
                    found.key,
                    text=text,
                    hash_=text_hash(text),
                    terms=terms_blob(text),
                    vector=vector,
                    now=now,
                    valid_from=now,
                    metadata=meta_json,
                )
            elif meta_json is not None:
                w.set_fields(found.key, now, metadata=meta_json)
            out.append({"id": mid, "event": "UPDATE"})
            if engine.on_event is not None:
                after = w.targets([found.key])[0]
                changed.append(_events.updated(after, found.memory, now))
    engine.emit(changed)
    return out


def erase_ids(engine: Engine, ids: list[str], source: bool) -> tuple[int, bool]:
    """Erase memories by id (and their source messages).

    Returns how many messages were erased, and whether the bytes already left the files.
    """
    now = _now()
    with engine.backend.write() as w:
        keys = sorted({target(w, mid).key for mid in ids})
        gone = _events.erased(w.targets(keys), now) if engine.on_event is not None else []
        erased = w.erase_sources(keys) if source else 0
        w.erase(keys, now)
    engine.emit(gone)
    return erased, bool(w.erased_on_disk)


def delete_all(engine: Engine, scope: dict[str, str]) -> tuple[int, bool]:
    """Erase every memory of a scope and its message windows; returns (count, on disk)."""
    now = _now()
    with engine.backend.write() as w:
        keys = w.scope_keys(scope)
        gone = _events.erased(w.targets(keys), now) if engine.on_event is not None else []
        count = w.erase(keys, now)
        w.erase_window(scope)
    engine.emit(gone)
    return count, bool(w.erased_on_disk)


def batch_add(engine: Engine, records: Sequence[Any]) -> list[dict[str, Any]]:
    """Validate every record, embed them in batches, insert all in one transaction."""
    now = _now()
    limit = engine.config.max_text_chars
    prepared: list[tuple[Any, ...]] = []
    for i, rec in enumerate(records):
        if not isinstance(rec, Mapping):
            raise ValidationError(f"records[{i}] must be a dict")
        unknown = set(rec) - _RECORD_KEYS
        if unknown:
            raise ValidationError(f"records[{i}] has unknown keys {sorted(unknown)}")
        text = check.text(rec.get("text", rec.get("memory")), f"records[{i}].text", limit)
        scope = check.scope_ids(rec.get("user_id"), rec.get("agent_id"), rec.get("run_id"))
        stamp = rec.get("timestamp")
        prepared.append(
            (
                text,
                scope.get("user_id"),
                scope.get("agent_id"),
                scope.get("run_id"),
                _opt_str(rec, "actor_id", i),
                _opt_str(rec, "role", i),
                json_or(check.metadata(rec.get("metadata")), "{}"),
                json_or(check.categories(rec.get("categories")), "[]"),
                None,
                check.flag(rec.get("immutable", False), f"records[{i}].immutable"),
                now if stamp is None else to_epoch(stamp, name=f"records[{i}].timestamp"),
                now,
                optional_epoch(rec.get("expiration_date"), name=f"records[{i}].expiration_date"),
            )
        )
    if not prepared:
        return []
    vectors = engine.embed([p[0] for p in prepared])
    ids = new_ids(len(prepared))
    rows = [new_row(i, p[0], v, *p[1:]) for i, p, v in zip(ids, prepared, vectors)]
    with engine.backend.write() as w:
        w.insert(rows)
    if engine.on_event is not None:
        engine.emit(_events.inserted(rows, now))
    return [{"id": r.id, "memory": r.memory, "event": "ADD"} for r in rows]


def _opt_str(record: Mapping[str, Any], key: str, index: int) -> str | None:
    value = record.get(key)
    if value is not None and (not isinstance(value, str) or not value):
        raise ValidationError(f"records[{index}].{key} must be a non-empty string")
    return None if value is None else clean(value, f"records[{index}].{key}")


RATINGS = ("POSITIVE", "NEGATIVE", "VERY_NEGATIVE")


def feedback(engine: Engine, memory_id: str, rating: Any, reason: Any) -> dict[str, Any]:
    """Record a rating of a memory (mem0's feedback) as an event in its history."""
    memory_id = check.memory_id(memory_id)
    if rating is not None and rating not in RATINGS:
        raise ValidationError(
            f"feedback must be one of {', '.join(RATINGS)} or None, got {rating!r}"
        )
    if reason is not None:
        reason = check.text(reason, "feedback_reason", engine.config.max_text_chars)
    with engine.backend.write() as w:
        found = target(w, memory_id)
        if not found.active:
            raise NotFoundError(f"no memory with id {memory_id!r}", memory_id=memory_id)
        w.record_feedback(found.key, memory_id, rating, reason, _now())
    return {
        "message": "Feedback recorded" if rating is not None else "Feedback cleared",
        "memory_id": memory_id,
        "feedback": rating,
        "feedback_reason": reason,
    }
