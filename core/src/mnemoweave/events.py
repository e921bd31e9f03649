"""Memory events: what a committed write did, handed to ``Memory(on_event=...)``.

A hook runs in the writing thread right after the transaction commits, never before, so it
never sees a write that could still roll back. It should hand the event off quickly (put it
on a queue) rather than do slow work itself: the call that wrote waits for it. An exception
raised by a hook is logged and never fails or undoes the write.

``reset()`` erases a whole store at once and sends no per-memory events.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from ._time import to_datetime
from .errors import ConfigurationError

__all__ = ["EventHook", "MemoryEvent"]

logger = logging.getLogger("mnemoweave")

EventKind = Literal["ADD", "UPDATE", "DELETE"]


@dataclass(frozen=True, slots=True)
class MemoryEvent:
    """One memory added, changed or deleted by a committed write.

    ``memory`` is the new text (ADD, UPDATE) or the retired text (an LLM DELETE); it is
    ``None`` when a user erased the memory, because erased text must not travel anywhere.
    """

    event: EventKind
    memory_id: str
    user_id: str | None
    agent_id: str | None
    run_id: str | None
    memory: str | None
    previous_memory: str | None
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``at`` as an ISO string)."""
        return {
            "event": self.event,
            "memory_id": self.memory_id,
            "user_id": self.user_id,
            "agent_id": self.agent_id,
            "run_id": self.run_id,
            "memory": self.memory,
            "previous_memory": self.previous_memory,
            "at": self.at.isoformat(),
        }


EventHook = Callable[[MemoryEvent], None]


def check_hook(hook: Any) -> EventHook | None:
    """``hook`` itself when it is callable or ``None``."""
    if hook is not None and not callable(hook):
        raise ConfigurationError(f"on_event must be a callable or None, got {type(hook).__name__}")
    checked: EventHook | None = hook
    return checked


def emit(hook: EventHook, events: Iterable[MemoryEvent]) -> None:
    """Call ``hook`` with each event; a failing hook is logged, never raised."""
    for event in events:
        try:
            hook(event)
        except Exception as exc:
            logger.warning("mnemoweave: on_event hook failed for %s: %s", event.memory_id, exc)


def from_add(results: Sequence[Any], ids: tuple[Any, Any, Any], at: float) -> list[MemoryEvent]:
    """Events for an add's results (``AddEvent``s); ``NONE`` outcomes changed nothing."""
    when = to_datetime(at)
    assert when is not None
    return [
        MemoryEvent(
            r.event,
            r.id,
            ids[0],
            ids[1],
            ids[2],
            r.memory,
            getattr(r, "previous_memory", None),
            when,
        )
        for r in results
        if r.event != "NONE"
    ]


def inserted(rows: Sequence[Any], at: float) -> list[MemoryEvent]:
    """ADD events for new rows (``NewRow``s carrying their own scope ids)."""
    when = to_datetime(at)
    assert when is not None
    return [
        MemoryEvent("ADD", r.id, r.user_id, r.agent_id, r.run_id, r.memory, None, when)
        for r in rows
    ]


def erased(targets: Sequence[Any], at: float) -> list[MemoryEvent]:
    """DELETE events for memories about to be erased (``Target``s read in that transaction)."""
    when = to_datetime(at)
    assert when is not None
    return [
        MemoryEvent("DELETE", t.id, t.user_id, t.agent_id, t.run_id, None, None, when)
        for t in targets
    ]


def updated(after: Any, previous: str | None, at: float) -> MemoryEvent:
    """The UPDATE event for a memory (its ``Target`` after the change) changed just now."""
    when = to_datetime(at)
    assert when is not None
    text = after.memory
    return MemoryEvent(
        "UPDATE",
        after.id,
        after.user_id,
        after.agent_id,
        after.run_id,
        text,
        None if previous == text else previous,
        when,
    )
