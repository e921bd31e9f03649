"""Typed results that also read like mem0's dicts (``r["results"][0]["memory"]``).

Every model supports ``item["key"]``, ``item.get("key")``, ``"key" in item``, ``keys()`` and
``to_dict()``; fields that are ``None`` are absent when read as a dict, as in mem0's payloads.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field

Event = Literal["ADD", "UPDATE", "DELETE", "NONE"]


class _DictView(BaseModel):
    """Mapping-style read access on top of a pydantic model."""

    model_config = ConfigDict(frozen=False, extra="forbid")

    def _present(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}

    def __getitem__(self, key: str) -> Any:
        value = self.__dict__.get(key) if isinstance(key, str) else None
        if value is None:
            raise KeyError(key)
        return value

    def get(self, key: str, default: Any = None) -> Any:
        value = self.__dict__.get(key) if isinstance(key, str) else None
        return default if value is None else value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.__dict__.get(key) is not None

    def keys(self) -> list[str]:
        return list(self._present())

    def values(self) -> list[Any]:
        return list(self._present().values())

    def items(self) -> list[tuple[str, Any]]:
        return list(self._present().items())

    def __len__(self) -> int:
        return len(self._present())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (datetimes as ISO strings), without the unset fields."""
        return self.model_dump(mode="json", exclude_none=True)

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
    """``{"results": [MemoryItem]}`` from ``get_all``; ``total`` counts every match."""

    results: list[MemoryItem] = Field(default_factory=list)
    total: int = 0


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


class AddResult(_ResultList):
    """``{"results": [AddEvent], "relations": [], "usage": Usage}`` from ``add``."""

    results: list[AddEvent] = Field(default_factory=list)
    relations: list[Any] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)

    def __contains__(self, key: object) -> bool:
        # mem0 always returns "relations", even when empty.
        return key == "relations" or super().__contains__(key)

    def __getitem__(self, key: str) -> Any:
        if key == "relations":
            return self.relations
        return super().__getitem__(key)


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
