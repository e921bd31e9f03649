"""``MemoryClient``: the synchronous remote ``Memory`` (see :mod:`mnemoweave.remote`)."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import httpx
import numpy as np

from . import _remote_wire as wire
from . import _validate as check
from .config import MemoryConfig
from .memory import AddHandle
from .types import (
    AddResult,
    BatchResult,
    EntityList,
    HistoryEntry,
    MemoryItem,
    MemoryList,
    ScopeList,
    SearchResult,
)

_KEEP = wire.KEEP


class RemoteEmbedder:
    """The server's embedder, called over HTTP (for adapters that embed texts themselves)."""

    def __init__(self, client: MemoryClient) -> None:
        self._client = client

    @property
    def model_id(self) -> str:
        return str(self._client._info()["embedder"]["model"])

    @property
    def dim(self) -> int:
        return int(self._client._info()["embedder"]["dim"])

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._client._send(wire.embed(texts))
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)


class MemoryClient:
    """A ``Memory`` whose store lives in a mnemoweave server (``mnemoweave-server serve``).

    ``timeout`` is per request in seconds; ``transport`` an optional ``httpx`` transport
    (a proxy, a Unix socket, ``httpx.MockTransport``). The client is thread-safe.
    """

    def __init__(
        self,
        host: str | None = None,
        *,
        api_key: str | None = None,
        timeout: float = 30.0,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.host, self.api_key = wire.settings(host, api_key)
        self._timeout = timeout
        self._extra_headers = dict(headers or {})
        self._http = httpx.Client(
            base_url=self.host,
            headers=wire.headers(self.api_key, headers),
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
        )
        self._lock = threading.Lock()
        self._server_info: dict[str, Any] | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._pending: set[Future[AddResult]] = set()
        self._embedder = RemoteEmbedder(self)

    # -- transport -----------------------------------------------------------------------
    def _send(self, call: wire.Call) -> Any:
        try:
            response = self._http.request(
                call.method, call.path, json=call.body, params=call.params
            )
        except httpx.HTTPError as exc:
            raise wire.unreachable(self.host, exc) from exc
        return wire.finish(call, response)

    def _info(self) -> dict[str, Any]:
        if self._server_info is None:
            self._server_info = self._send(wire.info())
        assert self._server_info is not None
        return self._server_info

    # -- properties ----------------------------------------------------------------------
    @property
    def path(self) -> None:
        """A remote store has no local directory."""
        return None

    @property
    def embedder(self) -> RemoteEmbedder:
        """The server's embedder (model name and size from the server; texts embedded there)."""
        return self._embedder

    @property
    def llm(self) -> wire.RemoteLLM | None:
        """The server's LLM model, or ``None`` when the server has no LLM configured."""
        llm = self._info().get("llm")
        return wire.RemoteLLM(str(llm["model"])) if llm else None

    @property
    def config(self) -> MemoryConfig:
        """The server store's options (``path`` is ``None``: the directory is the server's)."""
        info = self._info()
        llm = info.get("llm")
        return MemoryConfig(
            embedder=info["embedder"]["model"],
            llm=llm["model"] if llm else None,
            **info.get("config", {}),
        )

    # -- add -----------------------------------------------------------------------------
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
        """Like :meth:`mnemoweave.Memory.add`; ``background=True`` sends it from a thread."""
        check.legacy({"version": version, "output_format": output_format})
        call = wire.add(
            messages,
            {
                "user_id": user_id,
                "agent_id": agent_id,
                "run_id": run_id,
                "metadata": metadata,
                "infer": infer,
                "timestamp": timestamp,
                "expiration_date": expiration_date,
                "immutable": immutable,
                "memory_type": memory_type,
                "prompt": prompt,
                "categories": categories,
                "includes": includes,
                "excludes": excludes,
                "window": window,
            },
        )
        if background:
            return self._submit(call)
        result: AddResult = self._send(call)
        return result

    def _submit(self, call: wire.Call) -> AddHandle:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=4, thread_name_prefix="mnemoweave-remote-add"
                )
            future: Future[AddResult] = self._executor.submit(self._send, call)
            self._pending.add(future)
        future.add_done_callback(self._forget)
        return AddHandle(future)

    def _forget(self, future: Future[AddResult]) -> None:
        with self._lock:
            self._pending.discard(future)

    def flush(self, timeout: float | None = None) -> None:
        """Wait until every background add has finished (their errors stay on their handles)."""
        with self._lock:
            pending = list(self._pending)
        for future in pending:
            try:
                future.result(timeout)
            except Exception:
                pass

    # -- reads ---------------------------------------------------------------------------
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
        """Like :meth:`mnemoweave.Memory.search` (``rerank`` uses the server's reranker)."""
        options = wire.arguments(locals(), "self", "query")
        check.legacy(options)
        result: SearchResult = self._send(wire.search(query, options))
        return result

    def get(self, memory_id: str) -> MemoryItem:
        """Like :meth:`mnemoweave.Memory.get`."""
        item: MemoryItem = self._send(wire.get(memory_id))
        return item

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
        """Like :meth:`mnemoweave.Memory.get_all`."""
        options = wire.arguments(locals(), "self")
        check.legacy(options)
        listed: MemoryList = self._send(wire.get_all(options))
        return listed

    def history(self, memory_id: str) -> list[HistoryEntry]:
        """Like :meth:`mnemoweave.Memory.history`."""
        entries: list[HistoryEntry] = self._send(wire.history(memory_id))
        return entries

    def count(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        include_expired: bool = False,
    ) -> int:
        """Like :meth:`mnemoweave.Memory.count`."""
        options = wire.arguments(locals(), "self")
        return int(self._send(wire.count(options)))

    def scopes(self) -> ScopeList:
        """Like :meth:`mnemoweave.Memory.scopes` (only the scopes this API key may see)."""
        found: ScopeList = self._send(wire.scopes())
        return found

    def users(self) -> EntityList:
        """Like :meth:`mnemoweave.Memory.users` (only the entities this API key may see)."""
        return self.scopes().entities()

    # -- writes --------------------------------------------------------------------------
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
        """Like :meth:`mnemoweave.Memory.update`."""
        options = {
            "data": data,
            "metadata": metadata,
            "text": text,
            "expiration_date": expiration_date,
            "categories": categories,
            "force": force,
        }
        item: MemoryItem = self._send(wire.update(memory_id, options))
        return item

    def batch_update(self, updates: Sequence[Mapping[str, Any]]) -> BatchResult:
        """Like :meth:`mnemoweave.Memory.batch_update`."""
        result: BatchResult = self._send(wire.batch("update", updates))
        return result

    def delete(self, memory_id: str, *, source: bool = False) -> dict[str, Any]:
        """Like :meth:`mnemoweave.Memory.delete`."""
        result: dict[str, Any] = self._send(wire.delete(memory_id, source))
        return result

    def batch_delete(self, memory_ids: Sequence[str], *, source: bool = False) -> BatchResult:
        """Like :meth:`mnemoweave.Memory.batch_delete`."""
        result: BatchResult = self._send(wire.batch("delete", memory_ids, source=source))
        return result

    def delete_all(
        self, *, user_id: str | None = None, agent_id: str | None = None, run_id: str | None = None
    ) -> dict[str, Any]:
        """Like :meth:`mnemoweave.Memory.delete_all`."""
        result: dict[str, Any] = self._send(wire.delete_all(user_id, agent_id, run_id))
        return result

    def feedback(
        self,
        memory_id: str,
        feedback: str | None = None,
        *,
        reason: str | None = None,
        feedback_reason: str | None = None,
    ) -> dict[str, Any]:
        """Like :meth:`mnemoweave.Memory.feedback`."""
        why = check.alias(reason, None, feedback_reason, "reason", "feedback_reason")
        result: dict[str, Any] = self._send(wire.feedback(memory_id, feedback, why))
        return result

    def delete_users(
        self, *, user_id: str | None = None, agent_id: str | None = None, run_id: str | None = None
    ) -> dict[str, Any]:
        """Like :meth:`mnemoweave.Memory.delete_users`."""
        out = self.delete_all(**check.entity_ids(user_id, agent_id, run_id))
        return {**out, "message": check.ENTITY_DELETED}

    def reset(self) -> None:
        """Like :meth:`mnemoweave.Memory.reset` (needs an admin key)."""
        self._send(wire.reset())

    def batch_add(self, records: Sequence[Mapping[str, Any]]) -> BatchResult:
        """Like :meth:`mnemoweave.Memory.batch_add`."""
        result: BatchResult = self._send(wire.batch("add", records))
        return result

    # -- message window --------------------------------------------------------------------
    def get_messages(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Like :meth:`mnemoweave.Memory.get_messages`."""
        options = wire.arguments(locals(), "self")
        messages: list[dict[str, Any]] = self._send(wire.get_messages(options))
        return messages

    def append_messages(
        self,
        messages: Any,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
    ) -> None:
        """Like :meth:`mnemoweave.Memory.append_messages`."""
        options = {"user_id": user_id, "agent_id": agent_id, "run_id": run_id}
        self._send(wire.append_messages(messages, options))

    def clear_messages(
        self, *, user_id: str | None = None, agent_id: str | None = None, run_id: str | None = None
    ) -> int:
        """Like :meth:`mnemoweave.Memory.clear_messages`."""
        options = {"user_id": user_id, "agent_id": agent_id, "run_id": run_id}
        return int(self._send(wire.clear_messages(options)))

    # -- lifecycle -------------------------------------------------------------------------
    def verify(self) -> dict[str, Any]:
        """Like :meth:`mnemoweave.Memory.verify` (needs an admin key)."""
        result: dict[str, Any] = self._send(wire.verify())
        return result

    def checkpoint(self) -> None:
        """Like :meth:`mnemoweave.Memory.checkpoint` (needs an admin key)."""
        self._send(wire.checkpoint())

    def close(self) -> None:
        """Wait for background adds, then close the connection pool."""
        self.flush()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        self._http.close()

    def __enter__(self) -> MemoryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"MemoryClient(host={self.host!r})"
