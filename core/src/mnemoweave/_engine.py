"""The engine's state for one store: config, embedder, LLM, backend, background adds.

The facades (``Memory``, ``AsyncMemory``) validate arguments and shape results; the engine
modules (``_adding``, ``_searching``, ``_changing``, ``_pipeline``) do the work through this
object and never import a facade. Storage is reached only through ``engine.backend``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as _wait_futures
from typing import Any

import numpy as np

from . import events as _events
from ._rerank import build_reranker
from .backends import Backend, open_backend
from .config import MemoryConfig
from .embed import Embedder, aembed_query, embed_query, embed_texts, get_embedder
from .types import AddEvent

logger = logging.getLogger("mnemoweave")

WORKER_PREFIX = "mnemoweave-add"  # background add threads


class Engine:
    """Everything one ``Memory`` shares between its calls and its background workers."""

    def __init__(self, config: MemoryConfig, on_event: _events.EventHook | None) -> None:
        self.config = config
        self.on_event = on_event
        self.embedder: Embedder = get_embedder(config.embedder)
        self.llm = _build_llm(config.llm)
        self.reranker = build_reranker(config.reranker, self.llm)
        self.backend: Backend = open_backend(config.backend, config)
        self.noticed = False
        self._scope_locks: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()
        self.guard = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self.pending: dict[Future[Any], dict[str, str]] = {}  # future -> its scope
        self._checked_binding: tuple[str, int] | None = None
        try:
            dim = int(self.embedder.dim)
        except Exception:  # e.g. a remote embedder that learns its size from the first call
            dim = 0
        if dim > 0:
            self.backend.bind_model(self.embedder.model_id, dim)

    # -- embedding -------------------------------------------------------------------------
    def embed(self, texts: Sequence[str]) -> np.ndarray:
        vectors = embed_texts(self.embedder, texts)
        if len(texts):
            self.backend.bind_model(self.embedder.model_id, int(vectors.shape[-1]))
        return vectors

    def embed_query(self, text: str) -> np.ndarray:
        vector = embed_query(self.embedder, text)
        self.backend.bind_model(self.embedder.model_id, int(vector.shape[-1]))
        return vector

    async def aembed_query(self, text: str) -> np.ndarray:
        """Async twin of :meth:`embed_query`; the binding check runs in a thread, once."""
        vector = await aembed_query(self.embedder, text)
        key = (self.embedder.model_id, int(vector.shape[-1]))
        if key != self._checked_binding:
            await asyncio.to_thread(self.backend.bind_model, *key)
            self._checked_binding = key
        return vector

    # -- events ----------------------------------------------------------------------------
    def emit(self, events: Sequence[_events.MemoryEvent]) -> None:
        if self.on_event is not None and events:
            _events.emit(self.on_event, events)

    def emit_add(
        self, results: Sequence[AddEvent], ids: tuple[str | None, str | None, str | None], at: float
    ) -> None:
        if self.on_event is not None:
            _events.emit(self.on_event, _events.from_add(results, ids, at))

    # -- background adds -------------------------------------------------------------------
    def scope_lock(self, key: str) -> Any:
        """The lock that serialises infer adds of one scope (dropped when no one holds it)."""
        with self.guard:
            lock = self._scope_locks.get(key)
            if lock is None:
                lock = threading.Lock()
                self._scope_locks[key] = lock
            return lock

    def submit(self, run: Callable[[], Any], scope: dict[str, str]) -> Future[Any]:
        with self.guard:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix=WORKER_PREFIX)
            future = self._executor.submit(run)
            self.pending[future] = scope
        future.add_done_callback(self._forget)
        return future

    def _forget(self, future: Future[Any]) -> None:
        with self.guard:
            self.pending.pop(future, None)
        exc = future.exception()
        if exc is not None:
            logger.warning("mnemoweave background add failed: %s", exc)

    def flush(self, timeout: float | None) -> None:
        with self.guard:
            pending = list(self.pending)
        for future in pending:
            try:
                future.result(timeout)
            except Exception:
                pass

    def await_writes(self, scope: Mapping[str, str]) -> None:
        """Read-your-writes: wait (bounded) for background adds a read of ``scope`` would see.

        An add is visible to the read when it carries every id of the read's scope. Worker
        threads never wait (an add's own pipeline reads while it is pending).
        """
        bound = self.config.read_your_writes_timeout
        if not bound or threading.current_thread().name.startswith(WORKER_PREFIX):
            return
        due = self._due(scope)
        if due and _wait_futures(due, timeout=bound).not_done:
            logger.warning(
                "mnemoweave: background adds for %s still running after %ss; reading without "
                "them (read_your_writes_timeout)",
                dict(scope),
                bound,
            )

    async def aawait_writes(self, scope: Mapping[str, str]) -> None:
        """:meth:`await_writes` for a coroutine: a worker thread waits, only if one must."""
        if self.config.read_your_writes_timeout and self._due(scope):
            await asyncio.to_thread(self.await_writes, scope)

    def _due(self, scope: Mapping[str, str]) -> list[Future[Any]]:
        with self.guard:
            return [
                future
                for future, ids in self.pending.items()
                if all(ids.get(key) == value for key, value in scope.items())
            ]

    def close(self) -> None:
        """Wait for background adds, close the LLM client and the backend."""
        self.flush(None)
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        closer = getattr(self.llm, "close", None)
        if callable(closer):
            closer()
        if self.reranker is not None:
            self.reranker.close()
        self.backend.close()


def _build_llm(spec: Any) -> Any:
    """An LLM client from config (``None`` stays ``None``: mnemoweave then stores raw messages)."""
    if spec is None:
        return None
    from .llm import build_llm

    return build_llm(spec)
