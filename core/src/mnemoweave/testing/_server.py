"""``ScriptedOpenAIServer``: a real OpenAI-compatible HTTP server on 127.0.0.1 for tests.

It answers ``POST /v1/chat/completions`` from a script (a queue of replies and faults, or a
handler function; ``stream=true`` as server-sent chunks), ``POST /v1/embeddings`` with
deterministic hash vectors, ``POST /rerank`` (Cohere/Jina/vLLM shape, scripted scores) and
``GET /v1/models``, and records every request with
deterministic token counts. Because it is real HTTP, the official ``openai`` SDK (sync and
async, 2.x and 3.x) runs unmodified against it, retries, timeouts and all.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import numpy as np

from mnemoweave.embed._hashing import HashEmbedder

from ._faults import Fault
from ._protocol import chat_completion, embedding_list, error_body, model_list
from ._records import RecordedRequest, Route
from ._replies import ChatReply, Reply, reply_content
from ._rerank_route import RerankHandler, RerankRoute, RerankScript, rerank_tokens
from ._streaming import chunk_events, pieces, write_stream
from ._tokens import count_prompt_tokens, count_tokens

if TYPE_CHECKING:
    from openai import AsyncOpenAI, OpenAI

__all__ = ["ChatHandler", "EmbeddingHandler", "ScriptedOpenAIServer"]

ChatHandler = Callable[[RecordedRequest], Reply | None]
"""Answers a chat request: a reply or fault, or ``None`` to fall back to the queued script."""

EmbeddingHandler = Callable[[RecordedRequest], "Fault | Sequence[Sequence[float]] | None"]
"""Answers an embeddings request: a fault, explicit vectors, or ``None`` for the default."""

_SECRET_HEADERS = frozenset({"authorization", "api-key", "x-api-key", "proxy-authorization"})
_LOUD = (("x-should-retry", "false"),)  # test-setup errors: make the SDK raise at once
_REPLY_TYPES = (str, dict, list, ChatReply, Fault)


class _Answer:
    """A decided response: an HTTP status with a body, or a fault that is not one."""

    __slots__ = ("body", "content_type", "fault", "headers", "status", "stream")

    def __init__(
        self,
        status: int = 200,
        body: Any = None,
        *,
        headers: Sequence[tuple[str, str]] = (),
        fault: Fault | None = None,
        content_type: str = "application/json",
        stream: tuple[Any, ChatReply] | None = None,
    ) -> None:
        self.stream = stream
        self.status = status
        self.body = body
        self.headers = tuple(headers)
        self.fault = fault
        self.content_type = content_type


def _error(
    status: int,
    message: str,
    error_type: str = "invalid_request_error",
    *,
    param: str | None = None,
    code: str | None = None,
    headers: Sequence[tuple[str, str]] = (),
) -> _Answer:
    return _Answer(status, error_body(message, error_type, code=code, param=param), headers=headers)


def _from_fault(fault: Fault) -> _Answer:
    if fault.kind == "error":
        body = error_body(fault.message, fault.error_type, code=fault.code, param=fault.param)
        return _Answer(fault.status, body, headers=fault.headers, fault=fault)
    if fault.kind == "malformed":
        return _Answer(fault.status, fault.body, fault=fault, content_type=fault.content_type)
    return _Answer(0, fault=fault)  # hang / disconnect: no HTTP response at all


def _route(method: str, path: str) -> tuple[Route, str]:
    """Map a request path (with or without the ``/v1`` prefix) to a route and its tail."""
    clean = path.split("?", 1)[0].rstrip("/")
    if clean.startswith("/openai/deployments/"):  # Azure OpenAI: /openai/deployments/<name>/...
        clean = "/" + clean[len("/openai/deployments/") :].partition("/")[2]
    if clean.startswith("/v1/") or clean == "/v1":
        clean = clean[3:]
    if method == "POST" and clean == "/chat/completions":
        return "chat", ""
    if method == "POST" and clean == "/embeddings":
        return "embeddings", ""
    if method == "POST" and clean in ("/rerank", "/v2/rerank"):
        return "rerank", ""
    if method == "GET" and (clean == "/models" or clean.startswith("/models/")):
        return "models", clean[len("/models/") :] if clean != "/models" else ""
    return "unknown", ""


def _embedding_text(item: Any) -> tuple[str, int]:
    """The text to hash for one embeddings input item, and its token count."""
    if isinstance(item, str):
        return item, count_tokens(item)
    if isinstance(item, list) and all(isinstance(x, int) for x in item):
        return " ".join(map(str, item)), len(item)
    raise ValueError("each embeddings input must be a string or a list of token ids")


class _HTTPServer(ThreadingHTTPServer):
    """The stdlib server, quiet, tracking open connections so ``stop`` can end them."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, owner: ScriptedOpenAIServer, host: str) -> None:
        self.owner = owner
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__((host, 0), _RequestHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Swallow per-connection errors (clients hanging up mid-reply are expected here)."""

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the stdlib's per-request stderr logging."""

    def do_GET(self) -> None:
        self.server.owner._serve(self, "GET")

    def do_POST(self) -> None:
        self.server.owner._serve(self, "POST")


class ScriptedOpenAIServer(RerankRoute):
    """An OpenAI-compatible server on ``127.0.0.1`` answering from a script, for tests.

    Use it as a context manager and point any OpenAI client at :attr:`base_url`::

        with ScriptedOpenAIServer() as server:
            server.script(Fault.rate_limit(retry_after=0.01), {"facts": ["likes tea"]})
            client = OpenAI(base_url=server.base_url, api_key="test")
            reply = client.chat.completions.create(model="m", messages=[...])
            assert len(server.chat_requests) == 2      # the SDK retried the 429

    Chat requests are answered by :attr:`handler` when it is set and returns non-``None``,
    else by the next entry of the script (:meth:`script`, :meth:`enqueue`). An entry is a
    string (the assistant content), a dict or list (its JSON as content), a
    :class:`ChatReply`, or a :class:`Fault` (an error, a hang, a dropped connection or a
    malformed body for that one request). When neither answers, the server replies HTTP 500
    "the script ran out" with ``x-should-retry: false`` so the SDK raises at once. The same
    loud 500 answers a handler that raises, a reply of the wrong type, and (with
    ``validate_json=True``) non-JSON content for a request that asked for JSON.
    ``stream=true`` gets the reply as ``chat.completion.chunk`` events (faults stay plain
    HTTP errors, as with OpenAI), with a usage chunk when ``stream_options.include_usage``.

    Embeddings requests get deterministic :class:`~mnemoweave.embed.HashEmbedder` vectors of
    ``embedding_dim`` (or the request's ``dimensions``), as floats or base64 per
    ``encoding_format``; see :meth:`enqueue_embedding_fault` and :attr:`embedding_handler`
    to make them fail.

    ``POST /rerank`` (also ``/v1/rerank``, ``/v2/rerank``) answers ``{"results": [{"index",
    "relevance_score"}]}``, best first and cut to ``top_n``, with scores from
    :attr:`rerank_handler`, else :meth:`script_rerank`'s queue, else the share of the
    query's words each document contains; :attr:`rerank_requests` records them.

    Every request is recorded (:attr:`requests`) with tokens counted by
    :func:`mnemoweave.testing.count_tokens`'s rule; the ``usage`` in responses uses the same
    counts. All methods are thread-safe.
    """

    def __init__(
        self,
        *,
        handler: ChatHandler | None = None,
        embedding_handler: EmbeddingHandler | None = None,
        rerank_handler: RerankHandler | None = None,
        embedding_dim: int = 384,
        models: Sequence[str] = ("scripted-model",),
        validate_json: bool = False,
        host: str = "127.0.0.1",
    ) -> None:
        HashEmbedder(embedding_dim)  # validate the dimension now, not on the first request
        self.handler: ChatHandler | None = handler
        self.embedding_handler: EmbeddingHandler | None = embedding_handler
        self.rerank_handler: RerankHandler | None = rerank_handler
        self._rerank_script: deque[RerankScript] = deque()
        self.embedding_dim = embedding_dim
        self.models = tuple(models)
        self.validate_json = validate_json
        self._host = host
        self._lock = threading.Lock()
        self._chat_script: deque[Reply] = deque()
        self._embedding_faults: deque[Fault] = deque()
        self._records: dict[int, RecordedRequest] = {}
        self._next_index = 0
        self._problems: list[str] = []
        self._embedders: dict[int, HashEmbedder] = {}
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> ScriptedOpenAIServer:
        """Bind a free port and serve in a daemon thread; returns ``self``."""
        if self._httpd is not None:
            raise RuntimeError("ScriptedOpenAIServer is already running")
        self._stopping.clear()
        self._httpd = _HTTPServer(self, self._host)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"ScriptedOpenAIServer:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, end hangs and open connections, and free the port (idempotent)."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> ScriptedOpenAIServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The TCP port bound by :meth:`start`."""
        if self._httpd is None:
            raise RuntimeError("ScriptedOpenAIServer is not running; call start() or use `with`")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (no ``/v1``)."""
        return f"http://{self._host}:{self.port}"

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``: what OpenAI clients take as ``base_url``."""
        return f"{self.url}/v1"

    def client(self, **kwargs: Any) -> OpenAI:
        """An ``openai.OpenAI`` client pointed at this server (any ``api_key`` is accepted)."""
        from openai import OpenAI

        kwargs.setdefault("api_key", "sk-scripted")
        return OpenAI(base_url=self.base_url, **kwargs)

    def async_client(self, **kwargs: Any) -> AsyncOpenAI:
        """An ``openai.AsyncOpenAI`` client pointed at this server."""
        from openai import AsyncOpenAI

        kwargs.setdefault("api_key", "sk-scripted")
        return AsyncOpenAI(base_url=self.base_url, **kwargs)

    # -- scripting -------------------------------------------------------------------------

    def script(self, *replies: Reply) -> ScriptedOpenAIServer:
        """Replace the chat script with ``replies`` (answered in order); returns ``self``."""
        _check_replies(replies)
        with self._lock:
            self._chat_script = deque(replies)
        return self

    def enqueue(self, *replies: Reply) -> None:
        """Append ``replies`` to the chat script."""
        _check_replies(replies)
        with self._lock:
            self._chat_script.extend(replies)

    def enqueue_embedding_fault(self, *faults: Fault) -> None:
        """Make the next embeddings requests fail, one fault per request, in order.

        Requests after the queued faults get normal vectors again, so "fail, then succeed"
        tests read naturally::

            server.enqueue_embedding_fault(Fault.rate_limit(retry_after=0.01))
            vectors = my_embedder.embed(["a", "b"])        # retried once, then succeeded
            assert [r.status for r in server.embedding_requests] == [429, 200]

        For conditional failures (say, any batch above 16 inputs) set
        :attr:`embedding_handler` to a function of the :class:`RecordedRequest` returning a
        :class:`Fault`, explicit vectors, or ``None`` for the default vectors.
        """
        for fault in faults:
            if not isinstance(fault, Fault):
                raise TypeError(f"enqueue_embedding_fault takes Fault values, got {fault!r}")
        with self._lock:
            self._embedding_faults.extend(faults)

    @property
    def pending(self) -> int:
        """How many scripted chat replies have not been used yet."""
        with self._lock:
            return len(self._chat_script)

    @property
    def pending_embedding_faults(self) -> int:
        """How many queued embedding faults have not been used yet."""
        with self._lock:
            return len(self._embedding_faults)

    def reset(self) -> None:
        """Forget recorded requests, problems and queued replies/faults (handlers stay)."""
        with self._lock:
            self._chat_script.clear()
            self._embedding_faults.clear()
            self._rerank_script.clear()
            self._records.clear()
            self._problems.clear()

    # -- recordings ------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every answered request in arrival order (a copy)."""
        with self._lock:
            return [self._records[i] for i in sorted(self._records)]

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        """The recorded ``/chat/completions`` requests."""
        return [r for r in self.requests if r.route == "chat"]

    @property
    def embedding_requests(self) -> list[RecordedRequest]:
        """The recorded ``/embeddings`` requests."""
        return [r for r in self.requests if r.route == "embeddings"]

    @property
    def prompt_tokens(self) -> int:
        """Prompt tokens of the chat requests answered with HTTP 200 (what an API would bill)."""
        return sum(r.prompt_tokens for r in self.chat_requests if r.status == 200)

    @property
    def completion_tokens(self) -> int:
        """Completion tokens of the chat requests answered with HTTP 200."""
        return sum(r.completion_tokens for r in self.chat_requests if r.status == 200)

    @property
    def embedding_tokens(self) -> int:
        """Input tokens of the embeddings requests answered with HTTP 200."""
        return sum(r.prompt_tokens for r in self.embedding_requests if r.status == 200)

    @property
    def problems(self) -> list[str]:
        """Descriptions of the loud 500s sent so far (script ran out, handler raised, ...)."""
        with self._lock:
            return list(self._problems)

    def expected_embeddings(
        self, texts: Sequence[str], dimensions: int | None = None
    ) -> np.ndarray:
        """The float32 vectors this server returns for ``texts`` (rows are unit length)."""
        return self._embedder(dimensions or self.embedding_dim).embed(list(texts))

    # -- serving ---------------------------------------------------------------------------

    def _embedder(self, dim: int) -> HashEmbedder:
        with self._lock:
            embedder = self._embedders.get(dim)
            if embedder is None:
                embedder = self._embedders[dim] = HashEmbedder(dim)
            return embedder

    def _loud(self, index: int, message: str) -> _Answer:
        """An HTTP 500 for a mistake in the test's script, recorded in :attr:`problems`."""
        text = f"ScriptedOpenAIServer: {message}"
        with self._lock:
            self._problems.append(f"request #{index}: {message}")
        return _error(500, text, "server_error", code="scripted_server_problem", headers=_LOUD)

    def _serve(self, http: _RequestHandler, method: str) -> None:
        started = time.perf_counter()
        length = int(http.headers.get("Content-Length") or 0)
        raw = http.rfile.read(length) if length > 0 else b""
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = None
        route, tail = _route(method, http.path)
        headers = {
            k.lower(): v for k, v in http.headers.items() if k.lower() not in _SECRET_HEADERS
        }
        prompt_tokens = 0
        if route == "chat" and isinstance(body, dict) and isinstance(body.get("messages"), list):
            prompt_tokens = count_prompt_tokens(body["messages"])
        elif route == "embeddings" and isinstance(body, dict):
            try:
                prompt_tokens = sum(_embedding_text(x)[1] for x in _inputs_of(body))
            except ValueError:
                prompt_tokens = 0
        elif route == "rerank":
            prompt_tokens = rerank_tokens(body)
        with self._lock:
            index = self._next_index
            self._next_index += 1
        record = RecordedRequest(
            index=index,
            method=method,
            path=http.path,
            route=route,
            headers=headers,
            credential_headers=tuple(
                sorted(k.lower() for k in http.headers if k.lower() in _SECRET_HEADERS)
            ),
            body=body,
            prompt_tokens=prompt_tokens,
        )
        if route == "chat":
            answer, completion_tokens, reply = self._answer_chat(record)
        elif route == "embeddings":
            answer, completion_tokens, reply = self._answer_embeddings(record), 0, None
        elif route == "models":
            answer, completion_tokens, reply = self._answer_models(tail), 0, None
        elif route == "rerank":
            answer, completion_tokens, reply = self._rerank_answer(record), 0, None
        else:
            answer = _error(
                404, f"ScriptedOpenAIServer has no route {method} {http.path}", code="not_found"
            )
            completion_tokens, reply = 0, None
        final = replace(
            record,
            status=answer.status or None,
            completion_tokens=completion_tokens if answer.status == 200 else 0,
            reply=reply if answer.fault is None else answer.fault,
        )
        with self._lock:
            self._records[index] = final
        try:
            self._respond(http, answer, index)
        finally:
            elapsed = time.perf_counter() - started
            with self._lock:
                self._records[index] = replace(self._records[index], server_seconds=elapsed)

    def _answer_chat(self, record: RecordedRequest) -> tuple[_Answer, int, Any]:
        body = record.body
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return _error(400, "'messages' is a required property", param="messages"), 0, None
        reply: Any = None
        handler = self.handler
        if handler is not None:
            try:
                reply = handler(record)
            except Exception as exc:
                return self._loud(record.index, f"the chat handler raised {exc!r}"), 0, None
        if reply is None:
            with self._lock:
                reply = self._chat_script.popleft() if self._chat_script else None
        if reply is None:
            message = (
                f"the script ran out: chat request #{record.index} (model {record.model!r}) "
                "arrived but no scripted reply is left and no handler answered it; "
                "add replies with server.script(...) / server.enqueue(...) or set server.handler"
            )
            return self._loud(record.index, message), 0, None
        if isinstance(reply, Fault):
            return _from_fault(reply), 0, reply
        try:
            chat = reply_content(reply)
        except TypeError as exc:
            return self._loud(record.index, str(exc)), 0, None
        if self.validate_json and record.wants_json and not _is_json(chat.content):
            message = (
                f"request #{record.index} asked for {record.response_format_type} but the "
                f"scripted reply is not JSON: {chat.content[:200]!r}"
            )
            return self._loud(record.index, message), 0, None
        completion_tokens = count_tokens(chat.content)
        payload = chat_completion(
            index=record.index,
            model=record.model or self.models[0],
            content=chat.content,
            finish_reason=chat.finish_reason,
            prompt_tokens=record.prompt_tokens,
            completion_tokens=completion_tokens,
        )
        if body.get("stream"):
            options = body.get("stream_options")
            wants_usage = isinstance(options, dict) and bool(options.get("include_usage"))
            events = chunk_events(
                index=record.index,
                model=payload["model"],
                parts=pieces(chat.content, chat.chunks),
                finish_reason=chat.finish_reason,
                usage=payload["usage"] if wants_usage else None,
            )
            return _Answer(200, stream=(events, chat)), completion_tokens, chat.content
        return _Answer(200, payload), completion_tokens, chat.content

    def _answer_embeddings(self, record: RecordedRequest) -> _Answer:
        body = record.body
        if not isinstance(body, dict) or "input" not in body:
            return _error(400, "'input' is a required property", param="input")
        try:
            pairs = [_embedding_text(x) for x in _inputs_of(body)]
        except ValueError as exc:
            return _error(400, str(exc), param="input")
        if not pairs:
            return _error(400, "'input' must not be empty", param="input")
        encoding = body.get("encoding_format") or "float"
        if encoding not in ("float", "base64"):
            return _error(
                400, "encoding_format must be 'float' or 'base64'", param="encoding_format"
            )
        dim = body.get("dimensions") or self.embedding_dim
        if not isinstance(dim, int) or dim < 8:
            return _error(400, "dimensions must be an integer >= 8", param="dimensions")
        outcome: Any = None
        handler = self.embedding_handler
        if handler is not None:
            try:
                outcome = handler(record)
            except Exception as exc:
                return self._loud(record.index, f"the embedding handler raised {exc!r}")
        if outcome is None:
            with self._lock:
                outcome = self._embedding_faults.popleft() if self._embedding_faults else None
        if isinstance(outcome, Fault):
            return _from_fault(outcome)
        if outcome is None:
            vectors = self._embedder(dim).embed([text for text, _ in pairs])
        else:
            vectors = np.asarray(outcome, dtype=np.float32)
            if vectors.ndim != 2 or vectors.shape[0] != len(pairs):
                message = (
                    f"the embedding handler returned shape {vectors.shape} for {len(pairs)} inputs"
                )
                return self._loud(record.index, message)
        payload = embedding_list(
            vectors,
            model=record.model or self.models[0],
            encoding_format=encoding,
            prompt_tokens=record.prompt_tokens,
        )
        return _Answer(200, payload)

    def _rerank_answer(self, record: RecordedRequest) -> _Answer:
        outcome = self._answer_rerank(record)
        if isinstance(outcome, Fault):
            return _from_fault(outcome)
        if isinstance(outcome, str):
            return self._loud(record.index, outcome)
        return _Answer(*outcome)

    def _answer_models(self, model_id: str) -> _Answer:
        listing = model_list(self.models)
        if not model_id:
            return _Answer(200, listing)
        for entry in listing["data"]:
            if entry["id"] == model_id:
                return _Answer(200, entry)
        return _error(
            404, f"The model {model_id!r} does not exist", param="model", code="model_not_found"
        )

    def _respond(self, http: _RequestHandler, answer: _Answer, index: int) -> None:
        fault = answer.fault
        if fault is not None and fault.kind in ("hang", "disconnect"):
            if fault.kind == "hang":
                self._stopping.wait(fault.seconds)
            http.close_connection = True
            return
        if answer.stream is not None:
            self._respond_stream(http, answer.stream, index)
            return
        if isinstance(answer.body, str):
            data = answer.body.encode("utf-8")
        else:
            data = json.dumps(answer.body, ensure_ascii=False).encode("utf-8")
        try:
            http.send_response(answer.status)
            http.send_header("Content-Type", answer.content_type)
            http.send_header("Content-Length", str(len(data)))
            http.send_header("x-request-id", f"req_scripted_{index}")
            for name, value in answer.headers:
                http.send_header(name, value)
            http.end_headers()
            http.wfile.write(data)
            http.wfile.flush()
        except OSError:
            http.close_connection = True  # the client gave up (timeout) before the answer

    def _respond_stream(
        self, http: _RequestHandler, stream: tuple[Any, ChatReply], index: int
    ) -> None:
        events, chat = stream
        try:
            http.send_response(200)
            http.send_header("Content-Type", "text/event-stream; charset=utf-8")
            http.send_header("Cache-Control", "no-cache")
            http.send_header("Transfer-Encoding", "chunked")
            http.send_header("x-request-id", f"req_scripted_{index}")
            http.end_headers()
            write_stream(http.wfile, events, after_chunk=chat.after_chunk)
        except OSError:
            http.close_connection = True  # the client hung up mid-stream


def _inputs_of(body: dict[str, Any]) -> list[Any]:
    """The embeddings ``input`` as a list of items (the same view as ``RecordedRequest.inputs``)."""
    return RecordedRequest(0, "POST", "", "embeddings", body=body).inputs


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _check_replies(replies: Sequence[Any]) -> None:
    for reply in replies:
        if not isinstance(reply, _REPLY_TYPES):
            raise TypeError(
                "a scripted reply must be a str, dict, list, ChatReply or Fault; "
                f"got {type(reply).__name__}"
            )
