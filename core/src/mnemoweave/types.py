"""Typed results that also read like mem0's dicts (``r["results"][0]["memory"]``).

Every model supports ``item["key"]``, ``item.get("key")``, ``"key" in item``, iteration over
its keys, ``keys()``/``values()``/``items()``, ``dict(item)`` and ``to_dict()``. As in mem0's
payloads, every field is present in the dict view (``None`` included) and timestamps read as
ISO-8601 strings there, while the typed attributes stay ``datetime``. A few models also answer
to the names mem0's platform uses (``history()``'s ``action``/``previous_value``/``new_value``,
an add event's ``old_memory``); those aliases are readable but not listed in ``keys()``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field

Event = Literal["ADD", "UPDATE", "DELETE", "NONE"]
EntityKind = Literal["user", "agent", "run"]


def _plain(value: Any) -> Any:
    """``value`` as the dict view shows it: datetimes as ISO-8601 strings, at any depth."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


class _DictView(BaseModel):
    """Mapping-style read access on top of a pydantic model."""

    model_config = ConfigDict(frozen=False, extra="forbid")

    # mem0 spelling -> field name; readable through the mapping API, not listed in keys().
    _aliases: ClassVar[dict[str, str]] = {}

    def _field(self, key: object) -> str | None:
        if not isinstance(key, str):
            return None
        if key in type(self).model_fields:
            return key
        return type(self)._aliases.get(key)

    def __getitem__(self, key: str) -> Any:
        name = self._field(key)
        if name is None:
            raise KeyError(key)
        value = self.__dict__.get(name)
        return value.isoformat() if isinstance(value, datetime) else value

    def get(self, key: str, default: Any = None) -> Any:
        name = self._field(key)
        return default if name is None else self[name]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key in type(self).model_fields

    def __iter__(self) -> Iterator[str]:  # type: ignore[override]
        # A mapping iterates over its keys (pydantic's default yields (name, value) pairs).
        return iter(type(self).model_fields)

    def keys(self) -> list[str]:
        return list(type(self).model_fields)

    def values(self) -> list[Any]:
        return [self[key] for key in type(self).model_fields]

    def items(self) -> list[tuple[str, Any]]:
        return [(key, self[key]) for key in type(self).model_fields]

    def __len__(self) -> int:
        return len(type(self).model_fields)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: every field (``None`` included), datetimes as ISO strings."""
        # model_dump's JSON mode writes UTC as "Z"; isoformat keeps the dict view's "+00:00".
        return _plain(self.model_dump())  # type: ignore[no-any-return]

    @classmethod
    def _trusted(cls, values: dict[str, Any]) -> Self:
        """Build from values mnemoweave produced itself, skipping validation.

        ``values`` must hold every field. Search results are built this way because
        validating (or even ``model_construct``) costs more than the search itself.
        """
        obj = cls.__new__(cls)
        object.__setattr__(obj, "__dict__", values)
        object.__setattr__(obj, "__pydantic_fields_set__", set(values))
        object.__setattr__(obj, "__pydantic_extra__", None)
        object.__setattr__(obj, "__pydantic_private__", None)
        return obj


class MemoryItem(_DictView):
    """One stored memory as returned by ``get``, ``get_all`` and ``search``."""

    id: str
    memory: str
    hash: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    categories: list[str] = Field(default_factory=list)
    user_id: str | None = None
    agent_id: str | None = None
    run_id: str | None = None
    actor_id: str | None = None
    role: str | None = None
    memory_type: str | None = None
    immutable: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    recorded_at: datetime | None = None
    expired_at: datetime | None = None
    expiration_date: datetime | None = None
    score: float | None = None
    explain: dict[str, float] | None = None


class _ResultList(_DictView):
    results: list[Any] = Field(default_factory=list)


class SearchResult(_ResultList):
    """``{"results": [MemoryItem with "score"], ...}`` from ``search``."""

    results: list[MemoryItem] = Field(default_factory=list)


class MemoryList(_ResultList):
    """``{"results": [MemoryItem]}`` from ``get_all``; ``total`` counts every match.

    With ``page`` / ``page_size`` also mem0's pagination fields: ``count`` (every match, as
    ``total``) and ``next`` / ``previous`` (the neighbouring page numbers, None at either end;
    mem0's platform returns URLs there, a library has none to give). None when not paged.
    """

    results: list[MemoryItem] = Field(default_factory=list)
    total: int = 0
    count: int | None = None
    next: int | None = None
    previous: int | None = None


class Usage(_DictView):
    """What an add cost: LLM calls, tokens, and wall time spent in the LLM step."""

    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    llm_seconds: float = 0.0


class AddEvent(_DictView):
    """One effect of an ``add``: the memory touched and what happened to it."""

    id: str
    memory: str
    event: Event
    previous_memory: str | None = None
    metadata: dict[str, Any] | None = None
    actor_id: str | None = None
    role: str | None = None

    _aliases: ClassVar[dict[str, str]] = {"old_memory": "previous_memory"}

    @property
    def old_memory(self) -> str | None:
        """mem0's name for :attr:`previous_memory`."""
        return self.previous_memory


class AddResult(_ResultList):
    """``{"results": [AddEvent], "relations": [], "usage": Usage}`` from ``add``."""

    results: list[AddEvent] = Field(default_factory=list)
    relations: list[Any] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)


class HistoryEntry(_DictView):
    """One event in a memory's history (text is absent once the memory was erased)."""

    id: int
    memory_id: str
    event: str
    old_memory: str | None = None
    new_memory: str | None = None
    actor_id: str | None = None
    role: str | None = None
    created_at: datetime | None = None
    is_deleted: bool = False
    #: A ``FEEDBACK`` event's rating (``POSITIVE``, ``NEGATIVE``, ``VERY_NEGATIVE``; None clears).
    feedback: str | None = None
    feedback_reason: str | None = None

    _aliases: ClassVar[dict[str, str]] = {
        "action": "event",
        "new_value": "new_memory",
        "previous_value": "old_memory",
    }

    @property
    def action(self) -> str:
        """The platform's name for :attr:`event`."""
        return self.event

    @property
    def previous_value(self) -> str | None:
        """The platform's name for :attr:`old_memory`."""
        return self.old_memory

    @property
    def new_value(self) -> str | None:
        """The platform's name for :attr:`new_memory`."""
        return self.new_memory


class BatchResult(_ResultList):
    """Per-record outcome of ``batch_add`` / ``batch_update`` / ``batch_delete``."""

    results: list[dict[str, Any]] = Field(default_factory=list)


class ScopeCount(_DictView):
    """One exact scope (user, agent, run) that holds active memories, and how many."""

    user_id: str | None = None
    agent_id: str | None = None
    run_id: str | None = None
    count: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None


class ScopeList(_ResultList):
    """``{"results": [ScopeCount]}`` from ``scopes()``, with per-kind totals."""

    results: list[ScopeCount] = Field(default_factory=list)

    def _totals(self, key: str) -> dict[str, int]:
        out: dict[str, int] = {}
        for scope in self.results:
            name = getattr(scope, key)
            if name is not None:
                out[name] = out.get(name, 0) + scope.count
        return dict(sorted(out.items()))

    def users(self) -> dict[str, int]:
        """Active memories per ``user_id``."""
        return self._totals("user_id")

    def agents(self) -> dict[str, int]:
        """Active memories per ``agent_id``."""
        return self._totals("agent_id")

    def runs(self) -> dict[str, int]:
        """Active memories per ``run_id``."""
        return self._totals("run_id")

    def entities(self, kinds: Sequence[EntityKind] = ("user", "agent", "run")) -> EntityList:
        """mem0's ``users()`` view: one entry per user, agent and run, with its totals."""
        results = []
        for kind in kinds:
            groups: dict[str, list[ScopeCount]] = {}
            for scope in self.results:
                name = getattr(scope, f"{kind}_id")
                if name is not None:
                    groups.setdefault(name, []).append(scope)
            for name, group in sorted(groups.items()):
                created = [s.created_at for s in group if s.created_at is not None]
                updated = [s.updated_at for s in group if s.updated_at is not None]
                entity = Entity(
                    id=name,
                    name=name,
                    type=kind,
                    total_memories=sum(s.count for s in group),
                    created_at=min(created, default=None),
                    updated_at=max(updated, default=None),
                )
                results.append(entity)
        return EntityList(results=results, count=len(results))


class Entity(_DictView):
    """A user, agent or run that holds memories (mem0's ``users()`` entry)."""

    id: str
    name: str
    type: EntityKind
    total_memories: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None
    owner: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class EntityList(_ResultList):
    """``{"count", "next", "previous", "results": [Entity]}`` from ``users()`` (one page)."""

    results: list[Entity] = Field(default_factory=list)
    count: int = 0
    next: str | None = None
    previous: str | None = None
