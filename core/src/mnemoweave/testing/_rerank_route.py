"""The scripted server's ``POST /rerank`` route (Cohere/Jina/vLLM shape), as a mixin.

A request ``{"model", "query", "documents", "top_n"?, "return_documents"?}`` is answered
``{"id", "model", "results": [{"index", "relevance_score"}], "usage"}``, best first and cut to
``top_n``, as real rerank servers do. Scores come from :attr:`rerank_handler`, else the next
scripted entry (:meth:`script_rerank`), else a deterministic default: the share of the
query's words found in the document.
"""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ._faults import Fault
from ._records import RecordedRequest
from ._tokens import count_tokens

__all__ = ["RerankHandler", "RerankRoute", "RerankScript", "overlap_scores"]

RerankScript = Sequence[float] | Fault
"""One scripted rerank answer: a score per document (in document order), or a fault."""

RerankHandler = Callable[[RecordedRequest], "RerankScript | None"]
"""Answers a rerank request: scores or a fault, or ``None`` to fall back to the script."""

_WORD = re.compile(r"\w+")


def overlap_scores(query: str, documents: Sequence[str]) -> list[float]:
    """The default scores: the share of the query's distinct words found in each document."""
    wanted = set(_WORD.findall(query.lower()))
    if not wanted:
        return [0.0 for _ in documents]
    return [len(wanted & set(_WORD.findall(d.lower()))) / len(wanted) for d in documents]


def document_text(item: Any) -> str | None:
    """A document as text: a string, or Cohere v1's ``{"text": ...}``."""
    if isinstance(item, str):
        return item
    if isinstance(item, Mapping) and isinstance(item.get("text"), str):
        return str(item["text"])
    return None


def rerank_tokens(body: Any) -> int:
    """Tokens of a rerank request's query and documents (the rule of ``count_tokens``)."""
    if not isinstance(body, dict):
        return 0
    texts = [body.get("query"), *(body.get("documents") or [])]
    return sum(count_tokens(t) for t in (document_text(x) for x in texts) if t is not None)


class RerankRoute:
    """``ScriptedOpenAIServer``'s rerank scripting, recordings and answers."""

    _lock: threading.Lock
    _rerank_script: deque[RerankScript]
    rerank_handler: RerankHandler | None

    @property
    def requests(self) -> list[RecordedRequest]:  # provided by the server
        raise NotImplementedError

    def script_rerank(self, *answers: RerankScript) -> None:
        """Queue rerank answers, one per request: scores in document order, or a ``Fault``.

        Requests beyond the queue get the default word-overlap scores::

            server.script_rerank([0.1, 0.9], Fault.server_error())
        """
        for answer in answers:
            if not isinstance(answer, Fault) and (
                isinstance(answer, str | bytes) or not isinstance(answer, Sequence)
            ):
                raise TypeError(
                    f"a scripted rerank answer is a list of scores or a Fault: {answer!r}"
                )
        with self._lock:
            self._rerank_script.extend(answers)

    @property
    def rerank_requests(self) -> list[RecordedRequest]:
        """The recorded ``/rerank`` requests (their ``body`` holds query and documents)."""
        return [r for r in self.requests if r.route == "rerank"]

    def _answer_rerank(self, record: RecordedRequest) -> tuple[int, Any] | Fault | str:
        """``(status, body)`` for one rerank request, a fault to play, or a test-setup problem."""
        from ._protocol import error_body

        body = record.body
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return 400, error_body("'query' must be a string", "invalid_request_error")
        raw_docs = body.get("documents")
        docs = [document_text(d) for d in raw_docs] if isinstance(raw_docs, list) else []
        if not docs or any(d is None for d in docs):
            message = "'documents' must be a non-empty list of strings"
            return 400, error_body(message, "invalid_request_error")
        texts = [d for d in docs if d is not None]
        top_n = body.get("top_n", len(texts))
        if isinstance(top_n, bool) or not isinstance(top_n, int) or top_n < 1:
            return 400, error_body("'top_n' must be a positive integer", "invalid_request_error")
        answer: Any = None
        handler = self.rerank_handler
        if handler is not None:
            try:
                answer = handler(record)
            except Exception as exc:
                return f"the rerank handler raised {exc!r}"
        if answer is None:
            with self._lock:
                answer = self._rerank_script.popleft() if self._rerank_script else None
        if isinstance(answer, Fault):
            return answer
        scores = overlap_scores(body["query"], texts) if answer is None else list(answer)
        if len(scores) != len(texts):
            return f"{len(scores)} scripted rerank scores for {len(texts)} documents"
        order = sorted(range(len(texts)), key=lambda i: -float(scores[i]))[:top_n]
        results: list[dict[str, Any]] = []
        for i in order:
            entry: dict[str, Any] = {"index": i, "relevance_score": float(scores[i])}
            if body.get("return_documents"):
                entry["document"] = {"text": texts[i]}
            results.append(entry)
        payload = {
            "id": f"rerank-scripted-{record.index}",
            "model": record.model or "scripted-reranker",
            "results": results,
            "usage": {"total_tokens": record.prompt_tokens},
        }
        return 200, payload
