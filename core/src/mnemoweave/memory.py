"""``Memory``: the synchronous public API (mem0-compatible names).

A facade: it validates arguments, accepts mem0's spellings, and shapes results; the engine
(``_adding``, ``_searching``, ``_changing``, ``_pipeline``) does the work on a backend.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Unpack, overload

from . import _adding, _reading, _searching
from . import _changing as changing
from . import _validate as check
from . import events as _events
from ._adding import AddOptions, AddRequest
from ._engine import Engine
from ._memory_batch import BatchMethods
from ._time import now as _now
from ._window import AddHandle, MessageWindow
from .config import MemoryConfig, build_config, coerce_config
from .embed import Embedder
from .types import (
    AddResult,
    EntityList,
    HistoryEntry,
    MemoryItem,
    MemoryList,
    ScopeList,
    SearchResult,
)

__all__ = ["AddHandle", "AddOptions", "AddRequest", "Memory"]

_KEEP: Any = object()  # "argument not given", where None has a meaning of its own

_PENDING_MESSAGE = (
    "Memory deleted; another process's open read transaction still sees its old bytes, which "
    "mnemoweave overwrites on disk as soon as that reader ends"
)


class Memory(BatchMethods, MessageWindow):
    """Long-term memory for agents.

    ``Memory()`` works offline with no arguments: data under ``$MNEMOWEAVE_HOME`` (default
    ``~/.mnemoweave``), the local all-MiniLM-L6-v2 embedder, and no LLM (messages are stored
    verbatim until an ``llm`` is configured). ``backend=`` picks where memories live
    (``"sqlite"``, the default, under ``path``; or a ``Backend`` object).
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        embedder: str | Mapping[str, Any] | Embedder | None = None,
        llm: Any = None,
        config: MemoryConfig | Mapping[str, Any] | None = None,
        on_event: _events.EventHook | None = None,
        backend: Any = None,
        **options: Any,
    ) -> None:
        hook = _events.check_hook(on_event)
        values: dict[str, Any] = {}
        if config is not None:
            base = coerce_config(config)
            values = {k: getattr(base, k) for k in base.model_fields_set}  # objects kept as-is
        given = {"embedder": embedder, "llm": llm, "backend": backend}
        values.update({k: v for k, v in given.items() if v is not None})
        if path is not None:
            values["path"] = check.data_path(path)
        values.update(options)
        self.config = build_config(**values)
        self._engine = Engine(self.config, hook)

    @classmethod
    def from_config(cls, config: Any = None, *, config_dict: Any = None) -> Memory:
        """Build from a mem0-style config (a dict or ``mnemoweave.configs.MemoryConfig``)."""
        return cls(config=coerce_config(config if config is not None else config_dict or {}))

    # -- properties ----------------------------------------------------------------------
    @property
    def path(self) -> Path:
        """The data directory this memory lives in (the embedded backend's folder)."""
        directory = getattr(self._engine.backend, "directory", None)
        return Path(directory) if directory is not None else self.config.data_dir()

    @property
    def backend(self) -> Any:
        """The storage backend (``mnemoweave.backends.Backend``)."""
        return self._engine.backend

    @property
    def embedder(self) -> Embedder:
        return self._engine.embedder

    @property
    def llm(self) -> Any:
        """The LLM client, or ``None`` when no LLM is configured."""
        return self._engine.llm

    # -- add -------------------------------------------------------------------------------
    # Overloads: background=True gives the handle, the default an AddResult.
    @overload
    def add(
        self,
        messages: Any,
        *,
        background: Literal[False] = ...,
        window: bool = ...,
        **options: Unpack[AddOptions],
    ) -> AddResult: ...
    @overload
    def add(
        self,
        messages: Any,
        *,
        background: Literal[True],
        window: bool = ...,
        **options: Unpack[AddOptions],
    ) -> AddHandle: ...
    @overload
    def add(
        self,
        messages: Any,
        *,
        background: bool = ...,
        window: bool = ...,
        **options: Unpack[AddOptions],
    ) -> AddResult | AddHandle: ...
    def add(
        self,
        messages: Any,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        infer: bool | None = None,
        timestamp: Any = None,
        expiration_date: Any = None,
        immutable: bool = False,
        memory_type: str | None = None,
        prompt: str | None = None,
        categories: Sequence[str] | None = None,
        includes: str | None = None,
        excludes: str | None = None,
        version: str | None = None,
        output_format: str | None = None,
        background: bool = False,
        window: bool = True,
    ) -> AddResult | AddHandle:
        """Remember ``messages`` for a scope (``user_id`` / ``agent_id`` / ``run_id``).

        With an LLM (``infer=True``, the default when one is configured) one LLM call turns
        the messages into facts and reconciles them with what the scope already knows;
        without one, each non-system message is stored verbatim. ``background=True`` returns
        an :class:`AddHandle` at once. ``window=False`` skips recording the messages in the
        scope's message window (for callers that keep that history themselves).
        ``includes`` / ``excludes`` (mem0's) tell this add's extraction what to remember only,
        or never (they need an LLM); ``version`` / ``output_format`` are accepted and ignored.
        """
        options = dict(locals())
        for name in ("self", "messages", "background", "window"):
            options.pop(name)
        req = self._plan(messages, options, window)
        if check.flag(background, "background"):
            return self._submit(req)
        return _adding.run_add(self._engine, req)

    def _plan(self, messages: Any, options: Mapping[str, Any], window: Any) -> AddRequest:
        req = _adding.plan_add(self._engine, messages, options)
        req.window_done = not check.flag(window, "window")
        return req

    def _submit(self, req: AddRequest) -> AddHandle:
        # The raw messages reach the window now, so chat history never lags a background add.
        _adding.record_window(self._engine, req)
        return AddHandle(self._engine.submit(lambda: _adding.run_add(self._engine, req), req.scope))

    def flush(self, timeout: float | None = None) -> None:
        """Wait until every background add has finished (their errors stay on their handles)."""
        self._engine.flush(check.timeout(timeout))

    # -- search and reads --------------------------------------------------------------------
    def search(
        self,
        query: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        limit: int = 10,
        filters: Mapping[str, Any] | None = None,
        threshold: float | None = None,
        explain: bool = False,
        include_expired: bool = False,
        as_of: Any = None,
        keyword_weight: float | None = None,
        top_k: int | None = None,
        show_expired: bool | None = None,
        rerank: bool = False,
        version: str | None = None,
        output_format: str | None = None,
    ) -> SearchResult:
        """Find the scope's memories most relevant to ``query`` (dense + keyword, fused).

        Only rows of the given scope (and ``filters``) are scored, exactly. ``as_of`` searches
        the facts that were valid at that time, including texts later updated or retired.
        ``top_k`` and ``show_expired`` are mem0 v2's names for ``limit`` and ``include_expired``.
        ``rerank=True`` has the configured ``reranker`` reorder the best ``rerank_top_k``
        first-stage results; ``score`` is then the reranker's score.
        """
        args = _reading.search_args(
            self.config,
            query,
            user_id=user_id,
            agent_id=agent_id,
            run_id=run_id,
            limit=limit,
            filters=filters,
            threshold=threshold,
            explain=explain,
            include_expired=include_expired,
            as_of=as_of,
            keyword_weight=keyword_weight,
            top_k=top_k,
            show_expired=show_expired,
            rerank=rerank,
            version=version,
            output_format=output_format,
        )
        self._engine.await_writes(args.selection.scope)
        results = _searching.search(self._engine, args.query, args.selection, **args.options())
        return SearchResult._trusted({"results": results})

    def get(self, memory_id: str) -> MemoryItem:
        """One memory by id; raises :class:`NotFoundError` if it does not exist."""
        memory_id = check.memory_id(memory_id)
        with self._engine.backend.read() as reader:
            found = reader.item(memory_id)
        return _reading.found_item(found, memory_id)

    def get_all(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        filters: Mapping[str, Any] | None = None,
        limit: int = 100,
        offset: int = 0,
        include_expired: bool = False,
        top_k: int | None = None,
        show_expired: bool | None = None,
        page: int | None = None,
        page_size: int | None = None,
        version: str | None = None,
        output_format: str | None = None,
    ) -> MemoryList:
        """The scope's memories, newest first, with ``total`` counting all matches.

        ``page`` (from 1) and ``page_size`` (default 100) are mem0's paging, instead of
        ``limit`` / ``offset``; the result then also has ``count``, ``next`` and ``previous``.
        """
        args = _reading.page_args(
            user_id=user_id,
            agent_id=agent_id,
            run_id=run_id,
            filters=filters,
            limit=limit,
            offset=offset,
            include_expired=include_expired,
            top_k=top_k,
            show_expired=show_expired,
            page=page,
            page_size=page_size,
            version=version,
            output_format=output_format,
        )
        self._engine.await_writes(args.selection.scope)
        with self._engine.backend.read() as reader:
            items, total = reader.page(args.selection, args.limit, args.offset)
        return args.result(items, total)

    def history(self, memory_id: str) -> list[HistoryEntry]:
        """Every recorded event of a memory, oldest first (text is gone once erased)."""
        memory_id = check.memory_id(memory_id)
        with self._engine.backend.read() as reader:
            entries = reader.history(memory_id)
        return _reading.found_history(entries, memory_id)

    def count(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        include_expired: bool = False,
    ) -> int:
        """How many memories the scope holds (active only unless ``include_expired``)."""
        return self.get_all(
            user_id=user_id,
            agent_id=agent_id,
            run_id=run_id,
            limit=1,
            include_expired=include_expired,
        ).total

    def scopes(self) -> ScopeList:
        """Every exact scope (user, agent, run) holding active memories, with its count."""
        with self._engine.backend.read() as reader:
            return ScopeList(results=reader.scopes(_now()))

    def users(self) -> EntityList:
        """mem0's ``users()``: every user, agent and run holding active memories, with totals."""
        return self.scopes().entities()

    # -- updates and deletes --------------------------------------------------------------
    def update(
        self,
        memory_id: str,
        data: str | None = None,
        *,
        metadata: Mapping[str, Any] | None = None,
        text: str | None = None,
        expiration_date: Any = _KEEP,
        categories: Sequence[str] | None = None,
        force: bool = False,
    ) -> MemoryItem:
        """Change a memory's text, metadata and/or expiration; the id stays.

        A new text retires the old one as a version (see ``history`` and ``as_of``).
        ``text`` is mem0 v2's name for ``data``. Metadata and categories, when given, replace
        the old ones; ``expiration_date=None`` removes an expiration. A memory added with
        ``immutable=True`` is only changed with ``force=True`` (else ``ImmutableMemoryError``).
        """
        data = check.alias(data, None, text, "data", "text")
        change: dict[str, Any] = {"memory_id": memory_id, "text": data, "metadata": metadata}
        change["force"] = force
        if categories is not None:
            change["categories"] = categories
        if expiration_date is not _KEEP:
            change["expiration_date"] = expiration_date
        changing.batch_update(self._engine, [change])
        return self.get(memory_id)

    def delete(self, memory_id: str, *, source: bool = False) -> dict[str, Any]:
        """Erase one memory completely (rows, versions, vector, keyword terms, history text).

        A raw memory (``infer=False``) also takes its copy in the message window with it.
        ``source=True`` also erases the window messages an LLM-extracted memory came from
        (which may be the source of other memories too; those stay).

        The memory is gone from every query when this returns. ``erased_from_disk`` says
        whether its bytes have also left the store's files; it is False only while another
        process holds a read transaction that still sees them, and mnemoweave overwrites
        them as soon as that reader lets go (README, "Guarantees").
        """
        memory_id = check.memory_id(memory_id)
        erased, done = changing.erase_ids(self._engine, [memory_id], check.flag(source, "source"))
        message = "Memory deleted successfully!" if done else _PENDING_MESSAGE
        out: dict[str, Any] = {"message": message, "id": memory_id, "erased_from_disk": done}
        if source:
            out["sources_deleted"] = erased
        return out

    def delete_all(
        self, *, user_id: str | None = None, agent_id: str | None = None, run_id: str | None = None
    ) -> dict[str, Any]:
        """Erase every memory of a scope, and the scope's raw message windows."""
        scope = check.scope_ids(user_id, agent_id, run_id)
        count, done = changing.delete_all(self._engine, scope)
        return {"message": f"Deleted {count} memories", "deleted": count, "erased_from_disk": done}

    def feedback(
        self,
        memory_id: str,
        feedback: str | None = None,
        *,
        reason: str | None = None,
        feedback_reason: str | None = None,
    ) -> dict[str, Any]:
        """Rate a memory ``POSITIVE``, ``NEGATIVE`` or ``VERY_NEGATIVE`` (None clears it).

        The rating and ``reason`` (mem0: ``feedback_reason``) become a ``FEEDBACK`` event in
        :meth:`history`; they are kept, not used for ranking, and erased with the memory.
        """
        why = check.alias(reason, None, feedback_reason, "reason", "feedback_reason")
        return changing.feedback(self._engine, memory_id, feedback, why)

    def delete_users(
        self, *, user_id: str | None = None, agent_id: str | None = None, run_id: str | None = None
    ) -> dict[str, Any]:
        """mem0's name for erasing one entity: ``delete_all`` of exactly one id."""
        out = self.delete_all(**check.entity_ids(user_id, agent_id, run_id))
        return {**out, "message": check.ENTITY_DELETED}

    def reset(self) -> None:
        """Erase everything in this store (all scopes), keeping the store usable."""
        with self._engine.backend.write() as w:
            w.reset()

    # -- lifecycle -------------------------------------------------------------------------
    def verify(self) -> dict[str, Any]:
        """Check the store's integrity, and that every derived index matches the data.

        Returns a summary, or raises :class:`StorageError` naming what is wrong.
        """
        return self._engine.backend.verify()

    def checkpoint(self) -> None:
        """Save derived indexes and fold the write-ahead log into the database file.

        Afterwards the files hold everything committed and nothing erased (e.g. before copying
        the directory). Raises :class:`StorageError` if another process's read transaction kept
        the log from being folded within ``busy_timeout``.
        """
        self._engine.backend.checkpoint()

    def close(self) -> None:
        """Wait for background adds, save the vector index, and close the store."""
        self._engine.close()

    def __enter__(self) -> Memory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = self._engine.backend.location
        return f"Memory(path={where!r}, embedder={self._engine.embedder.model_id!r})"
