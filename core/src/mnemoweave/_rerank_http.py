"""``{"provider": "endpoint", ...}``: any ``/rerank`` endpoint of the Cohere/Jina/vLLM shape.

The request is ``{"model", "query", "documents", "top_n"}`` and the answer
``{"results": [{"index", "relevance_score"}, ...]}`` (a bare list and ``score`` are read
too, as text-embeddings-inference answers). 429, 5xx and connection failures are retried
``max_retries`` times with exponential backoff (``Retry-After`` honoured, capped); then, or
on any other error status or a malformed answer, a ``RerankError`` names the URL and cause.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

import httpx

from ._env import env
from .errors import ConfigurationError, RerankError

__all__ = ["EndpointReranker"]

_OPTIONS = {"url", "model", "api_key", "timeout", "max_retries", "max_chars", "headers"}
_RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})
_BACKOFF = 0.25  # seconds before the first retry; doubled each time
_MAX_WAIT = 10.0  # the longest Retry-After honoured


def _rerank_url(url: str) -> str:
    """``url`` itself when it names the route, else ``url`` + ``/rerank``."""
    clean = url.rstrip("/")
    return clean if clean.endswith("/rerank") else f"{clean}/rerank"


class EndpointReranker:
    """Posts the candidates to a ``/rerank`` endpoint and reads back one score per text."""

    provider = "endpoint"

    def __init__(
        self,
        url: str,
        model: str,
        *,
        api_key: str | None = None,
        timeout: float = 30.0,
        max_retries: int = 2,
        max_chars: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.url = _rerank_url(url)
        self.model = model
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_chars = max_chars
        self._headers = {"Accept": "application/json", **dict(headers or {})}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._lock = threading.Lock()
        self._client: httpx.Client | None = None

    def __repr__(self) -> str:
        return f"EndpointReranker(url={self.url!r}, model={self.model!r})"

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> EndpointReranker:
        unknown = sorted(set(options) - _OPTIONS)
        if unknown:
            raise ConfigurationError(
                f"unknown reranker option(s) {unknown} for provider 'endpoint'; "
                f"accepted: {sorted(_OPTIONS)}"
            )
        url, model = options.get("url"), options.get("model")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"reranker 'endpoint' needs url='http(s)://host/.../rerank', got {url!r}"
            )
        if not isinstance(model, str) or not model.strip():
            raise ConfigurationError(f"reranker 'endpoint' needs a model name, got {model!r}")
        timeout = options.get("timeout", 30.0)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise ConfigurationError(f"reranker timeout must be a positive number, got {timeout!r}")
        retries = options.get("max_retries", 2)
        if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 10:
            raise ConfigurationError(f"reranker max_retries must be 0-10, got {retries!r}")
        max_chars = options.get("max_chars")
        if max_chars is not None and (
            isinstance(max_chars, bool) or not isinstance(max_chars, int) or max_chars < 1
        ):
            raise ConfigurationError(
                f"reranker max_chars must be a positive integer, got {max_chars!r}"
            )
        headers = options.get("headers")
        if headers is not None and not (
            isinstance(headers, Mapping)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items())
        ):
            raise ConfigurationError("reranker headers must be a dict of strings")
        key = options.get("api_key") or env("RERANK_API_KEY")
        if key is not None and not isinstance(key, str):
            raise ConfigurationError("reranker api_key must be a string")
        return cls(
            url,
            model,
            api_key=key,
            timeout=float(timeout),
            max_retries=retries,
            max_chars=max_chars,
            headers=headers,
        )

    def _http(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(timeout=self.timeout, headers=self._headers)
            return self._client

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    def score(self, query: str, texts: list[str]) -> list[float]:
        if not texts:
            return []
        cap = self.max_chars
        documents = [t if cap is None or len(t) <= cap else t[:cap] for t in texts]
        body = {"model": self.model, "query": query, "documents": documents, "top_n": len(texts)}
        response = self._post(body)
        try:
            data = response.json()
        except ValueError as exc:
            raise RerankError(
                f"the rerank endpoint {self.url} answered with no JSON",
                provider="endpoint",
                raw=response.text[:500],
            ) from exc
        return self._scores(data, len(texts))

    def _post(self, body: dict[str, Any]) -> httpx.Response:
        attempt = 0
        while True:
            wait = _BACKOFF * (2**attempt)
            try:
                response = self._http().post(self.url, json=body)
            except httpx.HTTPError as exc:
                if attempt >= self.max_retries:
                    raise RerankError(
                        f"the rerank endpoint {self.url} could not be reached after "
                        f"{attempt + 1} attempt(s): {type(exc).__name__}: {exc}",
                        provider="endpoint",
                    ) from exc
            else:
                if response.status_code < 400:
                    return response
                if response.status_code not in _RETRY_STATUS or attempt >= self.max_retries:
                    raise RerankError(
                        f"the rerank endpoint {self.url} (model {self.model!r}) answered HTTP "
                        f"{response.status_code} after {attempt + 1} attempt(s): "
                        f"{response.text[:300]}",
                        provider="endpoint",
                        raw=response.text[:2000],
                    )
                wait = _retry_after(response, wait)
            attempt += 1
            time.sleep(wait)

    def _scores(self, data: Any, count: int) -> list[float]:
        results = data.get("results") if isinstance(data, Mapping) else data
        if not isinstance(results, list):
            raise RerankError(
                f"the rerank endpoint {self.url} answered without a 'results' list",
                provider="endpoint",
                raw=data,
            )
        scores: list[float | None] = [None] * count
        for entry in results:
            index = entry.get("index") if isinstance(entry, Mapping) else None
            value = None
            if isinstance(entry, Mapping):
                value = entry.get("relevance_score", entry.get("score"))
            if (
                isinstance(index, bool)
                or not isinstance(index, int)
                or not 0 <= index < count
                or isinstance(value, bool)
                or not isinstance(value, int | float)
            ):
                raise RerankError(
                    f"the rerank endpoint {self.url} answered a result without a valid index "
                    f"and relevance_score: {str(entry)[:200]}",
                    provider="endpoint",
                    raw=data,
                )
            scores[index] = float(value)
        missing = [i for i, s in enumerate(scores) if s is None]
        if missing:
            raise RerankError(
                f"the rerank endpoint {self.url} scored {count - len(missing)} of {count} "
                "documents (top_n was the document count)",
                provider="endpoint",
                raw=data,
            )
        return [float(s) for s in scores if s is not None]


def _retry_after(response: httpx.Response, default: float) -> float:
    value = response.headers.get("retry-after")
    try:
        seconds = float(value) if value is not None else default
    except ValueError:
        return default
    return min(max(seconds, 0.0), _MAX_WAIT)
