"""mem0 side of the side-by-side benchmark: a JSON-lines server around one mem0 ``Memory``.

Runs INSIDE ``bench/.venvs/mem0`` (made by ``bench/setup_mem0.sh``) and imports only the standard
library, mem0 and mem0's own dependencies (numpy, langchain-core), never mnemoweave, so mem0 stays
out of mnemoweave's environment. ``bench/_mem0_client.py`` spawns it and talks to it.

Protocol: one JSON object per line on stdin, one reply per line on stdout, logs on stderr.

    request  {"id": 7, "cmd": "search", ...arguments}
    reply    {"id": 7, "ok": true, "result": {...}}
             {"id": 7, "ok": false, "error": {"type": "ValueError", "message": "...",
                                                "traceback": "..."}}

Every reply's result also carries ``embed`` (embedder hits/misses since the previous reply),
``warnings`` (WARNING+ log records mem0 emitted since the previous reply, tallied by logger and
message prefix: mem0 swallows some failures, e.g. a failed FAISS save, into a log line) and, when
``BENCH_SOCKET_GUARD=1``, ``blocked_connections``.

Vectors travel either as a JSON list of floats or as ``{"f32": "<base64 of little-endian
float32>"}`` (what the client sends: compact and bit-exact).

Commands (arguments -> result):

- ``init`` {path, dim, llm_base_url?, llm_model?, llm_api_key?, collection?, distance_strategy?}
  -> {open_s, rows, mem0_version, paths}. Everything mem0 writes goes under ``path``.
- ``reopen`` {} -> {open_s, rows}: replace the Memory with a fresh one over the same files.
- ``vectors`` {vectors: {text: vector}} -> {registered}: vectors the embedder returns for texts
  mem0 embeds on its own (the infer pipeline embeds the transcript and the extracted facts).
- ``add_raw`` {records: [{text, user_id, vector, role?, metadata?}], budget_s?} -> {ids,
  latencies_s, elapsed_s, done, stopped_early}: one ``Memory.add(..., infer=False)`` per record.
- ``add_concurrent`` {records, threads} -> {ids, errors, elapsed_s}: the same adds spread over
  ``threads`` threads sharing this process's one Memory instance.
- ``search`` {query, vector, user_id, limit?, threshold?} -> {results: [{id, memory, score,
  user_id}], elapsed_s}.
- ``add_infer`` {messages, user_id, timestamp?, metadata?, vectors?} -> {result, elapsed_s, llm:
  {calls, prompt_tokens, completion_tokens, requests}, timestamp_ignored}.
- ``count`` {user_id?} -> {rows, index_ntotal, history_adds, open_s}: what a fresh Memory over
  the same path sees (the live instance is left untouched).
- ``stats`` {} -> totals since start. ``ping`` {} -> {pong}. ``close`` {} -> stats, then exit.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import socket
import sqlite3
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path
from typing import Any

import numpy as np

PROTOCOL_VERSION = 1
LOG = logging.getLogger("bench.mem0_worker")

#: Hosts the socket guard lets through: the scripted LLM server lives on loopback.
ALLOWED_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
#: LLM base URL used when the parent gives none: a closed loopback port, so a stray LLM call
#: fails fast and locally instead of reaching api.openai.com (mem0's default base URL).
NO_LLM_BASE_URL = "http://127.0.0.1:9/v1"
#: Environment forced before mem0 is imported. MEM0_TELEMETRY is read once, at import, by
#: mem0/memory/telemetry.py; the LangSmith switches keep langchain-core's tracer off.
FORCED_ENV = {
    "MEM0_TELEMETRY": "false",
    "LANGSMITH_TRACING": "false",
    "LANGCHAIN_TRACING_V2": "false",
}
#: Variables that would silently reroute mem0's OpenAI LLM client (mem0/llms/openai.py sends
#: every call to OpenRouter when OPENROUTER_API_KEY is set).
DROPPED_ENV = ("OPENROUTER_API_KEY",)


class WorkerError(Exception):
    """A request the worker refuses (bad arguments, wrong order of commands)."""


# --------------------------------------------------------------------------- socket guard


class SocketGuard:
    """Refuse and record every network attempt that is not to loopback.

    Installed before mem0 is imported when ``BENCH_SOCKET_GUARD=1``; it proves the configured
    setup is offline (telemetry, model downloads, default API hosts) instead of assuming it.
    DNS lookups of non-loopback names are refused too, since a lookup is already a leak.
    """

    def __init__(self) -> None:
        self.blocked: list[str] = []
        self._reported = 0
        self._lock = threading.Lock()

    def install(self) -> None:
        """Patch ``socket`` so non-loopback connects and lookups raise ``PermissionError``."""
        original_connect = socket.socket.connect
        original_connect_ex = socket.socket.connect_ex
        original_getaddrinfo = socket.getaddrinfo
        guard = self

        def connect(sock: socket.socket, address: Any) -> None:
            guard.check(sock, address)
            original_connect(sock, address)

        def connect_ex(sock: socket.socket, address: Any) -> int:
            guard.check(sock, address)
            return original_connect_ex(sock, address)

        def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
            name = host.decode() if isinstance(host, bytes) else host
            if name is not None and name not in ALLOWED_HOSTS:
                guard.refuse(f"getaddrinfo({name!r})")
            return original_getaddrinfo(host, *args, **kwargs)

        socket.socket.connect = connect  # type: ignore[method-assign]
        socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
        socket.getaddrinfo = getaddrinfo

    def check(self, sock: socket.socket, address: Any) -> None:
        """Allow Unix sockets and loopback addresses; refuse everything else."""
        if sock.family == getattr(socket, "AF_UNIX", None):
            return
        host = address[0] if isinstance(address, tuple) else address
        if host not in ALLOWED_HOSTS:
            self.refuse(f"connect({address!r})")

    def refuse(self, what: str) -> None:
        """Record the attempt and raise, so the caller sees a network failure."""
        with self._lock:
            self.blocked.append(what)
        LOG.error("socket guard blocked %s", what)
        raise PermissionError(f"BENCH_SOCKET_GUARD: blocked {what}")

    def drain(self) -> list[str]:
        """Attempts recorded since the previous call."""
        with self._lock:
            fresh = self.blocked[self._reported :]
            self._reported = len(self.blocked)
        return fresh


# --------------------------------------------------------------------------- log tally


class LogTally(logging.Handler):
    """Count WARNING+ records by (logger, message prefix) between replies.

    mem0 turns several failures into log lines instead of exceptions (FAISS ``_save`` errors,
    entity linking, history fallbacks); the benchmark must see them to count "errors raised"
    honestly, so every reply carries what was logged since the previous one.
    """

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self._counts: Counter[str] = Counter()
        self.total: Counter[str] = Counter()
        self._guard = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            key = f"{record.levelname} {record.name}: {record.getMessage()[:80]}"
        except Exception:  # a malformed log call must never break the worker
            key = f"{record.levelname} {record.name}: <unformattable>"
        with self._guard:
            self._counts[key] += 1
            self.total[key] += 1

    def drain(self) -> dict[str, int]:
        """Counts since the previous call."""
        with self._guard:
            fresh = dict(self._counts)
            self._counts.clear()
        return fresh


# --------------------------------------------------------------------------- vectors


def decode_vector(raw: Any, dim: int) -> np.ndarray:
    """Turn a wire vector (list of floats or ``{"f32": base64}``) into float32 of length ``dim``."""
    if isinstance(raw, dict) and "f32" in raw:
        vec = np.frombuffer(base64.b64decode(raw["f32"]), dtype="<f4").astype(np.float32)
    elif isinstance(raw, list):
        vec = np.asarray(raw, dtype=np.float32)
    else:
        raise WorkerError(f"vector must be a list of floats or {{'f32': base64}}, got {raw!r:.60}")
    if vec.shape != (dim,):
        raise WorkerError(f"vector has shape {vec.shape}, expected ({dim},)")
    return vec


def hash_vector(text: str, dim: int) -> np.ndarray:
    """Deterministic unit vector for a text nobody supplied a vector for (counted as a miss)."""
    seed = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")
    vec = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
    return vec / np.float32(np.linalg.norm(vec))


class VectorBook:
    """The vectors the embedder hands to mem0, keyed by the exact text mem0 asks about.

    Two layers: a per-thread ``scope`` holding the vectors of the mem0 call in progress on that
    thread (exact even when one chunk or several threads carry equal texts with different
    vectors; mem0's add and search embed on the calling thread), then a shared registry filled by
    the ``vectors`` command. Anything else gets ``hash_vector`` and is counted as a miss.
    """

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._registry: dict[str, np.ndarray] = {}
        self._local = threading.local()
        self._lock = threading.Lock()
        self._hits = 0
        self._misses: list[str] = []
        self.total_hits = 0
        self.total_misses = 0

    def register(self, vectors: dict[str, np.ndarray]) -> None:
        """Add texts to the shared registry (kept for the worker's lifetime)."""
        with self._lock:
            for text, vec in vectors.items():
                self._registry[text] = vec
                self._registry.setdefault(text.strip(), vec)

    def scope(self, vectors: dict[str, np.ndarray]) -> _Scope:
        """Context manager: these vectors win on this thread while the block runs."""
        return _Scope(self, vectors)

    def lookup(self, text: str) -> list[float]:
        """Vector for ``text``: thread scope, then registry, then the counted hash fallback."""
        scoped: dict[str, np.ndarray] = getattr(self._local, "vectors", None) or {}
        vec = scoped.get(text)
        if vec is None:
            vec = scoped.get(text.strip())
        if vec is None:
            with self._lock:
                vec = self._registry.get(text)
                if vec is None:
                    vec = self._registry.get(text.strip())
        with self._lock:
            if vec is None:
                self._misses.append(text)
                self.total_misses += 1
                vec = hash_vector(text, self.dim)
            else:
                self._hits += 1
                self.total_hits += 1
        return vec.tolist()

    def drain(self) -> dict[str, Any]:
        """Hits and misses since the previous call, with the first missed texts (truncated)."""
        with self._lock:
            out = {
                "hits": self._hits,
                "misses": len(self._misses),
                "missed_texts": [t[:120] for t in self._misses[:10]],
            }
            self._hits = 0
            self._misses = []
        return out


class _Scope:
    """Installs per-thread vectors on a ``VectorBook`` for the duration of a ``with`` block."""

    def __init__(self, book: VectorBook, vectors: dict[str, np.ndarray]) -> None:
        self._book = book
        self._vectors = {**{t.strip(): v for t, v in vectors.items()}, **vectors}

    def __enter__(self) -> None:
        self._book._local.vectors = self._vectors

    def __exit__(self, *exc: object) -> None:
        self._book._local.vectors = None


def make_embeddings(book: VectorBook) -> Any:
    """A langchain-core ``Embeddings`` that answers from ``book``.

    mem0 2.0.18 has no registry for embedder classes (``EmbedderConfig`` rejects unknown
    providers, mem0/embeddings/configs.py), so the documented route for a user-supplied embedder
    is its ``langchain`` provider, which wraps any langchain ``Embeddings`` instance
    (mem0/embeddings/langchain.py). Imported lazily: HOME/MEM0_DIR must be set first.
    """
    from langchain_core.embeddings import Embeddings

    class BookEmbeddings(Embeddings):
        """Returns the parent-supplied vector for each text (hash fallback when unknown)."""

        def embed_query(self, text: str) -> list[float]:
            return book.lookup(text)

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return [book.lookup(t) for t in texts]

    return BookEmbeddings()


# --------------------------------------------------------------------------- LLM accounting


class LlmTally:
    """mem0's ``response_callback`` hook (configs/llms/openai.py): counts calls and tokens.

    The token numbers are the ``usage`` the server reported; the scripted server records its
    own copy, this one lets a reply say what each ``add`` cost without asking the server.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[dict[str, Any]] = []

    def __call__(self, llm: Any, response: Any, params: dict[str, Any]) -> None:
        usage = getattr(response, "usage", None)
        entry = {
            "model": params.get("model"),
            "response_format": params.get("response_format"),
            "tools": bool(params.get("tools")),
            "messages": len(params.get("messages") or []),
            "prompt_chars": sum(len(str(m.get("content", ""))) for m in params.get("messages", [])),
            "prompt_tokens": getattr(usage, "prompt_tokens", None),
            "completion_tokens": getattr(usage, "completion_tokens", None),
        }
        with self._lock:
            self._requests.append(entry)

    def drain(self) -> dict[str, Any]:
        """Calls since the previous call, with summed token counts."""
        with self._lock:
            requests, self._requests = self._requests, []
        return {
            "calls": len(requests),
            "prompt_tokens": sum(r["prompt_tokens"] or 0 for r in requests),
            "completion_tokens": sum(r["completion_tokens"] or 0 for r in requests),
            "requests": requests,
        }


# --------------------------------------------------------------------------- session


class Session:
    """One mem0 ``Memory`` over one data directory, plus the bookkeeping around it."""

    def __init__(self, guard: SocketGuard | None, tally: LogTally) -> None:
        self.guard = guard
        self.tally = tally
        self.book: VectorBook | None = None
        self.llm = LlmTally()
        self.memory: Any = None
        self.root: Path | None = None
        self.config: dict[str, Any] = {}

    # ---- setup

    def init(
        self,
        path: str,
        dim: int,
        llm_base_url: str | None = None,
        llm_model: str = "gpt-4o-mini",
        llm_api_key: str = "sk-bench-offline",
        collection: str = "bench",
        distance_strategy: str = "euclidean",
    ) -> dict[str, Any]:
        """Point HOME/MEM0_DIR into ``path``, import mem0 and open a Memory.

        mem0 resolves ``~/.mem0`` once, at import (mem0/memory/setup.py, mem0/configs/base.py),
        so one worker serves one data directory for its whole life.
        """
        root = Path(path).resolve()
        if self.root is not None and root != self.root:
            raise WorkerError(f"this worker already serves {self.root}; start a new worker")
        self.root = root
        home = root / "home"
        mem0_dir = root / "mem0_dir"
        for d in (home, mem0_dir):
            d.mkdir(parents=True, exist_ok=True)
        os.environ["HOME"] = str(home)
        os.environ["MEM0_DIR"] = str(mem0_dir)
        os.environ["XDG_CACHE_HOME"] = str(home / ".cache")
        os.environ["XDG_CONFIG_HOME"] = str(home / ".config")

        self.book = VectorBook(int(dim))
        self.config = {
            "vector_store": {
                "provider": "faiss",
                "config": {
                    "collection_name": collection,
                    "path": str(root / "faiss"),
                    "distance_strategy": distance_strategy,
                    "embedding_model_dims": int(dim),
                },
            },
            "embedder": {"provider": "langchain", "config": {"model": make_embeddings(self.book)}},
            "llm": {
                "provider": "openai",
                "config": {
                    "model": llm_model,
                    "api_key": llm_api_key,
                    "openai_base_url": llm_base_url or NO_LLM_BASE_URL,
                    "response_callback": self.llm,
                },
            },
            "history_db_path": str(root / "history.db"),
        }
        import mem0

        self.memory, open_s = self._open()
        return {
            "open_s": open_s,
            "rows": len(self.memory.vector_store.docstore),
            "mem0_version": mem0.__version__,
            "protocol": PROTOCOL_VERSION,
            "paths": {
                "faiss": str(root / "faiss"),
                "history_db": str(root / "history.db"),
                "mem0_dir": str(mem0_dir),
                "home": str(home),
            },
        }

    def _open(self) -> tuple[Any, float]:
        """A new ``Memory`` over the configured files, and how long opening took."""
        from mem0 import Memory

        start = time.perf_counter()
        memory = Memory.from_config(self.config)
        return memory, time.perf_counter() - start

    def _need(self) -> tuple[Any, VectorBook]:
        if self.memory is None or self.book is None:
            raise WorkerError("send init first")
        return self.memory, self.book

    def reopen(self) -> dict[str, Any]:
        """Close the live Memory and open a fresh one (measures mem0's open time)."""
        self._need()
        self.memory.close()
        self.memory, open_s = self._open()
        return {"open_s": open_s, "rows": len(self.memory.vector_store.docstore)}

    def vectors(self, vectors: dict[str, Any]) -> dict[str, Any]:
        """Register texts' vectors for the rest of the worker's life."""
        _, book = self._need()
        book.register({t: decode_vector(v, book.dim) for t, v in vectors.items()})
        return {"registered": len(vectors)}

    # ---- writes

    def _add_one(self, memory: Any, book: VectorBook, record: dict[str, Any]) -> tuple[str, float]:
        """Store one record verbatim (infer=False); returns mem0's id and the seconds it took."""
        text = record["text"]
        vec = decode_vector(record["vector"], book.dim)
        message = {"role": record.get("role", "user"), "content": text}
        with book.scope({text: vec}):
            start = time.perf_counter()
            out = memory.add(
                [message],
                user_id=record["user_id"],
                metadata=record.get("metadata"),
                infer=False,
            )
            elapsed = time.perf_counter() - start
        results = out.get("results", [])
        if len(results) != 1:
            raise WorkerError(f"mem0 stored {len(results)} memories for one record: {out!r:.200}")
        return results[0]["id"], elapsed

    def add_raw(
        self, records: list[dict[str, Any]], budget_s: float | None = None
    ) -> dict[str, Any]:
        """One ``Memory.add(infer=False)`` per record, in order; stops early past ``budget_s``."""
        memory, book = self._need()
        ids: list[str] = []
        latencies: list[float] = []
        start = time.perf_counter()
        stopped_early = False
        for record in records:
            if budget_s is not None and time.perf_counter() - start > budget_s:
                stopped_early = True
                break
            mem_id, elapsed = self._add_one(memory, book, record)
            ids.append(mem_id)
            latencies.append(elapsed)
        return {
            "ids": ids,
            "latencies_s": latencies,
            "elapsed_s": time.perf_counter() - start,
            "done": len(ids),
            "stopped_early": stopped_early,
        }

    def add_concurrent(self, records: list[dict[str, Any]], threads: int = 4) -> dict[str, Any]:
        """Spread the adds over ``threads`` threads sharing the one Memory; collect every error.

        Record ``i`` goes to thread ``i % threads``; each thread adds its share in order.
        """
        memory, book = self._need()
        shares = [records[i::threads] for i in range(threads)]
        errors: list[dict[str, Any]] = []
        ids: list[str] = []
        lock = threading.Lock()

        def run(share: list[dict[str, Any]]) -> None:
            for record in share:
                try:
                    mem_id, _ = self._add_one(memory, book, record)
                except Exception as exc:  # the study counts errors; it must not stop at one
                    with lock:
                        errors.append({"type": type(exc).__name__, "message": str(exc)[:300]})
                else:
                    with lock:
                        ids.append(mem_id)

        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(run, shares))
        return {"ids": ids, "errors": errors, "elapsed_s": time.perf_counter() - start}

    def add_infer(
        self,
        messages: Any,
        user_id: str,
        timestamp: Any = None,
        metadata: dict[str, Any] | None = None,
        vectors: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """``Memory.add(messages, infer=True)``: the LLM pipeline against the configured server.

        mem0 2.0.18's OSS ``add`` raises on ``timestamp=`` ("platform-only",
        mem0/memory/main.py), so a timestamp is not passed on and the reply says so.
        """
        memory, book = self._need()
        scoped = {t: decode_vector(v, book.dim) for t, v in (vectors or {}).items()}
        self.llm.drain()
        with book.scope(scoped):
            start = time.perf_counter()
            result = memory.add(messages, user_id=user_id, metadata=metadata, infer=True)
            elapsed = time.perf_counter() - start
        return {
            "result": result,
            "elapsed_s": elapsed,
            "llm": self.llm.drain(),
            "timestamp_ignored": timestamp is not None,
        }

    # ---- reads

    def search(
        self,
        query: str,
        vector: Any,
        user_id: str,
        limit: int = 10,
        threshold: float | None = None,
    ) -> dict[str, Any]:
        """``Memory.search`` scoped to ``user_id``; ``threshold`` None keeps mem0's default."""
        memory, book = self._need()
        vec = decode_vector(vector, book.dim)
        kwargs: dict[str, Any] = {"top_k": int(limit), "filters": {"user_id": user_id}}
        if threshold is not None:
            kwargs["threshold"] = float(threshold)
        with book.scope({query: vec}):
            start = time.perf_counter()
            out = memory.search(query, **kwargs)
            elapsed = time.perf_counter() - start
        keep = ("id", "memory", "score", "user_id")
        results = [{k: r.get(k) for k in keep} for r in out.get("results", [])]
        return {"results": results, "elapsed_s": elapsed}

    def count(self, user_id: str | None = None) -> dict[str, Any]:
        """Rows a fresh Memory over the same path sees (what survives to the next process)."""
        self._need()
        fresh, open_s = self._open()
        try:
            store = fresh.vector_store
            if user_id is None:
                rows = len(store.list(top_k=2**31 - 1)[0])
            else:
                rows = len(fresh.get_all(filters={"user_id": user_id}, top_k=2**31 - 1)["results"])
            ntotal = int(store.index.ntotal) if store.index is not None else 0
        finally:
            fresh.close()
        assert self.root is not None
        with closing(sqlite3.connect(self.root / "history.db")) as db:
            query = "SELECT COUNT(*) FROM history WHERE event = 'ADD'"
            (history_adds,) = db.execute(query).fetchone()
        return {
            "rows": rows,
            "index_ntotal": ntotal,
            "history_adds": history_adds,
            "open_s": open_s,
        }

    def stats(self) -> dict[str, Any]:
        """Totals since the worker started."""
        book = self.book
        return {
            "embed_hits": book.total_hits if book else 0,
            "embed_misses": book.total_misses if book else 0,
            "warnings_total": dict(self.tally.total),
            "blocked_connections_total": list(self.guard.blocked) if self.guard else None,
        }

    def close(self) -> dict[str, Any]:
        """Release SQLite; the worker exits after replying."""
        if self.memory is not None:
            self.memory.close()
            self.memory = None
        return self.stats()

    def ping(self) -> dict[str, Any]:
        """Liveness check (also reports the protocol version)."""
        return {"pong": True, "protocol": PROTOCOL_VERSION, "pid": os.getpid()}

    def handlers(self) -> dict[str, Callable[..., dict[str, Any]]]:
        """Command name -> bound method."""
        names: Iterable[str] = (
            "init reopen vectors add_raw add_concurrent add_infer search count stats close ping"
        ).split()
        return {name: getattr(self, name) for name in names}


# --------------------------------------------------------------------------- main loop


def _claim_stdout() -> Any:
    """Keep the real stdout for replies and send everything else written to fd 1 to stderr.

    A stray ``print`` (or C-level write) from mem0 or a dependency would otherwise corrupt the
    JSON-lines stream.
    """
    sys.stdout.flush()
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return proto


def _jsonable(value: Any) -> Any:
    """Fallback for ``json.dumps`` (numpy scalars, datetimes in mem0 results)."""
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def main() -> int:
    """Serve requests until ``close`` or EOF."""
    for key in DROPPED_ENV:
        os.environ.pop(key, None)
    os.environ.update(FORCED_ENV)
    guard = None
    if os.environ.get("BENCH_SOCKET_GUARD") == "1":
        guard = SocketGuard()
        guard.install()
    tally = LogTally()
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.WARNING,
        format="mem0-worker %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger().addHandler(tally)
    proto = _claim_stdout()
    session = Session(guard, tally)
    handlers = session.handlers()

    for line in sys.stdin:
        if not line.strip():
            continue
        req_id = None
        try:
            request = json.loads(line)
            req_id = request.pop("id", None)
            cmd = request.pop("cmd")
            if cmd not in handlers:
                raise WorkerError(f"unknown command {cmd!r}; known: {sorted(handlers)}")
            result = handlers[cmd](**request)
            result["embed"] = session.book.drain() if session.book else None
            result["warnings"] = tally.drain()
            if guard is not None:
                result["blocked_connections"] = guard.drain()
            reply = {"id": req_id, "ok": True, "result": result}
        except Exception as exc:  # every failure becomes a reply; the worker keeps serving
            cmd = None
            reply = {
                "id": req_id,
                "ok": False,
                "error": {
                    "type": type(exc).__name__,
                    "message": str(exc),
                    "traceback": traceback.format_exc(),
                    "warnings": tally.drain(),
                },
            }
        proto.write(json.dumps(reply, default=_jsonable) + "\n")
        proto.flush()
        if cmd == "close":
            break
    return 0


if __name__ == "__main__":
    sys.exit(main())
