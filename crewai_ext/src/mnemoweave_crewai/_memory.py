"""``MnemoweaveCrewMemory``: CrewAI's unified ``Memory`` with mnemoweave doing the work."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, cast

from crewai.events.event_bus import crewai_event_bus
from crewai.events.types.memory_events import (
    MemoryQueryCompletedEvent,
    MemoryQueryFailedEvent,
    MemoryQueryStartedEvent,
    MemorySaveCompletedEvent,
    MemorySaveFailedEvent,
    MemorySaveStartedEvent,
)
from crewai.memory.types import MemoryMatch, MemoryRecord
from crewai.memory.unified_memory import Memory as CrewMemory
from crewai.memory.utils import join_scope_paths
from pydantic import Field

from mnemoweave import AddResult, ValidationError
from mnemoweave_adapters import (
    MemoryBinding,
    RawPolicy,
    StoreLike,
    check_token_budget,
    run_async,
    task_result,
)

from . import _scopes as sc
from ._matches import frame
from ._records import to_record
from ._storage import MnemoweaveStorage

SOURCE_TYPE = "mnemoweave"


class MnemoweaveCrewMemory(CrewMemory):
    """A CrewAI ``Memory`` that recalls, remembers and forgets through mnemoweave.

    ``recall`` is mnemoweave's scoped hybrid search (no CrewAI LLM query analysis), rendered
    as the kit's quoted block; ``remember`` / ``remember_many`` are mnemoweave ``add`` calls, so
    mnemoweave's LLM pipeline (when the mnemoweave store has an LLM) extracts and reconciles facts
    and keeps their history. CrewAI never builds LanceDB, an embedder or an LLM for it.
    Use it as ``Crew(memory=...)`` or ``Agent(memory=...)``.

    ``store`` is a mnemoweave ``Memory``/``AsyncMemory``/``MemoryBinding``, or a directory
    (``None``: ``$MNEMOWEAVE_HOME``) opened with mnemoweave's defaults and closed by ``close()``;
    :func:`mnemoweave_memory` also configures mnemoweave's embedder and LLM. Other keyword
    arguments are CrewAI ``Memory`` fields (``root_scope``, ``read_only``...).
    """

    token_budget: int | None = Field(
        default=1000,
        description="Token budget of the recalled memory block (None: no cap).",
    )

    def __init__(
        self,
        store: StoreLike = None,
        /,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        infer: bool | None = None,
        raw_policy: RawPolicy | None = None,
        storage: MnemoweaveStorage | None = None,
        **fields: Any,
    ) -> None:
        if "embedder" in fields:
            raise ValidationError(
                "mnemoweave embeds with its own model: configure embedder= on the mnemoweave Memory"
            )
        check_token_budget(fields.get("token_budget"))
        if storage is not None:
            given = (user_id, agent_id, run_id, infer, raw_policy)
            if store is not None or any(v is not None for v in given):
                raise ValidationError("pass either storage=... or a store with scope ids")
            if not isinstance(storage, MnemoweaveStorage):
                raise ValidationError(
                    f"storage must be a MnemoweaveStorage, got {type(storage).__name__}"
                )
            super().__init__(storage=storage, embedder=storage.embedder, **fields)
            return
        opened = MnemoweaveStorage(
            store,
            user_id=user_id,
            agent_id=agent_id,
            run_id=run_id,
            infer=infer,
            raw_policy=raw_policy,
        )
        try:
            super().__init__(storage=opened, embedder=opened.embedder, **fields)
        except BaseException:
            opened.close()  # only closes a store it opened itself
            raise

    # -- identity ------------------------------------------------------------------------
    @property
    def mnemoweave_storage(self) -> MnemoweaveStorage:
        """The CrewAI storage backend on the mnemoweave store."""
        assert isinstance(self.storage, MnemoweaveStorage)
        return self.storage

    @property
    def binding(self) -> MemoryBinding:
        """The mnemoweave store and scope this memory reads and writes."""
        return self.mnemoweave_storage.binding

    def _path(self, scope: str | None, root: str | None) -> str | None:
        """CrewAI's rule: an inner scope is nested under the root scope, if there is one."""
        return join_scope_paths(root, scope) if root else scope

    def _write_path(self, scope: str | None, root_scope: str | None) -> str:
        """Where a remember lands: a per-call ``root_scope`` overrides the instance's."""
        return sc.normalize(
            self._path(scope, self.root_scope if root_scope is None else root_scope)
        )

    # -- recall ----------------------------------------------------------------------------
    def recall(
        self,
        query: str,
        scope: str | None = None,
        categories: list[str] | None = None,
        limit: int = 10,
        depth: Literal["shallow", "deep"] = "deep",
        source: str | None = None,
        include_private: bool = False,
    ) -> list[MemoryMatch]:
        """mnemoweave's hybrid search inside the binding's scope (``depth`` is not used).

        Results are :class:`MnemoweaveMatch` objects whose ``format()`` lines join into the
        kit's quoted block; matches beyond ``token_budget`` are left out.
        """
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValidationError(f"limit must be a positive int, got {limit!r}")
        filters = sc.all_of(
            sc.under(self._path(scope, self.root_scope)),
            sc.in_categories(categories),
            sc.visible_to(source, include_private),
        )
        self.drain_writes()
        with self._query_events(query, limit) as out:
            items = self.binding.recall(query, limit=limit, filters=filters)
            out.extend(frame(items, token_budget=self.token_budget))
        if out and not self.read_only:  # CrewAI's rule: a read-only memory changes nothing
            self.mnemoweave_storage.touch_records([m.record.id for m in out])
        return list(out)

    @contextmanager
    def _query_events(self, query: str, limit: int) -> Iterator[list[MemoryMatch]]:
        """CrewAI's query events around a recall, as its own ``Memory`` emits them."""
        emit = crewai_event_bus.emit
        emit(self, MemoryQueryStartedEvent(query=query, limit=limit, source_type=SOURCE_TYPE))
        start = time.perf_counter()
        results: list[MemoryMatch] = []
        try:
            yield results
        except Exception as exc:
            failed = MemoryQueryFailedEvent(
                query=query, limit=limit, error=str(exc), source_type=SOURCE_TYPE
            )
            emit(self, failed)
            raise
        done = MemoryQueryCompletedEvent(
            query=query,
            results=results,
            limit=limit,
            query_time_ms=(time.perf_counter() - start) * 1000,
            source_type=SOURCE_TYPE,
        )
        emit(self, done)

    # -- remember --------------------------------------------------------------------------
    def extract_memories(self, content: str) -> list[str]:
        """What CrewAI should remember of ``content`` (a task's or a run's ``raw`` text).

        With an LLM on the mnemoweave store the raw content is one item: ``remember_many``
        runs mnemoweave's pipeline on it (one call that extracts and reconciles). Without one,
        the kit's raw-storage policy applies: a task result becomes its final answer only
        (no ``Task:``/``Thought:``/``Action:`` scaffolding), and nothing is kept when that
        answer is small talk, too short or a bare question. CrewAI's own extraction call, and
        its OpenAI default, are skipped either way.
        """
        if not isinstance(content, str):
            raise ValidationError(f"content must be a string, got {type(content).__name__}")
        if not content.strip():
            return []
        if self.binding.extracts:
            return [content]
        policy = self.binding.raw_policy
        text = task_result(content) if policy.reduce_agent_output else content
        return [text] if policy.why_text_skipped(text) is None else []

    def _add(
        self,
        contents: Sequence[str],
        *,
        path: str,
        categories: list[str] | None,
        metadata: dict[str, Any] | None,
        importance: float | None,
        source: str | None,
        private: bool,
    ) -> Callable[[], AddResult | None]:
        """Validate and prepare one mnemoweave add; returns the function that runs it."""
        if isinstance(contents, str) or not all(isinstance(c, str) for c in contents):
            raise ValidationError("contents must be a list of strings")
        binding = self.binding
        scope: dict[str, Any] = dict(sc.binding_for(binding, path).scope)
        meta = sc.metadata_for(
            path,
            metadata={**binding.metadata, **(metadata or {})},
            importance=self.default_importance if importance is None else importance,
            source=source,
            private=private,
        )
        texts = [c for c in contents if c.strip()]

        def run() -> AddResult | None:
            if not texts:
                return None
            added = binding.memory.add(
                texts, **scope, metadata=meta, categories=categories, infer=binding.infer
            )
            return cast(AddResult, added)  # not background, so never an AddHandle

        return run

    def remember(
        self,
        content: str,
        scope: str | None = None,
        categories: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        importance: float | None = None,
        source: str | None = None,
        private: bool = False,
        agent_role: str | None = None,
        root_scope: str | None = None,
    ) -> MemoryRecord | None:
        """Remember ``content`` now through mnemoweave; returns the memory it produced.

        With mnemoweave's LLM pipeline one text can yield several facts (the first is
        returned) or none (``None``, e.g. nothing worth remembering).
        """
        if self.read_only:
            return None
        run = self._add(
            [content],
            path=self._write_path(scope, root_scope),
            categories=categories,
            metadata=metadata,
            importance=importance,
            source=source,
            private=private,
        )
        with self._save_events(content, metadata, agent_role):
            result = run()
        return self._first_record(result)

    def _first_record(self, result: AddResult | None) -> MemoryRecord | None:
        """The record of the first memory an add created or changed (else one it confirmed)."""
        if result is None:
            return None
        events = sorted(result.results, key=lambda e: e.event not in ("ADD", "UPDATE"))
        for event in events:
            if event.event != "DELETE":
                return to_record(self.binding.memory.get(event.id))
        return None

    def remember_many(
        self,
        contents: list[str],
        scope: str | None = None,
        categories: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        importance: float | None = None,
        source: str | None = None,
        private: bool = False,
        agent_role: str | None = None,
        root_scope: str | None = None,
    ) -> list[MemoryRecord]:
        """Remember ``contents`` in the background (one mnemoweave add); returns ``[]`` at once.

        Like CrewAI's own memory, ``recall`` and ``drain_writes`` wait for pending saves.
        """
        if not contents or self.read_only:
            return []
        run = self._add(
            contents,
            path=self._write_path(scope, root_scope),
            categories=categories,
            metadata=metadata,
            importance=importance,
            source=source,
            private=private,
        )
        label = f"{len(contents)} memories (background)"

        def save() -> list[MemoryRecord]:
            with self._save_events(label, metadata, agent_role, quiet_shutdown=True):
                run()
            return []

        # CrewAI's own save pool: drain_writes(), recall() and the end of kickoff wait for it.
        self._submit_save(save)
        return []

    @contextmanager
    def _save_events(
        self,
        value: str,
        metadata: dict[str, Any] | None,
        agent_role: str | None,
        *,
        quiet_shutdown: bool = False,
    ) -> Iterator[None]:
        """CrewAI's save events around a write, as its own ``Memory`` emits them."""

        def emit(event: Any) -> None:
            try:
                crewai_event_bus.emit(self, event)
            except RuntimeError:
                if not quiet_shutdown:  # the bus is gone when a background save outlives it
                    raise

        emit(MemorySaveStartedEvent(value=value, metadata=metadata, source_type=SOURCE_TYPE))
        start = time.perf_counter()
        try:
            yield
        except Exception as exc:
            emit(
                MemorySaveFailedEvent(
                    value=value, metadata=metadata, error=str(exc), source_type=SOURCE_TYPE
                )
            )
            raise
        emit(
            MemorySaveCompletedEvent(
                value=value,
                agent_role=agent_role,
                save_time_ms=(time.perf_counter() - start) * 1000,
                metadata=metadata or {},
                source_type=SOURCE_TYPE,
            )
        )

    # -- async twins (mnemoweave's sync calls in a worker thread) ----------------------------
    async def arecall(
        self,
        query: str,
        scope: str | None = None,
        categories: list[str] | None = None,
        limit: int = 10,
        depth: Literal["shallow", "deep"] = "deep",
        source: str | None = None,
        include_private: bool = False,
    ) -> list[MemoryMatch]:
        return await run_async(
            self.recall,
            query,
            scope=scope,
            categories=categories,
            limit=limit,
            depth=depth,
            source=source,
            include_private=include_private,
        )

    async def aremember(
        self,
        content: str,
        scope: str | None = None,
        categories: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        importance: float | None = None,
        source: str | None = None,
        private: bool = False,
    ) -> MemoryRecord | None:
        return await run_async(
            self.remember,
            content,
            scope=scope,
            categories=categories,
            metadata=metadata,
            importance=importance,
            source=source,
            private=private,
        )

    async def aremember_many(
        self,
        contents: list[str],
        scope: str | None = None,
        categories: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        importance: float | None = None,
        source: str | None = None,
        private: bool = False,
        agent_role: str | None = None,
    ) -> list[MemoryRecord]:
        return await run_async(
            self.remember_many,
            contents,
            scope=scope,
            categories=categories,
            metadata=metadata,
            importance=importance,
            source=source,
            private=private,
            agent_role=agent_role,
        )

    async def aextract_memories(self, content: str) -> list[str]:
        return self.extract_memories(content)


def mnemoweave_memory(
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
    run_id: str | None = None,
    path: str | Path | None = None,
    embedder: Any = None,
    llm: Any = None,
    **fields: Any,
) -> MnemoweaveCrewMemory:
    """A ready ``MnemoweaveCrewMemory`` on a mnemoweave store it opens (and closes on ``close()``).

    ``path`` defaults to ``$MNEMOWEAVE_HOME`` (else ``~/.mnemoweave``); ``embedder`` and ``llm``
    configure mnemoweave (``llm`` turns on fact extraction); other keyword arguments are
    ``MnemoweaveCrewMemory`` / CrewAI ``Memory`` fields such as ``root_scope``.
    """
    storage = MnemoweaveStorage(
        path, user_id=user_id, agent_id=agent_id, run_id=run_id, embedder=embedder, llm=llm
    )
    try:
        return MnemoweaveCrewMemory(storage=storage, **fields)
    except BaseException:
        storage.close()
        raise
