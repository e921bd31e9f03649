"""The ``openai`` embedder: any OpenAI-compatible ``/embeddings`` endpoint.

OpenAI itself, Ollama, vLLM, LM Studio, llama.cpp and friends all speak the same request, so
one class covers them through the official SDK (2.x or 3.x). The SDK does the retrying (429,
5xx, timeouts, honouring ``Retry-After``) within ``max_retries``; what still fails becomes an
:class:`~mnemoweave.errors.EmbeddingError` naming the endpoint and model. The vector size is
taken from configuration or discovered from the first response, and every later response is
checked against it.
"""

from __future__ import annotations

import asyncio
import os
import threading
import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import ConfigurationError, DimensionMismatchError, EmbeddingError, ValidationError
from ._base import check_positive_int, check_texts

DEFAULT_MODEL = "text-embedding-3-small"
_OPENAI_URL = "https://api.openai.com/v1"
_PROBE_TEXT = "mnemoweave dimension probe"


class OpenAIEmbedder:
    """Embeds through an OpenAI-compatible ``/embeddings`` endpoint, in batches.

    ``base_url`` and ``api_key`` default to ``$OPENAI_BASE_URL`` / ``$OPENAI_API_KEY`` (read at
    construction, never at import); local servers need no key. ``dim`` (alias ``dims``,
    mem0's ``embedding_dims``) states the expected vector size; without it the size is
    discovered from the first response, and reading :attr:`dim` before any embedding costs one
    small probe request. ``send_dimensions=True`` also asks the endpoint for that size
    (OpenAI's ``text-embedding-3`` models can shorten vectors; most local servers cannot).
    ``batch_size`` inputs go in one request; ``timeout`` (seconds per attempt) and
    ``max_retries`` configure the SDK. Empty strings, which OpenAI rejects, are sent as " ".
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        dim: int | None = None,
        dims: int | None = None,
        embedding_dims: int | None = None,
        openai_base_url: str | None = None,
        send_dimensions: bool = False,
        batch_size: int = 128,
        timeout: float = 30.0,
        max_retries: int = 3,
        default_headers: dict[str, str] | None = None,
    ) -> None:
        from mnemoweave.llm import LOCAL_API_KEY, is_local_url

        if not isinstance(model, str) or not model:
            raise ValidationError("model must be a non-empty string")
        given = {"dim": dim, "dims": dims, "embedding_dims": embedding_dims}
        sizes = {v for v in given.values() if v is not None}
        if len(sizes) > 1:
            raise ConfigurationError(f"conflicting vector sizes configured: {given}")
        self._configured_dim = check_positive_int("dim", sizes.pop()) if sizes else None
        if send_dimensions and self._configured_dim is None:
            raise ConfigurationError("send_dimensions=True needs dim (the size to ask for)")
        self._batch_size = check_positive_int("batch_size", batch_size)
        check_positive_int("max_retries", max_retries, minimum=0)
        if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0:
            raise ValidationError(f"timeout must be a positive number of seconds, got {timeout!r}")
        self._model = model
        self._send_dimensions = bool(send_dimensions)
        self._timeout = float(timeout)
        self._max_retries = max_retries
        self._base_url = base_url or openai_base_url or os.environ.get("OPENAI_BASE_URL") or None
        self.endpoint = f"{(self._base_url or _OPENAI_URL).rstrip('/')}/embeddings"
        key = api_key or os.environ.get("OPENAI_API_KEY") or None
        if key is None:
            if not is_local_url(self._base_url):
                raise ConfigurationError(
                    f"no API key for the embeddings endpoint {self.endpoint}: set OPENAI_API_KEY "
                    "or pass api_key in the embedder config (local servers need no key)"
                )
            key = LOCAL_API_KEY
        self._client_options: dict[str, Any] = {
            "base_url": self._base_url,
            "api_key": key,
            "timeout": self._timeout,
            "max_retries": max_retries,
        }
        if default_headers:
            self._client_options["default_headers"] = dict(default_headers)
        self._dim = self._configured_dim
        self._dim_lock = threading.Lock()
        self._client: Any = None
        self._client_lock = threading.Lock()
        self._async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = (
            weakref.WeakKeyDictionary()
        )

    def __repr__(self) -> str:
        return (
            f"OpenAIEmbedder(model={self._model!r}, endpoint={self.endpoint!r}, "
            f"dim={self._dim}, batch_size={self._batch_size})"
        )

    @property
    def model_id(self) -> str:
        """The model name, plus the requested size when ``send_dimensions`` shortens vectors."""
        if self._send_dimensions:
            return f"{self._model}@{self._configured_dim}"
        return self._model

    @property
    def dim(self) -> int:
        """The vector size: configured, discovered, or found with one probe request now."""
        if self._dim is None:
            return int(self.embed([_PROBE_TEXT]).shape[1])
        return self._dim

    @property
    def batch_size(self) -> int:
        return self._batch_size

    def _sync_client(self) -> Any:
        with self._client_lock:
            if self._client is None:
                from openai import OpenAI

                self._client = OpenAI(**self._client_options)
            return self._client

    def _async_client(self) -> Any:
        """One ``AsyncOpenAI`` per event loop: its connection pool must not cross loops."""
        loop = asyncio.get_running_loop()
        client = self._async_clients.get(loop)
        if client is None:
            from openai import AsyncOpenAI

            client = AsyncOpenAI(**self._client_options)
            self._async_clients[loop] = client
        return client

    def _request_kwargs(self, batch: list[str]) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "model": self._model,
            "input": [text if text else " " for text in batch],
            "encoding_format": "float",
        }
        if self._send_dimensions:
            kwargs["dimensions"] = self._configured_dim
        return kwargs

    def _failure(self, exc: Exception) -> EmbeddingError:
        """An ``EmbeddingError`` saying which endpoint failed, how, and what to check."""
        import openai

        where = f"embedding request to {self.endpoint} (model {self._model!r}) failed"
        if isinstance(exc, openai.APITimeoutError):
            cause = (
                f"timed out after {self._timeout:g}s per attempt (max_retries={self._max_retries})"
            )
        elif isinstance(exc, openai.APIConnectionError):
            cause = f"could not connect (max_retries={self._max_retries}): {exc}"
        elif isinstance(exc, openai.APIStatusError):
            body = exc.body if isinstance(exc.body, dict) else {}
            message = body.get("message") if isinstance(body.get("message"), str) else exc.message
            cause = f"HTTP {exc.status_code}: {message}"
            if isinstance(exc, openai.AuthenticationError):
                cause += "; check OPENAI_API_KEY / the api_key in the embedder config"
            elif isinstance(exc, openai.NotFoundError):
                cause += "; check the model name and that base_url ends in /v1"
            elif exc.status_code == 429 or exc.status_code >= 500:
                cause += f" (still failing after max_retries={self._max_retries})"
        else:
            cause = f"the response is not a valid embeddings list ({type(exc).__name__}: {exc})"
        return EmbeddingError(f"{where}: {cause}")

    def _vectors(self, response: Any, n: int) -> np.ndarray:
        """Turn an SDK response into ``[n, dim]`` float32, checking count, order and size."""
        try:
            data = list(response.data)
            if len(data) != n:
                raise ValueError(f"{len(data)} embeddings for {n} inputs")
            data.sort(key=lambda item: item.index if item.index is not None else 0)
            vectors = np.asarray([item.embedding for item in data], dtype=np.float32)
        except (AttributeError, TypeError, ValueError) as exc:
            raise self._failure(exc) from exc
        if vectors.ndim != 2 or vectors.shape[1] == 0:
            raise self._failure(ValueError(f"embeddings have shape {vectors.shape}"))
        got = int(vectors.shape[1])
        with self._dim_lock:
            if self._dim is None:
                self._dim = got
            expected = self._dim
        if got != expected:
            how = "configured" if self._configured_dim is not None else "returned earlier"
            raise DimensionMismatchError(
                f"{self.endpoint} (model {self._model!r}) returned {got}-d vectors, but "
                f"{expected}-d were {how}; fix dim in the embedder config or the model name",
                expected=expected,
                got=got,
            )
        return vectors

    def _batches(self, texts: list[str]) -> list[list[str]]:
        size = self._batch_size
        return [texts[i : i + size] for i in range(0, len(texts), size)]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Raw vectors ``[len(texts), dim]``, one request per ``batch_size`` texts."""
        import openai

        items = check_texts(texts)
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        client = self._sync_client()
        parts = []
        for batch in self._batches(items):
            try:
                response = client.embeddings.create(**self._request_kwargs(batch))
            except (openai.OpenAIError, ValueError) as exc:
                raise self._failure(exc) from exc
            parts.append(self._vectors(response, len(batch)))
        return np.concatenate(parts)

    async def aembed(self, texts: Sequence[str]) -> np.ndarray:
        """Async twin of :meth:`embed` (``AsyncOpenAI``, one client per event loop)."""
        import openai

        items = check_texts(texts)
        if not items:
            if self._dim is None:
                await self.aembed([_PROBE_TEXT])
            return np.zeros((0, self.dim), dtype=np.float32)
        client = self._async_client()
        parts = []
        for batch in self._batches(items):
            try:
                response = await client.embeddings.create(**self._request_kwargs(batch))
            except (openai.OpenAIError, ValueError) as exc:
                raise self._failure(exc) from exc
            parts.append(self._vectors(response, len(batch)))
        return np.concatenate(parts)

    def close(self) -> None:
        """Close the sync HTTP client (async clients close with their event loop)."""
        with self._client_lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()
