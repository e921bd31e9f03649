"""The storage seam: what the engine needs from a backend, in the engine's terms (no SQL).

A backend is the single source of truth for one store. The engine talks to it through two
kinds of transaction: a :class:`Reader` (one consistent snapshot) and a :class:`Writer` (all
or nothing; derived indexes follow only after commit). Reads that rank (:meth:`Reader.score`)
return the dense and keyword components for every row of a selection, so a database server
can score where the data is; the engine fuses, thresholds and limits.

Rows are addressed by a backend-chosen integer *key* (stable for the life of a memory) once
the engine has found them by their public uuid.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..types import HistoryEntry, MemoryItem, ScopeCount

__all__ = [
    "Backend",
    "NewRow",
    "Reader",
    "Scope",
    "Scored",
    "Selection",
    "Target",
    "Writer",
]

#: An exact scope: ``(user_id, agent_id, run_id)``, absent ids as ``None``.
Scope = tuple[str | None, str | None, str | None]

#: ``expires`` value meaning "leave the expiration as it is" in :meth:`Writer.set_fields`.
KEEP: Any = object()


@dataclass(slots=True)
class NewRow:
    """A memory about to be inserted, with its embedding and keyword terms."""

    id: str
    memory: str
    hash: str
    user_id: str | None
    agent_id: str | None
    run_id: str | None
    actor_id: str | None
    role: str | None
    metadata: str
    categories: str
    memory_type: str | None
    immutable: int
    timestamp: float
    recorded_at: float
    expires_at: float | None
    terms: bytes
    vector: np.ndarray


@dataclass(frozen=True, slots=True)
class Selection:
    """Which memories a read considers.

    ``scope`` holds the given scope ids; with ``exact`` the ids not given must be unset
    (the infer pipeline reads exactly its own scope). ``filters`` is the caller's mem0-style
    filter dict, compiled by the backend (which raises ``ValidationError`` on bad ones).
    Without ``include_expired`` only active, unexpired rows count, judged at ``now``;
    ``as_of`` selects the versions that were valid at that time instead.
    """

    scope: Mapping[str, str]
    now: float
    exact: bool = False
    filters: Mapping[str, Any] | None = None
    include_expired: bool = False
    as_of: float | None = None


@dataclass(slots=True)
class Scored:
    """Every row of a selection with its score components, in one order.

    ``versions[i]`` is 0 for a memory's current text, else the id of the old version that
    matched (``as_of`` reads); ``None`` means all current.
    """

    keys: np.ndarray
    dense: np.ndarray
    keyword: np.ndarray
    versions: list[int] | None = None


@dataclass(frozen=True, slots=True)
class ContextRows:
    """A selection's current rows in row-id (add) order, with what context ranking reads.

    ``prev_dot[i]`` is the dot product of row ``i``'s vector with row ``i - 1``'s (0 for the
    first row); ``blobs`` are the rows' keyword term blobs, so ranking can run its own BM25.
    """

    keys: np.ndarray
    dense: np.ndarray
    prev_dot: np.ndarray
    blobs: list[bytes]


@runtime_checkable
class ContextReader(Protocol):
    """Optional reader capability used by ``ranking="context"`` (see docs/search.md)."""

    def context_rows(self, selection: Selection, query: np.ndarray) -> ContextRows:
        """Every current row of ``selection`` in row-id order, scored against ``query``."""
        ...


@dataclass(frozen=True, slots=True)
class Target:
    """A memory as a writer sees it inside its transaction."""

    key: int
    id: str
    memory: str
    hash: str
    user_id: str | None
    agent_id: str | None
    run_id: str | None
    immutable: bool
    active: bool


@runtime_checkable
class Reader(Protocol):
    """One consistent snapshot of the store."""

    def score(self, selection: Selection, query: np.ndarray, terms: np.ndarray) -> Scored:
        """Dense similarity and keyword relevance of every row of ``selection``, exactly."""
        ...

    def items(self, keys: Sequence[int], versions: Sequence[int] | None) -> list[MemoryItem]:
        """The memories behind ``keys``, in that order (a version id swaps in its text)."""
        ...

    def item(self, memory_id: str) -> MemoryItem | None:
        """One memory by its public id."""
        ...

    def page(self, selection: Selection, limit: int, offset: int) -> tuple[list[MemoryItem], int]:
        """A page of the selection, newest first, and how many rows match in all."""
        ...

    def history(self, memory_id: str) -> list[HistoryEntry]:
        """A memory's events, oldest first (bare events remain after an erasure)."""
        ...

    def scopes(self, now: float) -> list[ScopeCount]:
        """Every exact scope holding active memories, with counts."""
        ...

    def messages(
        self, scope: Scope, limit: int, before: int | None = None
    ) -> list[tuple[str, str, str | None, float]]:
        """The newest ``limit`` window messages of an exact scope, oldest first (with
        ``before``: only those recorded before the window row with that id)."""
        ...

    def dump(self, embeddings: bool) -> Iterator[dict[str, Any]]:
        """Every memory with its versions and history, as export records."""
        ...

    def known_ids(self, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` exist."""
        ...


@runtime_checkable
class Writer(Protocol):
    """One write transaction: everything it does commits together or not at all."""

    def insert(self, rows: Sequence[NewRow]) -> list[int]: ...

    def target(self, memory_id: str, scope: Scope | None = None) -> Target | None:
        """A memory by id (only inside the exact ``scope`` when one is given)."""
        ...

    def targets(self, keys: Sequence[int]) -> list[Target]: ...

    def duplicate(self, scope: Scope, digest: str) -> Target | None:
        """An active memory of exactly ``scope`` with this text hash."""
        ...

    def replace_text(
        self,
        key: int,
        *,
        text: str,
        hash_: str,
        terms: bytes,
        vector: np.ndarray,
        now: float,
        valid_from: float,
        metadata: str | None = None,
        actor_id: str | None = None,
        role: str | None = None,
    ) -> str:
        """New text for a memory, same id; the old text becomes a version. Returns it."""
        ...

    def set_fields(
        self,
        key: int,
        now: float,
        *,
        metadata: str | None = None,
        categories: str | None = None,
        expires: Any = KEEP,
    ) -> None: ...

    def retire(
        self, key: int, *, now: float, valid_to: float, actor_id: str | None = None
    ) -> str: ...

    def record_feedback(
        self, key: int, memory_id: str, rating: str | None, reason: str | None, now: float
    ) -> None:
        """Append a ``FEEDBACK`` event to the memory's history."""
        ...

    def erase(self, keys: Sequence[int], now: float) -> int:
        """Erase memories completely (rows, versions, vectors, terms, history text)."""
        ...

    def scope_keys(self, scope: Mapping[str, str]) -> list[int]: ...

    def erase_window(self, scope: Mapping[str, str] | Scope) -> int:
        """Erase window messages: every scope matching the given ids, or one exact scope."""
        ...

    def append_messages(
        self,
        scope: Scope,
        messages: Sequence[tuple[str, str, str | None]],
        now: float,
        window: int,
    ) -> list[int]: ...

    def link_sources(self, keys: set[int], message_ids: Sequence[int]) -> None: ...

    def erase_sources(self, keys: Sequence[int]) -> int: ...

    def lease_holder(self, scope: str) -> tuple[str, int, str, float] | None:
        """``(owner, pid, host, expires_at)`` of a scope's lease."""
        ...

    def put_lease(self, scope: str, owner: str, pid: int, host: str, expires_at: float) -> None: ...

    def drop_lease(self, scope: str, owner: str) -> None: ...

    def reset(self) -> None:
        """Erase everything in the store."""
        ...

    def restore(
        self,
        records: Sequence[dict[str, Any]],
        rows: Sequence[NewRow],
        old_vectors: Sequence[np.ndarray],
    ) -> None:
        """Insert exported memories with their versions, history and timestamps."""
        ...

    @property
    def erased_on_disk(self) -> bool | None:
        """After commit: whether erased bytes have left the files (None: nothing erased)."""
        ...


@runtime_checkable
class Backend(Protocol):
    """A store: transactions, the embedding model binding, upkeep."""

    #: Where the store lives, for messages and ``repr`` (a path or a redacted URL).
    location: str

    def read(self) -> AbstractContextManager[Reader]: ...

    def write(self) -> AbstractContextManager[Writer]: ...

    def bind_model(self, model: str, dim: int) -> None:
        """Record (or check) the embedding model; cheap once bound to the same model."""
        ...

    def stats(self) -> dict[str, Any]: ...

    def verify(self) -> dict[str, Any]: ...

    def checkpoint(self) -> None: ...

    def close(self) -> None: ...


class AsyncReader(Protocol):
    """The reads ``AsyncMemory`` runs natively on a backend with an async driver."""

    async def score(self, selection: Selection, query: np.ndarray, terms: np.ndarray) -> Scored: ...

    async def items(
        self, keys: Sequence[int], versions: Sequence[int] | None
    ) -> list[MemoryItem]: ...

    async def item(self, memory_id: str) -> MemoryItem | None: ...

    async def page(
        self, selection: Selection, limit: int, offset: int
    ) -> tuple[list[MemoryItem], int]: ...

    async def history(self, memory_id: str) -> list[HistoryEntry]: ...


@runtime_checkable
class AsyncReads(Protocol):
    """Optional backend capability: read snapshots on an async connection pool.

    ``serves_async()`` is asked on the running loop before each read; when it is false (or
    the backend lacks this capability) ``AsyncMemory`` runs the sync read in a worker thread.
    """

    def serves_async(self) -> bool: ...

    def aread(self) -> AbstractAsyncContextManager[AsyncReader]: ...

    async def aclose(self) -> None: ...
