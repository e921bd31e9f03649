"""``MemoryBinding``: a mnemoweave store bound to one scope, the object every adapter wraps.

Adapters never re-implement scoping: they hold a binding and call ``recall`` / ``remember``
(or their async twins). The binding accepts a ``Memory`` or an ``AsyncMemory``, or their
remote twins ``mnemoweave.remote.MemoryClient`` / ``AsyncMemoryClient``, and offers both call
styles over any of them.
"""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import Mapping, Sequence
from typing import Any

from mnemoweave import AsyncMemory, Memory, MemoryItem, NotFoundError, ValidationError
from mnemoweave.remote import AsyncMemoryClient, MemoryClient
from mnemoweave.types import AddResult

from ._messages import to_messages
from ._policy import DEFAULT_RAW_POLICY, RawPolicy

#: What a binding (and so every adapter) can sit on: a local store or a memory server.
SYNC_STORES = (Memory, MemoryClient)
ASYNC_STORES = (AsyncMemory, AsyncMemoryClient)
SyncStore = Memory | MemoryClient
AsyncStore = AsyncMemory | AsyncMemoryClient


def async_twin(memory: SyncStore) -> AsyncStore:
    """The async front end over the same store (or server) as ``memory``."""
    if isinstance(memory, MemoryClient):
        return AsyncMemoryClient.wrap(memory)
    return AsyncMemory.wrap(memory)


_SCOPE_KEYS = ("user_id", "agent_id", "run_id")


class MemoryBinding:
    """A ``Memory``/``AsyncMemory`` plus a scope (user/agent/run ids) and default options.

    ``metadata`` is attached to everything remembered through the binding; ``infer`` is
    passed to ``add`` (``None`` = mnemoweave's default: extract facts when an LLM is
    configured); ``recall_limit`` and ``threshold`` shape recall; ``raw_policy`` picks what
    :meth:`remember_turn` stores verbatim when no LLM extracts facts (``None``: the kit's
    default :class:`~mnemoweave_adapters.RawPolicy`).
    """

    def __init__(
        self,
        memory: SyncStore | AsyncStore,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        infer: bool | None = None,
        recall_limit: int = 5,
        threshold: float | None = None,
        raw_policy: RawPolicy | None = None,
    ) -> None:
        if raw_policy is not None and not isinstance(raw_policy, RawPolicy):
            raise ValidationError(
                f"raw_policy must be a RawPolicy, got {type(raw_policy).__name__}"
            )
        if isinstance(memory, ASYNC_STORES):
            self._async: AsyncStore | None = memory
            self._sync: SyncStore = memory.sync
        elif isinstance(memory, SYNC_STORES):
            self._async = None
            self._sync = memory
        else:
            raise ValidationError(
                "MemoryBinding needs a mnemoweave Memory or AsyncMemory (or a remote "
                f"MemoryClient / AsyncMemoryClient), got {type(memory).__name__}"
            )
        scope = {k: v for k, v in zip(_SCOPE_KEYS, (user_id, agent_id, run_id)) if v is not None}
        for key, value in scope.items():
            if not isinstance(value, str) or not value.strip():
                raise ValidationError(f"{key} must be a non-empty string, got {value!r}")
        if not scope:
            raise ValidationError("MemoryBinding needs at least one of user_id, agent_id, run_id")
        if isinstance(recall_limit, bool) or not isinstance(recall_limit, int) or recall_limit < 1:
            raise ValidationError(f"recall_limit must be a positive int, got {recall_limit!r}")
        self.scope: dict[str, str] = scope
        self.metadata: dict[str, Any] = dict(metadata or {})
        self.infer = infer
        self.recall_limit = recall_limit
        self.threshold = threshold
        self.raw_policy: RawPolicy = raw_policy or DEFAULT_RAW_POLICY

    # -- identity ------------------------------------------------------------------------
    @property
    def memory(self) -> SyncStore:
        """The synchronous ``Memory`` (or ``MemoryClient``) underneath."""
        return self._sync

    @property
    def async_memory(self) -> AsyncStore:
        """An ``AsyncMemory`` (or ``AsyncMemoryClient``) over the same store, made on first use."""
        if self._async is None:
            self._async = async_twin(self._sync)
        return self._async

    @property
    def user_id(self) -> str | None:
        return self.scope.get("user_id")

    @property
    def agent_id(self) -> str | None:
        return self.scope.get("agent_id")

    @property
    def run_id(self) -> str | None:
        return self.scope.get("run_id")

    def with_scope(self, **ids: str | None) -> MemoryBinding:
        """A binding on the same store with some scope ids replaced (``None`` removes one)."""
        unknown = set(ids) - set(_SCOPE_KEYS)
        if unknown:
            raise ValidationError(f"with_scope takes only {_SCOPE_KEYS}, got {sorted(unknown)}")
        scope: dict[str, str | None] = {**self.scope, **ids}
        return MemoryBinding(
            self._async or self._sync,
            user_id=scope.get("user_id"),
            agent_id=scope.get("agent_id"),
            run_id=scope.get("run_id"),
            metadata=self.metadata,
            infer=self.infer,
            recall_limit=self.recall_limit,
            threshold=self.threshold,
            raw_policy=self.raw_policy,
        )

    def __repr__(self) -> str:
        ids = ", ".join(f"{k}={v!r}" for k, v in self.scope.items())
        return f"MemoryBinding({ids}, path={str(self._sync.path)!r})"

    # -- recall ----------------------------------------------------------------------------
    def _search_kwargs(
        self, limit: int | None, filters: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        return {
            **self.scope,
            "limit": limit or self.recall_limit,
            "threshold": self.threshold,
            "filters": dict(filters) if filters else None,
        }

    def recall(
        self, text: str, *, limit: int | None = None, filters: Mapping[str, Any] | None = None
    ) -> builtins.list[MemoryItem]:
        """The scope's memories most relevant to ``text``, best first (empty text: none)."""
        if not isinstance(text, str) or not text.strip():
            return []
        return self._sync.search(text, **self._search_kwargs(limit, filters)).results

    async def arecall(
        self, text: str, *, limit: int | None = None, filters: Mapping[str, Any] | None = None
    ) -> builtins.list[MemoryItem]:
        """Async twin of :meth:`recall`."""
        if not isinstance(text, str) or not text.strip():
            return []
        found = await self.async_memory.search(text, **self._search_kwargs(limit, filters))
        return found.results

    # -- remember --------------------------------------------------------------------------
    @property
    def extracts(self) -> bool:
        """Whether ``remember`` extracts facts with an LLM (else it stores messages verbatim)."""
        return self.infer if self.infer is not None else self._sync.llm is not None

    def _add_kwargs(
        self,
        metadata: Mapping[str, Any] | None,
        background: bool,
        categories: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        return {
            **self.scope,
            "metadata": {**self.metadata, **(metadata or {})} or None,
            "infer": self.infer,
            "background": background,
            "categories": categories,
        }

    def remember(
        self,
        messages: Any,
        *,
        background: bool = False,
        metadata: Mapping[str, Any] | None = None,
        categories: Sequence[str] | None = None,
    ) -> Any:
        """Add ``messages`` (string, dict, or list of dicts) to the scope's memory.

        Returns the ``AddResult`` (or an ``AddHandle`` with ``background=True``). Empty input
        returns ``None`` rather than raising, since adapters forward whatever a turn held, and
        system-only input is only recorded in the message window.
        """
        if _is_empty(messages):
            return None
        if _only_system(messages):
            self.append_messages(messages if isinstance(messages, list) else [messages])
            return None
        return self._sync.add(messages, **self._add_kwargs(metadata, background, categories))

    async def aremember(
        self,
        messages: Any,
        *,
        background: bool = False,
        metadata: Mapping[str, Any] | None = None,
        categories: Sequence[str] | None = None,
    ) -> Any:
        """Async twin of :meth:`remember`.

        ``background=True`` hands the add to the store's worker threads (as the sync path
        does), so it survives the end of the event loop and ``flush()`` waits for it.
        """
        if _is_empty(messages):
            return None
        if background or _only_system(messages):
            return await asyncio.to_thread(
                self.remember,
                messages,
                background=background,
                metadata=metadata,
                categories=categories,
            )
        kwargs = self._add_kwargs(metadata, False, categories)
        return await self.async_memory.add(messages, **kwargs)

    # -- remembering captured turns under the raw policy --------------------------------
    def _turn_runs(self, messages: Any) -> builtins.list[tuple[bool, builtins.list[Any]]]:
        items = [messages] if isinstance(messages, str | Mapping) else builtins.list(messages)
        records = to_messages(items)
        if not records:
            return []
        if self.extracts:
            return [(True, records)]  # the LLM decides what is worth remembering
        return self.raw_policy.runs(records)

    def remember_turn(
        self,
        messages: Any,
        *,
        background: bool = False,
        metadata: Mapping[str, Any] | None = None,
        categories: Sequence[str] | None = None,
    ) -> builtins.list[Any]:
        """Remember a turn an adapter captured on its own (not an explicit save).

        With fact extraction the whole turn goes to ``add``. Without it, the binding's
        :class:`~mnemoweave_adapters.RawPolicy` picks the messages stored verbatim; the others
        only reach the message window, in conversation order. Returns the results (or
        handles) of the adds it made, possibly none.
        """
        results = []
        for stored, run in self._turn_runs(messages):
            if stored:
                out = self.remember(
                    run, background=background, metadata=metadata, categories=categories
                )
                if out is not None:
                    results.append(out)
            else:
                self.append_messages(run)
        return results

    async def aremember_turn(
        self,
        messages: Any,
        *,
        background: bool = False,
        metadata: Mapping[str, Any] | None = None,
        categories: Sequence[str] | None = None,
    ) -> builtins.list[Any]:
        """Async twin of :meth:`remember_turn`."""
        results = []
        for stored, run in self._turn_runs(messages):
            if stored:
                out = await self.aremember(
                    run, background=background, metadata=metadata, categories=categories
                )
                if out is not None:
                    results.append(out)
            else:
                await asyncio.to_thread(self.append_messages, run)
        return results

    # -- listing and forgetting ------------------------------------------------------------
    def list(
        self, *, limit: int = 100, filters: Mapping[str, Any] | None = None
    ) -> list[MemoryItem]:
        """The scope's memories, newest first."""
        listed = self._sync.get_all(
            user_id=self.user_id,
            agent_id=self.agent_id,
            run_id=self.run_id,
            limit=limit,
            filters=filters,
        )
        return listed.results

    def owns(self, memory_id: str) -> bool:
        """Whether ``memory_id`` exists and belongs to this binding's scope."""
        try:
            item = self._sync.get(memory_id)
        except NotFoundError:
            return False
        return all(getattr(item, key) == value for key, value in self.scope.items())

    def forget(self, memory_id: str) -> None:
        """Erase one memory of this scope; ids of other scopes are reported as not found."""
        if not self.owns(memory_id):
            raise NotFoundError(f"no memory {memory_id!r} in this scope", memory_id=memory_id)
        self._sync.delete(memory_id)

    async def aforget(self, memory_id: str) -> None:
        await asyncio.to_thread(self.forget, memory_id)

    def forget_all(self) -> int:
        """Erase every memory of this scope (and its message windows); returns the count."""
        return int(self._sync.delete_all(**self.scope)["deleted"])

    async def aforget_all(self) -> int:
        return await asyncio.to_thread(self.forget_all)

    # -- the raw message window (short-term history) ---------------------------------------
    def messages(self, limit: int | None = None) -> builtins.list[dict[str, Any]]:
        """Recent raw messages of exactly this scope, oldest first."""
        return self._sync.get_messages(**self.scope, limit=limit)

    def append_messages(self, messages: Sequence[Mapping[str, Any]]) -> None:
        """Record messages in the window without creating memories."""
        if not _is_empty(messages):
            self._sync.append_messages(list(messages), **self.scope)

    def clear_messages(self) -> int:
        """Drop this scope's message window (memories stay)."""
        return self._sync.clear_messages(**self.scope)

    def flush(self) -> None:
        """Wait for background remembers started through this store."""
        self._sync.flush()


def _is_empty(messages: Any) -> bool:
    if messages is None:
        return True
    if isinstance(messages, str):
        return not messages.strip()
    if isinstance(messages, Mapping):
        content = messages.get("content")
        if isinstance(content, str):
            return not content.strip()
        return not content
    if isinstance(messages, Sequence):
        return all(_is_empty(m) for m in messages)
    return False


def _only_system(messages: Any) -> bool:
    """True for a system message (or a list of only those): nothing to remember, only to log."""
    items = [messages] if isinstance(messages, Mapping) else messages
    if isinstance(items, str) or not isinstance(items, Sequence):
        return False
    roles = [m.get("role") for m in items if isinstance(m, Mapping) and not _is_empty(m)]
    return bool(roles) and len(roles) == len(items) and all(r == "system" for r in roles)


def result_ids(result: AddResult | Any) -> list[str]:
    """Ids touched by an add result (empty for ``None`` or a background handle)."""
    if isinstance(result, AddResult):
        return [event.id for event in result.results]
    return []
