"""``Memory``: the synchronous public API (mem0-compatible names) over the store and pipeline."""

from __future__ import annotations

import json
import logging
import threading
import weakref
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as _wait_futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypedDict, Unpack, overload

import numpy as np

from . import _validate as check
from . import events as _events
from ._filters import compile_filters
from ._fusion import fuse, top
from ._intake import intake, with_source
from ._keywords import bm25, query_terms, terms_blob
from ._media import require_vision
from ._messages import Message, normalize_messages
from ._sources import erase_sources
from ._store import (
    ITEM_COLUMNS,
    NewRow,
    Store,
    Txn,
    exact_scope_sql,
    new_ids,
    scope_key,
    scope_sql,
    text_hash,
)
from ._time import now as _now
from ._time import optional_epoch, to_datetime, to_epoch
from ._values import clean
from .config import MemoryConfig, build_config, coerce_config
from .embed import Embedder, embed_query, embed_texts, get_embedder
from .errors import ConfigurationError, ImmutableMemoryError, NotFoundError, ValidationError
from .types import (
    AddEvent,
    AddResult,
    BatchResult,
    HistoryEntry,
    MemoryItem,
    MemoryList,
    ScopeCount,
    ScopeList,
    SearchResult,
)

logger = logging.getLogger("mnemoweave")

_WORKER_PREFIX = "mnemoweave-add"  # background add threads

_KEEP: Any = object()  # "argument not given", where None has a meaning of its own

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
    #: Set once the messages are in the scope's window (background adds do it up front).
    window_done: bool = False
    #: The window rows of this add's non-system messages (what its memories came from).
    message_ids: list[int] = field(default_factory=list)

    @property
    def ids(self) -> tuple[str | None, str | None, str | None]:
        return (self.scope.get("user_id"), self.scope.get("agent_id"), self.scope.get("run_id"))

    @property
    def key(self) -> str:
        return scope_key(*self.ids)


class AddOptions(TypedDict, total=False):
    """The keyword arguments of :meth:`Memory.add` besides ``background`` and ``window``.

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


class AddHandle:
    """The pending result of ``add(..., background=True)``; errors surface on ``result()``."""

    def __init__(self, future: Future[AddResult]) -> None:
        self._future = future

    def done(self) -> bool:
        return self._future.done()

    def result(self, timeout: float | None = None) -> AddResult:
        """Wait for the add and return its result (re-raising its error, if any)."""
        return self._future.result(check.timeout(timeout))

    def exception(self, timeout: float | None = None) -> BaseException | None:
        return self._future.exception(check.timeout(timeout))


class Memory:
    """Long-term memory for agents, stored in one local directory.

    ``Memory()`` works offline with no arguments: data under ``$MNEMOWEAVE_HOME`` (default
    ``~/.mnemoweave``), the local all-MiniLM-L6-v2 embedder, and no LLM (messages are stored
    verbatim until an ``llm`` is configured).
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        embedder: str | Mapping[str, Any] | Embedder | None = None,
        llm: Any = None,
        config: MemoryConfig | Mapping[str, Any] | None = None,
        on_event: _events.EventHook | None = None,
        **options: Any,
    ) -> None:
        self._on_event = _events.check_hook(on_event)
        if config is not None:
            base = coerce_config(config)
            values = {k: getattr(base, k) for k in base.model_fields_set}  # objects kept as-is
        else:
            values = {}
        if path is not None:
            values["path"] = check.data_path(path)
        if embedder is not None:
            values["embedder"] = embedder
        if llm is not None:
            values["llm"] = llm
        values.update(options)
        self.config = build_config(**values)
        self._embedder = get_embedder(self.config.embedder)
        self._llm = _build_llm(self.config.llm)
        self._store = Store(
            self.config.data_dir(),
            durability=self.config.durability,
            busy_timeout=self.config.busy_timeout,
        )
        self._noticed = False
        self._scope_locks: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()
        self._scope_guard = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._pending: dict[Future[AddResult], dict[str, str]] = {}  # future -> its scope
        try:
            dim = int(self._embedder.dim)
        except Exception:  # e.g. a remote embedder that learns its size from the first call
            dim = 0
        if dim > 0:
            self._store.bind_model(self._embedder.model_id, dim)

    @classmethod
    def from_config(cls, config: Any = None, *, config_dict: Any = None) -> Memory:
        """Build from a mem0-style config (a dict or ``mnemoweave.configs.MemoryConfig``)."""
        return cls(config=coerce_config(config if config is not None else config_dict or {}))

    # -- properties ----------------------------------------------------------------------
    @property
    def path(self) -> Path:
        """The data directory this memory lives in."""
        return self._store.directory

    @property
    def embedder(self) -> Embedder:
        return self._embedder

    @property
    def llm(self) -> Any:
        """The LLM client, or ``None`` when no LLM is configured."""
        return self._llm

    # -- embedding -----------------------------------------------------------------------
    def _bind(self, vectors: np.ndarray) -> None:
        if (
            self._store.dim is None
            or self._store.index is None
            or vectors.shape[-1] != self._store.dim
        ):
            self._store.bind_model(self._embedder.model_id, int(vectors.shape[-1]))

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        vectors = embed_texts(self._embedder, texts)
        if len(texts):
            self._bind(vectors)
        return vectors

    def _embed_query(self, text: str) -> np.ndarray:
        vector = embed_query(self._embedder, text)
        self._bind(vector)
        return vector

    # -- add -------------------------------------------------------------------------------
    def _plan_add(
        self,
        messages: Any,
        *,
        user_id: Any,
        agent_id: Any,
        run_id: Any,
        metadata: Any,
        infer: Any,
        timestamp: Any,
        expiration_date: Any,
        immutable: Any,
        memory_type: Any,
        prompt: Any,
        categories: Any,
    ) -> AddRequest:
        scope = check.scope_ids(user_id, agent_id, run_id)
        msgs = intake(messages, self.config)
        if infer is None:
            infer = self._llm is not None
            if not infer and not self._noticed:
                self._noticed = True
                logger.info(_NO_LLM_NOTICE)
        elif not isinstance(infer, bool):
            raise ValidationError(f"infer must be True, False or None, got {infer!r}")
        mtype = check.memory_type(memory_type, scope.get("agent_id"))
        if (infer or mtype) and self._llm is None:
            what = "memory_type='procedural_memory'" if mtype else "infer=True"
            raise ConfigurationError(
                f"{what} needs an LLM: pass llm={{'model': ..., 'base_url': ..., 'api_key': ...}} "
                "to Memory(...) (any OpenAI-compatible endpoint), or use infer=False"
            )
        require_vision(msgs, bool(infer), self._llm)
        prompt = check.optional_text(prompt, "prompt", self.config.max_text_chars)
        return AddRequest(
            messages=msgs,
            scope=scope,
            metadata=check.metadata(metadata),
            categories=check.categories(categories),
            observed=_now() if timestamp is None else to_epoch(timestamp, name="timestamp"),
            expires=optional_epoch(expiration_date, name="expiration_date"),
            immutable=check.flag(immutable, "immutable"),
            memory_type=mtype,
            prompt=prompt,
            infer=bool(infer) or mtype is not None,
        )

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
        background: bool = False,
        window: bool = True,
    ) -> AddResult | AddHandle:
        """Remember ``messages`` for a scope.

        With an LLM (``infer=True``, the default when one is configured) one LLM call turns
        the messages into facts and reconciles them with what the scope already knows;
        without one, each non-system message is stored verbatim. ``background=True`` returns
        an :class:`AddHandle` at once. ``window=False`` skips recording the messages in the
        scope's message window (for callers that keep that history themselves).
        """
        req = self._plan_add(
            messages,
            user_id=user_id,
            agent_id=agent_id,
            run_id=run_id,
            metadata=metadata,
            infer=infer,
            timestamp=timestamp,
            expiration_date=expiration_date,
            immutable=immutable,
            memory_type=memory_type,
            prompt=prompt,
            categories=categories,
        )
        req.window_done = not check.flag(window, "window")
        if check.flag(background, "background"):
            return self._submit(req)
        return self._run_add(req)

    def _run_add(self, req: AddRequest) -> AddResult:
        if not req.infer:
            return self._add_raw(req)
        from ._docinfer import run

        return run(self, req, self._scope_lock)  # one call, or one per document chunk

    def _scope_lock(self, key: str) -> Any:
        """The lock that serialises infer adds of one scope (dropped when no one holds it)."""
        with self._scope_guard:
            lock = self._scope_locks.get(key)
            if lock is None:
                lock = threading.Lock()
                self._scope_locks[key] = lock
            return lock

    def _submit(self, req: AddRequest) -> AddHandle:
        # The raw messages reach the window now, so chat history never lags a background add.
        with self._store.write() as tx:
            self._append_window(tx, req, _now())
        req.window_done = True
        with self._scope_guard:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=4, thread_name_prefix=_WORKER_PREFIX
                )
            future = self._executor.submit(self._run_add, req)
            self._pending[future] = req.scope
        future.add_done_callback(self._forget)
        return AddHandle(future)

    def _forget(self, future: Future[AddResult]) -> None:
        with self._scope_guard:
            self._pending.pop(future, None)
        exc = future.exception()
        if exc is not None:
            logger.warning("mnemoweave background add failed: %s", exc)

    def flush(self, timeout: float | None = None) -> None:
        """Wait until every background add has finished (their errors stay on their handles)."""
        timeout = check.timeout(timeout)
        with self._scope_guard:
            pending = list(self._pending)
        for future in pending:
            try:
                future.result(timeout)
            except Exception:
                pass

    def _await_writes(self, scope: Mapping[str, str]) -> None:
        """Read-your-writes: wait (bounded) for background adds a read of ``scope`` would see.

        An add is visible to the read when it carries every id of the read's scope. Worker
        threads never wait (an add's own pipeline reads while it is pending).
        """
        bound = self.config.read_your_writes_timeout
        if not bound or threading.current_thread().name.startswith(_WORKER_PREFIX):
            return
        with self._scope_guard:
            due = [
                future
                for future, ids in self._pending.items()
                if all(ids.get(key) == value for key, value in scope.items())
            ]
        if due and _wait_futures(due, timeout=bound).not_done:
            logger.warning(
                "mnemoweave: background adds for %s still running after %ss; reading without "
                "them (read_your_writes_timeout)",
                dict(scope),
                bound,
            )

    def _rows_for(
        self,
        req: AddRequest,
        texts: Sequence[str],
        vectors: np.ndarray,
        speakers: Sequence[tuple[str | None, str | None]],
        recorded: float,
        metas: Sequence[Mapping[str, Any]] | None = None,
    ) -> list[NewRow]:
        """Rows for new memories; ``speakers`` holds each text's ``(actor_id, role)``, and
        ``metas`` (when given) each text's own metadata instead of the request's."""
        meta, cats = _json(req.metadata, "{}"), _json(req.categories, "[]")
        row_metas = [meta] * len(texts) if metas is None else [_json(m, "{}") for m in metas]
        user, agent, run = req.ids
        return [
            _new_row(
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

    def _add_raw(self, req: AddRequest) -> AddResult:
        kept = [m for m in req.messages if m.role != "system"]
        if not kept:
            raise ValidationError(
                "messages contain only system messages; there is nothing to store"
            )
        texts = [m.content for m in kept]
        vectors = self._embed(texts)
        recorded = _now()
        metas = [with_source(req.metadata, m.source) for m in kept]  # document chunks' sources
        speakers = [(m.name, m.role) for m in kept]
        rows = self._rows_for(req, texts, vectors, speakers, recorded, metas)
        with self._store.write() as tx:
            self._store.insert(tx, rows)
            self._append_window(tx, req, recorded)
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
        self._emit_add(result, req.ids, recorded)
        return result

    def _emit_add(
        self, result: AddResult, ids: tuple[str | None, str | None, str | None], at: float
    ) -> None:
        if self._on_event is not None:
            _events.emit(self._on_event, _events.from_add(result.results, ids, at))

    def _append_window(self, tx: Txn, req: AddRequest, recorded: float) -> None:
        if req.window_done:
            return
        ids = self._store.append_messages(
            tx,
            req.ids,
            [(m.role, m.content, m.name) for m in req.messages],
            recorded,
            self.config.message_window,
        )
        req.message_ids = [i for i, m in zip(ids, req.messages) if m.role != "system"]

    # -- search ------------------------------------------------------------------------------
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
        _exact_scope: bool = False,
    ) -> SearchResult:
        """Find the scope's memories most relevant to ``query`` (dense + keyword, fused).

        Only rows of the given scope (and ``filters``) are scored, exactly. ``as_of`` searches
        the facts that were valid at that time, including texts later updated or retired.
        ``top_k`` and ``show_expired`` are mem0 v2's names for ``limit`` and ``include_expired``.
        """
        query = check.text(query, "query", self.config.max_text_chars)
        scope = check.scope_ids(user_id, agent_id, run_id, filters=filters)
        limit = check.positive_int(check.alias(limit, 10, top_k, "limit", "top_k"), "limit")
        include_expired = check.alias(
            include_expired, False, show_expired, "include_expired", "show_expired"
        )
        floor = check.threshold(threshold)
        check.flag(explain, "explain")
        check.flag(include_expired, "include_expired")
        weight = self.config.keyword_weight if keyword_weight is None else keyword_weight
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 <= weight <= 1:
            raise ValidationError(f"keyword_weight must be between 0 and 1, got {keyword_weight!r}")
        where, params = compile_filters(filters)
        when = None if as_of is None else to_epoch(as_of, name="as_of")
        if not _exact_scope:
            self._await_writes(scope)
        qvec = self._embed_query(query)
        qterms = query_terms(query)
        if _exact_scope:  # the infer pipeline: ids not given must be unset, not "any"
            ids = (scope.get("user_id"), scope.get("agent_id"), scope.get("run_id"))
            s_sql, s_params = exact_scope_sql(ids)
        else:
            s_sql, s_params = scope_sql(scope)
        with self._store.read() as conn:
            if when is None:
                cond = (
                    ""
                    if include_expired
                    else (" AND m.status = 0 AND (m.expires_at IS NULL OR m.expires_at > ?)")
                )
                extra = [] if include_expired else [_now()]
                found = conn.execute(
                    f"SELECT m.rid FROM memories m WHERE {s_sql}{cond} AND {where}",
                    [*s_params, *extra, *params],
                ).fetchall()
                rids = np.fromiter((r[0] for r in found), dtype=np.int64, count=len(found))
                assert self._store.index is not None
                dense = self._store.index.scores(qvec, rids)
                blobs = self._store.terms.get(rids.tolist())
                versions = None
            else:
                rows = self._as_of_rows(conn, s_sql, s_params, where, params, when, include_expired)
                rids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
                versions = [r[1] for r in rows]
                if rows:
                    matrix = np.frombuffer(b"".join(r[3] for r in rows), dtype=np.float32)
                    dense = matrix.reshape(len(rows), -1) @ qvec
                else:
                    dense = np.zeros(0, dtype=np.float32)
                blobs = [r[2] for r in rows]
            keyword = bm25(blobs, qterms)
            scores = fuse(dense, keyword, float(weight))
            chosen = top(scores.fused, limit, floor, scores.dense)
            items = self._items_for(
                conn, rids[chosen], None if versions is None else [versions[i] for i in chosen]
            )
        results = []
        for position, item in zip(chosen, items):
            item.score = float(scores.fused[position])
            if explain:
                item.explain = scores.explain(int(position))
            results.append(item)
        return SearchResult._trusted({"results": results})

    @staticmethod
    def _as_of_rows(
        conn: Any,
        s_sql: str,
        s_params: list[str],
        where: str,
        params: list[Any],
        when: float,
        include_expired: bool,
    ) -> list[tuple[int, int, bytes, bytes]]:
        expiry = "" if include_expired else " AND (m.expires_at IS NULL OR m.expires_at > ?)"
        extra = [] if include_expired else [when]
        union = (
            "SELECT rid, 0 AS vid, id, memory, hash, user_id, agent_id, run_id, actor_id, role,"
            " metadata, categories, memory_type, immutable, status, created_at, updated_at,"
            " valid_from, valid_to, recorded_at, expired_at, expires_at, terms, embedding"
            " FROM memories"
            " UNION ALL"
            " SELECT v.rid, v.vid, p.id, v.memory, v.hash, p.user_id, p.agent_id, p.run_id,"
            " p.actor_id, p.role, v.metadata, v.categories, p.memory_type, p.immutable, 1,"
            " v.created_at, v.updated_at, v.valid_from, v.valid_to, v.recorded_at, v.expired_at,"
            " p.expires_at, v.terms, v.embedding"
            " FROM memory_versions v JOIN memories p ON p.rid = v.rid"
        )
        rows: list[tuple[int, int, bytes, bytes]] = conn.execute(
            f"SELECT m.rid, m.vid, m.terms, m.embedding FROM ({union}) m WHERE {s_sql}"
            " AND m.valid_from <= ? AND (m.valid_to IS NULL OR m.valid_to > ?)"
            f"{expiry} AND {where}",
            [*s_params, when, when, *extra, *params],
        ).fetchall()
        return rows

    def _items_for(
        self, conn: Any, rids: np.ndarray, versions: list[int] | None
    ) -> list[MemoryItem]:
        """Rows for ``rids`` in that order; a non-zero version id swaps in that version's text."""
        if len(rids) == 0:
            return []
        # One JSON parameter, not one per row: a large limit stays under SQLite's variable cap.
        by_rid = {
            row[0]: row[1:]
            for row in conn.execute(
                f"SELECT rid, {ITEM_COLUMNS} FROM memories"
                " WHERE rid IN (SELECT value FROM json_each(?))",
                (json.dumps([int(r) for r in rids]),),
            )
        }
        vrows: dict[int, tuple[Any, ...]] = {}
        wanted = [v for v in (versions or []) if v]
        if wanted:
            vrows = {
                row[0]: row[1:]
                for row in conn.execute(
                    "SELECT vid, memory, hash, metadata, categories, created_at, updated_at,"
                    " valid_from, valid_to, recorded_at, expired_at FROM memory_versions"
                    " WHERE vid IN (SELECT value FROM json_each(?))",
                    (json.dumps(wanted),),
                )
            }
        items = []
        for i, rid in enumerate(rids):
            item = _item(by_rid[int(rid)])
            vid = versions[i] if versions else 0
            if vid:
                v = vrows[vid]
                item.memory, item.hash = v[0], v[1]
                item.metadata, item.categories = json.loads(v[2]), json.loads(v[3])
                item.created_at, item.updated_at = to_datetime(v[4]), to_datetime(v[5])
                item.valid_from, item.valid_to = to_datetime(v[6]), to_datetime(v[7])
                item.recorded_at, item.expired_at = to_datetime(v[8]), to_datetime(v[9])
            items.append(item)
        return items

    # -- reads -------------------------------------------------------------------------------
    def get(self, memory_id: str) -> MemoryItem:
        """One memory by id; raises :class:`NotFoundError` if it does not exist."""
        memory_id = check.memory_id(memory_id)
        with self._store.read() as conn:
            row = conn.execute(
                f"SELECT {ITEM_COLUMNS} FROM memories WHERE id = ?", (memory_id,)
            ).fetchone()
        if row is None:
            raise NotFoundError(f"no memory with id {memory_id!r}", memory_id=memory_id)
        return _item(row)

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
    ) -> MemoryList:
        """The scope's memories, newest first, with ``total`` counting all matches."""
        scope = check.scope_ids(user_id, agent_id, run_id, filters=filters)
        limit = check.positive_int(check.alias(limit, 100, top_k, "limit", "top_k"), "limit")
        include_expired = check.alias(
            include_expired, False, show_expired, "include_expired", "show_expired"
        )
        offset = check.offset(offset)
        check.flag(include_expired, "include_expired")
        where, params = compile_filters(filters)
        s_sql, s_params = scope_sql(scope)
        self._await_writes(scope)
        cond = (
            ""
            if include_expired
            else (" AND m.status = 0 AND (m.expires_at IS NULL OR m.expires_at > ?)")
        )
        extra = [] if include_expired else [_now()]
        base = f"FROM memories m WHERE {s_sql}{cond} AND {where}"
        args = [*s_params, *extra, *params]
        with self._store.read() as conn:
            total = conn.execute(f"SELECT count(*) {base}", args).fetchone()[0]
            rows = conn.execute(
                f"SELECT {ITEM_COLUMNS} {base} ORDER BY m.created_at DESC, m.rid DESC"
                " LIMIT ? OFFSET ?",
                [*args, limit, offset],
            ).fetchall()
        return MemoryList._trusted({"results": [_item(r) for r in rows], "total": int(total)})

    def history(self, memory_id: str) -> list[HistoryEntry]:
        """Every recorded event of a memory, oldest first (text is gone once erased)."""
        memory_id = check.memory_id(memory_id)
        columns = "id, memory_id, event, old_memory, new_memory, actor_id, role, created_at"
        with self._store.read() as conn:
            found = conn.execute("SELECT rid FROM memories WHERE id = ?", (memory_id,)).fetchone()
            if found is not None:
                rows = conn.execute(
                    f"SELECT {columns}, is_deleted FROM history WHERE rid = ? ORDER BY id", found
                ).fetchall()
            else:  # erased: only the bare events remain, found by the id they kept
                rows = conn.execute(
                    f"SELECT {columns}, is_deleted FROM history WHERE memory_id = ? ORDER BY id",
                    (memory_id,),
                ).fetchall()
        if not rows:
            raise NotFoundError(f"no history for memory id {memory_id!r}", memory_id=memory_id)
        return [
            HistoryEntry(
                id=r[0],
                memory_id=r[1],
                event=r[2],
                old_memory=r[3],
                new_memory=r[4],
                actor_id=r[5],
                role=r[6],
                created_at=to_datetime(r[7]),
                is_deleted=bool(r[8]),
            )
            for r in rows
        ]

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
        with self._store.read() as conn:
            rows = conn.execute(
                "SELECT user_id, agent_id, run_id, count(*), min(created_at), max(updated_at)"
                " FROM memories WHERE status = 0 AND (expires_at IS NULL OR expires_at > ?)"
                " GROUP BY user_id, agent_id, run_id"
                " ORDER BY user_id IS NULL, user_id, agent_id IS NULL, agent_id,"
                " run_id IS NULL, run_id",
                (_now(),),
            ).fetchall()
        return ScopeList(
            results=[
                ScopeCount(
                    user_id=r[0],
                    agent_id=r[1],
                    run_id=r[2],
                    count=int(r[3]),
                    created_at=to_datetime(r[4]),
                    updated_at=to_datetime(r[5]),
                )
                for r in rows
            ]
        )

    # -- updates and deletes --------------------------------------------------------------
    def _rid(self, conn: Any, memory_id: str, *, writable: bool = False) -> int:
        """The row id of ``memory_id``; ``writable`` also refuses an immutable memory."""
        row = conn.execute(
            "SELECT rid, immutable FROM memories WHERE id = ?", (memory_id,)
        ).fetchone()
        if row is None:
            raise NotFoundError(f"no memory with id {memory_id!r}", memory_id=memory_id)
        if writable and row[1]:
            raise ImmutableMemoryError(
                f"memory {memory_id!r} was added with immutable=True; pass force=True to "
                "update it anyway (delete always erases it)",
                memory_id=memory_id,
            )
        return int(row[0])

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
        change: dict[str, Any] = {
            "memory_id": memory_id,
            "text": data,
            "metadata": metadata,
            "force": force,
        }
        if categories is not None:
            change["categories"] = categories
        if expiration_date is not _KEEP:
            change["expiration_date"] = expiration_date
        self._batch_update([change])
        return self.get(memory_id)

    def batch_update(self, updates: Sequence[Mapping[str, Any]]) -> BatchResult:
        """Apply ``[{"memory_id", "text"?, "metadata"?, "force"?}]`` in one transaction.

        All or nothing: one unknown id, bad value or immutable memory (without ``force``)
        leaves every memory untouched.
        """
        if isinstance(updates, str | bytes) or not isinstance(updates, Sequence):
            raise ValidationError("batch_update takes a list of {'memory_id', 'text', 'metadata'}")
        return BatchResult(results=self._batch_update(list(updates)))

    def _batch_update(self, updates: list[Any]) -> list[dict[str, Any]]:
        plans = []
        for i, upd in enumerate(updates):
            if not isinstance(upd, Mapping):
                raise ValidationError(f"updates[{i}] must be a dict")
            unknown = set(upd) - {
                "memory_id",
                "text",
                "data",
                "metadata",
                "expiration_date",
                "categories",
                "force",
            }
            if unknown:
                raise ValidationError(f"updates[{i}] has unknown keys {sorted(unknown)}")
            mid = check.memory_id(upd.get("memory_id"))
            force = check.flag(upd.get("force", False), f"updates[{i}].force")
            text = upd.get("text", upd.get("data"))
            if text is not None:
                text = check.text(text, f"updates[{i}].text", self.config.max_text_chars)
            meta = None if upd.get("metadata") is None else check.metadata(upd["metadata"])
            expires: Any = _KEEP
            if "expiration_date" in upd:
                expires = optional_epoch(
                    upd["expiration_date"], name=f"updates[{i}].expiration_date"
                )
            cats = None if upd.get("categories") is None else check.categories(upd["categories"])
            if text is None and meta is None and expires is _KEEP and cats is None:
                raise ValidationError(
                    f"updates[{i}] needs 'text', 'metadata', 'categories' and/or 'expiration_date'"
                )
            plans.append((mid, text, meta, expires, cats, force))
        texts = [plan[1] for plan in plans if plan[1] is not None]
        vectors = iter(self._embed(texts)) if texts else iter(())
        out = []
        now = _now()
        changed: list[_events.MemoryEvent] = []
        with self._store.write() as tx:
            for mid, text, meta, expires, cats, force in plans:
                rid = self._rid(tx.conn, mid, writable=not force)
                before = _events.current_text(tx.conn, rid) if self._on_event is not None else None
                if cats is not None:
                    tx.conn.execute(
                        "UPDATE memories SET categories = ?, updated_at = ? WHERE rid = ?",
                        (json.dumps(cats, ensure_ascii=False), now, rid),
                    )
                if expires is not _KEEP:
                    tx.conn.execute(
                        "UPDATE memories SET expires_at = ?, updated_at = ? WHERE rid = ?",
                        (expires, now, rid),
                    )
                meta_json = None if meta is None else json.dumps(meta, ensure_ascii=False)
                current = tx.conn.execute(
                    "SELECT hash FROM memories WHERE rid = ?", (rid,)
                ).fetchone()
                vector = next(vectors) if text is not None else None
                if text is not None and text_hash(text) != current[0]:
                    assert vector is not None
                    self._store.replace_text(
                        tx,
                        rid,
                        text=text,
                        hash_=text_hash(text),
                        terms=terms_blob(text),
                        vector=vector,
                        now=now,
                        valid_from=now,
                        metadata=meta_json,
                    )
                elif meta_json is not None:
                    self._store.set_metadata(tx, rid, meta_json, now)
                out.append({"id": mid, "event": "UPDATE"})
                if self._on_event is not None:
                    changed.append(_events.updated(tx.conn, rid, before, now))
        if self._on_event is not None:
            _events.emit(self._on_event, changed)
        return out

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
        erased, done = self._erase_ids([memory_id], check.flag(source, "source"))
        message = "Memory deleted successfully!" if done else _PENDING_MESSAGE
        out: dict[str, Any] = {"message": message, "id": memory_id, "erased_from_disk": done}
        if source:
            out["sources_deleted"] = erased
        return out

    def batch_delete(self, memory_ids: Sequence[str], *, source: bool = False) -> BatchResult:
        """Erase several memories in one transaction; any unknown id aborts the whole batch.

        ``source=True`` also erases the messages they came from, as in :meth:`delete`; each
        result carries ``erased_from_disk`` as :meth:`delete` describes.
        """
        if isinstance(memory_ids, str | bytes) or not isinstance(memory_ids, Sequence):
            raise ValidationError("batch_delete takes a list of memory ids")
        ids = [
            check.memory_id(m if not isinstance(m, Mapping) else m.get("memory_id"))
            for m in memory_ids
        ]
        _, done = self._erase_ids(ids, check.flag(source, "source"))
        return BatchResult(
            results=[{"id": mid, "event": "DELETE", "erased_from_disk": done} for mid in ids]
        )

    def _erase_ids(self, ids: list[str], source: bool) -> tuple[int, bool]:
        """Erase memories by id (and their source messages).

        Returns how many messages were erased, and whether the bytes already left the files.
        """
        now = _now()
        with self._store.write() as tx:
            rids = sorted({self._rid(tx.conn, mid) for mid in ids})
            gone = _events.erased(tx.conn, rids, now) if self._on_event is not None else []
            erased = erase_sources(tx.conn, rids) if source else 0
            self._store.erase(tx, rids, now)
        if gone and self._on_event is not None:
            _events.emit(self._on_event, gone)
        return erased, bool(tx.erased_on_disk)

    def delete_all(
        self, *, user_id: str | None = None, agent_id: str | None = None, run_id: str | None = None
    ) -> dict[str, Any]:
        """Erase every memory of a scope, and the scope's raw message windows."""
        scope = check.scope_ids(user_id, agent_id, run_id)
        s_sql, s_params = scope_sql(scope)
        now = _now()
        with self._store.write() as tx:
            rids = [
                r[0]
                for r in tx.conn.execute(f"SELECT m.rid FROM memories m WHERE {s_sql}", s_params)
            ]
            gone = _events.erased(tx.conn, rids, now) if self._on_event is not None else []
            count = self._store.erase(tx, rids, now)
            tx.conn.execute(f"DELETE FROM messages AS m WHERE {s_sql}", s_params)
            self._store.mark_erasure(tx)
        if gone and self._on_event is not None:
            _events.emit(self._on_event, gone)
        done = bool(tx.erased_on_disk)
        return {"message": f"Deleted {count} memories", "deleted": count, "erased_from_disk": done}

    def reset(self) -> None:
        """Erase everything in this store (all scopes), keeping the store usable."""
        with self._store.write() as tx:
            rids = [r[0] for r in tx.conn.execute("SELECT rid FROM memories")]
            self._store.erase(tx, rids, _now())
            for table in ("messages", "history", "memory_versions", "changes"):
                tx.conn.execute(f"DELETE FROM {table}")
            self._store.mark_erasure(tx)

    # -- bulk insert -------------------------------------------------------------------------
    def batch_add(self, records: Sequence[Mapping[str, Any]]) -> BatchResult:
        """Store raw records ``{"text", user_id/agent_id/run_id, "metadata"?, ...}`` at once.

        No LLM is involved; texts are embedded in batches. Every record is validated before
        anything is written, so a bad record leaves the store untouched.
        """
        if isinstance(records, str | bytes) or not isinstance(records, Sequence):
            raise ValidationError("batch_add takes a list of record dicts")
        now = _now()
        prepared: list[tuple[Any, ...]] = []
        for i, rec in enumerate(records):
            if not isinstance(rec, Mapping):
                raise ValidationError(f"records[{i}] must be a dict")
            unknown = set(rec) - _RECORD_KEYS
            if unknown:
                raise ValidationError(f"records[{i}] has unknown keys {sorted(unknown)}")
            text = check.text(
                rec.get("text", rec.get("memory")), f"records[{i}].text", self.config.max_text_chars
            )
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
                    _json(check.metadata(rec.get("metadata")), "{}"),
                    _json(check.categories(rec.get("categories")), "[]"),
                    None,
                    check.flag(rec.get("immutable", False), f"records[{i}].immutable"),
                    now if stamp is None else to_epoch(stamp, name=f"records[{i}].timestamp"),
                    now,
                    optional_epoch(
                        rec.get("expiration_date"), name=f"records[{i}].expiration_date"
                    ),
                )
            )
        if not prepared:
            return BatchResult(results=[])
        vectors = self._embed([p[0] for p in prepared])
        ids = new_ids(len(prepared))
        rows = [_new_row(i, p[0], v, *p[1:]) for i, p, v in zip(ids, prepared, vectors)]
        with self._store.write() as tx:
            self._store.insert(tx, rows)
        if self._on_event is not None:
            _events.emit(self._on_event, _events.inserted(rows, now))
        return BatchResult._trusted(
            {"results": [{"id": r.id, "memory": r.memory, "event": "ADD"} for r in rows]}
        )

    # -- message window ----------------------------------------------------------------------
    def get_messages(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """The exact scope's recent raw messages, oldest first (``limit`` keeps the newest)."""
        scope = check.scope_ids(user_id, agent_id, run_id)
        key = scope_key(scope.get("user_id"), scope.get("agent_id"), scope.get("run_id"))
        cap = self.config.message_window if limit is None else check.positive_int(limit, "limit")
        with self._store.read() as conn:
            rows = conn.execute(
                "SELECT role, content, name, created_at FROM messages WHERE scope = ?"
                " ORDER BY id DESC LIMIT ?",
                (key, cap),
            ).fetchall()
        out = []
        for role, content, name, created in reversed(rows):
            msg: dict[str, Any] = {
                "role": role,
                "content": content,
                "created_at": to_datetime(created),
            }
            if name:
                msg["name"] = name
            out.append(msg)
        return out

    def append_messages(
        self,
        messages: Any,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
    ) -> None:
        """Add messages to the scope's window only (no memories are created)."""
        req = AddRequest(
            messages=normalize_messages(messages, self.config.max_text_chars, files=self.config),
            scope=check.scope_ids(user_id, agent_id, run_id),
            metadata={},
            categories=[],
            observed=_now(),
            expires=None,
            immutable=False,
            memory_type=None,
            prompt=None,
            infer=False,
        )
        with self._store.write() as tx:
            self._append_window(tx, req, _now())

    def clear_messages(
        self, *, user_id: str | None = None, agent_id: str | None = None, run_id: str | None = None
    ) -> int:
        """Erase the exact scope's raw message window; memories are kept."""
        scope = check.scope_ids(user_id, agent_id, run_id)
        key = scope_key(scope.get("user_id"), scope.get("agent_id"), scope.get("run_id"))
        with self._store.write() as tx:
            count = tx.conn.execute("DELETE FROM messages WHERE scope = ?", (key,)).rowcount
            self._store.mark_erasure(tx)
        return int(count)

    # -- lifecycle -------------------------------------------------------------------------
    def verify(self) -> dict[str, Any]:
        """Check the store: SQLite integrity, and every vector in the index matches SQLite.

        Returns a summary, or raises :class:`StorageError` naming what is wrong.
        """
        return self._store.verify()

    def checkpoint(self) -> None:
        """Save the vector snapshot and fold the write-ahead log into the database file.

        Afterwards the files hold everything committed and nothing erased (e.g. before copying
        the directory). Raises :class:`StorageError` if another process's read transaction kept
        the log from being folded within ``busy_timeout``.
        """
        self._store.checkpoint()

    def close(self) -> None:
        """Wait for background adds, save the vector index, and close the database."""
        self.flush()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        closer = getattr(self._llm, "close", None)
        if callable(closer):
            closer()
        self._store.close()

    def __enter__(self) -> Memory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Memory(path={str(self.path)!r}, embedder={self._embedder.model_id!r})"


_PENDING_MESSAGE = (
    "Memory deleted; another process's open read transaction still sees its old bytes, which "
    "mnemoweave overwrites on disk as soon as that reader ends"
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


def _json(value: Any, empty: str) -> str:
    return json.dumps(value, ensure_ascii=False) if value else empty


def _new_row(
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


def _opt_str(record: Mapping[str, Any], key: str, index: int) -> str | None:
    value = record.get(key)
    if value is not None and (not isinstance(value, str) or not value):
        raise ValidationError(f"records[{index}].{key} must be a non-empty string")
    return None if value is None else clean(value, f"records[{index}].{key}")


def _item(row: Sequence[Any]) -> MemoryItem:
    """A :class:`MemoryItem` from a row selected with ``ITEM_COLUMNS``.

    The row comes from our own schema, so validation is skipped (see ``_trusted``).
    """
    created = to_datetime(row[12])
    updated = created if row[13] == row[12] else to_datetime(row[13])
    return MemoryItem._trusted(
        {
            "id": row[0],
            "memory": row[1],
            "hash": row[2],
            "metadata": {} if row[3] == "{}" else json.loads(row[3]),
            "categories": [] if row[4] == "[]" else json.loads(row[4]),
            "user_id": row[5],
            "agent_id": row[6],
            "run_id": row[7],
            "actor_id": row[8],
            "role": row[9],
            "memory_type": row[10],
            "immutable": bool(row[11]),
            "created_at": created,
            "updated_at": updated,
            # Most rows were valid and recorded when they were created: reuse those objects.
            "valid_from": created if row[14] == row[12] else to_datetime(row[14]),
            "valid_to": to_datetime(row[15]),
            "recorded_at": created if row[16] == row[12] else to_datetime(row[16]),
            "expired_at": to_datetime(row[17]),
            "expiration_date": to_datetime(row[18]),
            "score": None,
            "explain": None,
        }
    )


def _build_llm(spec: Any) -> Any:
    """An LLM client from config (``None`` stays ``None``: mnemoweave then stores raw messages)."""
    if spec is None:
        return None
    from .llm import build_llm

    return build_llm(spec)
