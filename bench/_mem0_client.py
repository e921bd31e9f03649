"""Parent side of the mem0 benchmark harness: drive ``bench/_mem0_worker.py`` in mem0's venv.

mem0 (``mem0ai==2.0.18``) lives in its own venv, ``bench/.venvs/mem0``, made by
``bash bench/setup_mem0.sh``, so it never enters mnemoweave's dependencies. This module (standard
library + numpy, runs in mnemoweave's venv) spawns the worker there and exposes its JSON-lines
commands as methods::

    with Mem0Worker() as mem0:
        mem0.init(path=tmp / "mem0", dim=384, llm_base_url=server.base_url)
        mem0.add_raw([{"text": t, "user_id": "u1", "vector": v}])
        hits = mem0.search("tea?", q_vec, user_id="u1", limit=10)["results"]

Every call has a timeout (the worker is killed when it expires, since its state is then
unknown) and every result carries the seconds mem0 itself took, measured inside the worker, so
pipe and JSON overhead stay out of the figures. Vectors are sent as base64 float32 (bit-exact).
See the worker's docstring for the JSON shape of each command and bench/MEM0_NOTES.md for what
mem0 does underneath.
"""

from __future__ import annotations

import base64
import collections
import itertools
import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import numpy as np

__all__ = [
    "DEFAULT_VENV",
    "Mem0Unavailable",
    "Mem0Worker",
    "Mem0WorkerDied",
    "Mem0WorkerError",
    "Mem0WorkerTimeout",
    "mem0_available",
]

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_VENV = BENCH_DIR / ".venvs" / "mem0"
WORKER_SCRIPT = BENCH_DIR / "_mem0_worker.py"
MEM0_DIST = "mem0ai"
MEM0_VERSION = "2.0.18"
SETUP_HINT = "run `bash bench/setup_mem0.sh` to create bench/.venvs/mem0"
#: Variables kept out of the worker's environment: mnemoweave's import paths must not leak
#: into mem0's interpreter, and OpenRouter's key would reroute mem0's LLM calls.
_SCRUBBED_ENV = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "OPENROUTER_API_KEY")
_STDERR_TAIL = 200

Vector = Sequence[float] | np.ndarray


class Mem0Unavailable(RuntimeError):
    """mem0's venv is missing or incomplete; the message says how to create it."""


class Mem0WorkerError(RuntimeError):
    """A command failed inside the worker; carries the remote exception type and traceback."""

    def __init__(self, cmd: str, error: Mapping[str, Any]) -> None:
        self.cmd = cmd
        self.type = str(error.get("type", "Exception"))
        self.remote_message = str(error.get("message", ""))
        self.remote_traceback = str(error.get("traceback", ""))
        self.warnings = dict(error.get("warnings") or {})
        super().__init__(f"mem0 worker {cmd!r} failed: {self.type}: {self.remote_message}")


class Mem0WorkerTimeout(TimeoutError):
    """A command exceeded its timeout; the worker was killed."""


class Mem0WorkerDied(RuntimeError):
    """The worker exited unexpectedly; the message ends with its last stderr lines."""


def _venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _mem0_dist_info(venv: Path) -> Path | None:
    """The installed mem0ai dist-info directory in ``venv``, if any (no interpreter start)."""
    for site in sorted(venv.glob("lib/python3*/site-packages")):
        found = sorted(site.glob(f"{MEM0_DIST}-*.dist-info"))
        if found:
            return found[-1]
    return None


def mem0_available(venv: Path | str = DEFAULT_VENV) -> bool:
    """True when ``venv`` has a Python with ``mem0ai==2.0.18`` installed (cheap file check)."""
    venv = Path(venv)
    info = _mem0_dist_info(venv)
    return (
        _venv_python(venv).exists()
        and info is not None
        and info.name == f"{MEM0_DIST}-{MEM0_VERSION}.dist-info"
    )


def encode_vector(vector: Vector) -> dict[str, str]:
    """``{"f32": base64}`` of the vector as little-endian float32 (what the worker decodes)."""
    arr = np.ascontiguousarray(np.asarray(vector, dtype="<f4").reshape(-1))
    return {"f32": base64.b64encode(arr.tobytes()).decode("ascii")}


def _encode_record(record: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(record)
    out["vector"] = encode_vector(record["vector"])
    return out


class Mem0Worker:
    """A mem0 worker process in ``bench/.venvs/mem0``, driven over JSON lines.

    Args:
        venv: the mem0 venv (default ``bench/.venvs/mem0``).
        timeout: default seconds per call; ``None`` waits forever. Each method also takes
            ``timeout=``. On expiry the worker is killed and :class:`Mem0WorkerTimeout` raised.
        socket_guard: run the worker with ``BENCH_SOCKET_GUARD=1`` (refuse and report any
            non-loopback connection or DNS lookup); ``None`` inherits the variable.
        stderr_path: also append the worker's stderr (mem0's logs) to this file.
        env: extra environment for the worker.

    Methods are safe to call from several threads (calls to one worker are serialised); to
    run two mem0 processes at once, use two workers.
    """

    def __init__(
        self,
        venv: Path | str = DEFAULT_VENV,
        *,
        timeout: float | None = 600.0,
        socket_guard: bool | None = None,
        stderr_path: Path | str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.venv = Path(venv)
        self.timeout = timeout
        self.socket_guard = socket_guard
        self.stderr_path = Path(stderr_path) if stderr_path is not None else None
        self.extra_env = dict(env or {})
        self._proc: subprocess.Popen[str] | None = None
        self._replies: queue.Queue[str | None] = queue.Queue()
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=_STDERR_TAIL)
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._threads: list[threading.Thread] = []

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> Mem0Worker:
        """Spawn the worker; raises :class:`Mem0Unavailable` when the venv is not set up."""
        if self._proc is not None:
            raise RuntimeError("Mem0Worker already started")
        if not mem0_available(self.venv):
            raise Mem0Unavailable(f"mem0ai=={MEM0_VERSION} not found in {self.venv}: {SETUP_HINT}")
        env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
        env["MEM0_TELEMETRY"] = "false"
        if self.socket_guard is not None:
            env["BENCH_SOCKET_GUARD"] = "1" if self.socket_guard else "0"
        env.update(self.extra_env)
        # -I: isolated mode, so neither PYTHON* variables, user site-packages nor bench/
        # (the script's directory) reach mem0's interpreter.
        self._proc = subprocess.Popen(
            [str(_venv_python(self.venv)), "-I", str(WORKER_SCRIPT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            bufsize=1,
            env=env,
        )
        assert self._proc.stdout is not None
        assert self._proc.stderr is not None
        for target, stream in (
            (self._read_replies, self._proc.stdout),
            (self._read_stderr, self._proc.stderr),
        ):
            thread = threading.Thread(target=target, args=(stream,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __enter__(self) -> Mem0Worker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self, timeout: float = 30.0) -> None:
        """Send ``close`` if the worker is alive, then make sure the process is gone."""
        proc = self._proc
        if proc is None:
            return
        try:
            if proc.poll() is None:
                self.call("close", timeout=timeout)
        except (Mem0WorkerError, Mem0WorkerDied, Mem0WorkerTimeout, OSError):
            pass
        finally:
            self._kill()

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass

    @property
    def pid(self) -> int | None:
        """The worker's process id while it runs."""
        return self._proc.pid if self._proc is not None else None

    @property
    def stderr_tail(self) -> list[str]:
        """The worker's last stderr lines (mem0's log output)."""
        return list(self._stderr_tail)

    def _read_replies(self, stream: IO[str]) -> None:
        for line in stream:
            self._replies.put(line)
        self._replies.put(None)

    def _read_stderr(self, stream: IO[str]) -> None:
        sink = self.stderr_path.open("a", encoding="utf-8") if self.stderr_path else None
        try:
            for line in stream:
                self._stderr_tail.append(line.rstrip("\n"))
                if sink is not None:
                    sink.write(line)
                    sink.flush()
        finally:
            if sink is not None:
                sink.close()

    # -- transport ----------------------------------------------------------------------

    def call(self, cmd: str, *, timeout: float | None = None, **args: Any) -> dict[str, Any]:
        """Send one command and return its ``result``; raises on error, timeout or death."""
        wait = self.timeout if timeout is None else timeout
        with self._lock:
            proc = self._proc
            if proc is None or proc.stdin is None:
                raise Mem0WorkerDied("mem0 worker is not running (use `with Mem0Worker()`)")
            req_id = next(self._ids)
            try:
                proc.stdin.write(json.dumps({"id": req_id, "cmd": cmd, **args}) + "\n")
                proc.stdin.flush()
            except (BrokenPipeError, OSError) as exc:
                raise self._died(cmd) from exc
            try:
                line = self._replies.get(timeout=wait)
            except queue.Empty:
                proc.kill()
                self._kill()
                raise Mem0WorkerTimeout(
                    f"mem0 worker {cmd!r} took longer than {wait}s; worker killed"
                ) from None
            if line is None:
                raise self._died(cmd)
        reply = json.loads(line)
        if reply.get("id") != req_id:
            raise Mem0WorkerDied(f"mem0 worker answered request {reply.get('id')}, not {req_id}")
        if not reply.get("ok"):
            raise Mem0WorkerError(cmd, reply.get("error") or {})
        return dict(reply["result"])

    def _died(self, cmd: str) -> Mem0WorkerDied:
        proc = self._proc
        code = proc.poll() if proc is not None else None
        for thread in self._threads:
            thread.join(timeout=1)
        tail = "\n".join(self.stderr_tail[-20:])
        self._kill()
        return Mem0WorkerDied(f"mem0 worker exited (code {code}) during {cmd!r}; stderr:\n{tail}")

    # -- commands -----------------------------------------------------------------------

    def init(
        self,
        path: Path | str,
        dim: int,
        *,
        llm_base_url: str | None = None,
        llm_model: str = "gpt-4o-mini",
        collection: str = "bench",
        distance_strategy: str = "euclidean",
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Open mem0 over ``path`` (FAISS, history.db, HOME and MEM0_DIR all under it).

        One worker serves one ``path`` for its life (mem0 fixes its config dir at import).
        ``distance_strategy`` is mem0's FAISS option: ``euclidean`` (its default, FAISS
        IndexFlatL2, score ``1/(1+d²)``), ``inner_product`` or ``cosine`` (IndexFlatIP).
        Returns ``{open_s, rows, mem0_version, paths}``.
        """
        return self.call(
            "init",
            timeout=timeout,
            path=str(Path(path).resolve()),
            dim=int(dim),
            llm_base_url=llm_base_url,
            llm_model=llm_model,
            collection=collection,
            distance_strategy=distance_strategy,
        )

    def reopen(self, *, timeout: float | None = None) -> dict[str, Any]:
        """Replace the live Memory with a fresh one; ``{open_s, rows}`` (mem0's open time)."""
        return self.call("reopen", timeout=timeout)

    def vectors(self, vectors: Mapping[str, Vector], *, timeout: float | None = None) -> dict:
        """Register ``text -> vector`` for texts mem0 embeds itself (infer pipeline)."""
        wire = {text: encode_vector(vec) for text, vec in vectors.items()}
        return self.call("vectors", timeout=timeout, vectors=wire)

    def add_raw(
        self,
        records: Iterable[Mapping[str, Any]],
        *,
        budget_s: float | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """One ``add(infer=False)`` per record ``{text, user_id, vector, role?, metadata?}``.

        Returns ``{ids, latencies_s, elapsed_s, done, stopped_early}``; with ``budget_s`` the
        worker stops starting new adds once that many seconds have passed.
        """
        wire = [_encode_record(r) for r in records]
        return self.call("add_raw", timeout=timeout, records=wire, budget_s=budget_s)

    def add_concurrent(
        self,
        records: Iterable[Mapping[str, Any]],
        *,
        threads: int = 4,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """The same adds from ``threads`` threads on one Memory; ``{ids, errors, elapsed_s}``."""
        wire = [_encode_record(r) for r in records]
        return self.call("add_concurrent", timeout=timeout, records=wire, threads=int(threads))

    def search(
        self,
        query: str,
        vector: Vector,
        user_id: str,
        *,
        limit: int = 10,
        threshold: float | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """``Memory.search`` in ``user_id``'s scope; ``{results: [{id, memory, score,
        user_id}], elapsed_s}``. ``threshold=None`` keeps mem0's default (0.1)."""
        return self.call(
            "search",
            timeout=timeout,
            query=query,
            vector=encode_vector(vector),
            user_id=user_id,
            limit=int(limit),
            threshold=threshold,
        )

    def add_infer(
        self,
        messages: str | Sequence[Mapping[str, Any]],
        user_id: str,
        *,
        timestamp: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        vectors: Mapping[str, Vector] | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """``add(messages, infer=True)`` against the configured LLM server.

        ``vectors`` maps texts mem0 will embed during this call (the transcript, the facts the
        scripted reply extracts) to their vectors. Returns ``{result, elapsed_s, llm: {calls,
        prompt_tokens, completion_tokens, requests}, timestamp_ignored}``; mem0's OSS ``add``
        rejects ``timestamp=``, so it is never passed on (``timestamp_ignored`` says so).
        """
        wire = {t: encode_vector(v) for t, v in (vectors or {}).items()}
        return self.call(
            "add_infer",
            timeout=timeout,
            messages=messages if isinstance(messages, str) else [dict(m) for m in messages],
            user_id=user_id,
            timestamp=timestamp,
            metadata=dict(metadata) if metadata is not None else None,
            vectors=wire,
        )

    def count(self, user_id: str | None = None, *, timeout: float | None = None) -> dict:
        """What a fresh Memory over the same path sees: ``{rows, index_ntotal,
        history_adds, open_s}`` (``rows`` restricted to ``user_id`` when given)."""
        return self.call("count", timeout=timeout, user_id=user_id)

    def stats(self, *, timeout: float | None = None) -> dict[str, Any]:
        """Totals since start: embedder hits/misses, warnings, blocked connections."""
        return self.call("stats", timeout=timeout)

    def ping(self, *, timeout: float | None = None) -> dict[str, Any]:
        """``{pong, protocol, pid}``."""
        return self.call("ping", timeout=timeout)


if __name__ == "__main__":  # `python bench/_mem0_client.py`: is the mem0 side usable here?
    ok = mem0_available()
    print(f"mem0 venv {DEFAULT_VENV}: {'ready' if ok else 'missing; ' + SETUP_HINT}")
    sys.exit(0 if ok else 1)
