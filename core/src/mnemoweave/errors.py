"""The one exception tree of mnemoweave.

Every error mnemoweave raises on purpose derives from :class:`MnemoweaveError`, so callers
can catch everything with one clause or pick the branch they care about::

    MnemoweaveError
    ├── ValidationError            bad input: wrong type, empty query, unknown filter operator
    │   ├── ImmutableMemoryError   update() of a memory added with immutable=True, without force
    │   └── FetchRefusedError      a URL not fetched: non-http(s), or a non-public address (SSRF)
    ├── ConfigurationError         the store or client is set up wrong (missing LLM, bad config key)
    ├── NotFoundError              a memory id that does not exist in this store
    ├── StorageError               SQLite / index trouble that is not the caller's input
    │   └── SchemaVersionError     the store was written by a newer mnemoweave
    ├── EmbeddingError             the embedder failed or is missing its model
    │   └── DimensionMismatchError vectors of a different size than the store holds
    ├── LLMError                   the LLM endpoint failed after retries (5xx, timeout)
    │   ├── ExtractionError        the LLM answered, but not with usable memory operations
    │   ├── LLMAuthenticationError 401/403 from the LLM provider: missing, wrong or revoked key
    │   ├── LLMRateLimitError      429 from the LLM provider, still failing after the retries
    │   └── RerankError            the reranker failed: its endpoint, its reply, or the callable
    └── RemoteError                a memory server failed or could not be reached
        ├── AuthenticationError    401: no API key, or an unknown or revoked one
        ├── PermissionDeniedError  403: the key may not touch that scope or operation
        └── RateLimitError         429: too many requests for this key; retry later

The LLM provider's key and quota errors are named ``LLM...`` because ``AuthenticationError``
and ``RateLimitError`` already mean the memory server's answers (``mnemoweave.remote``):
one name, one meaning, and ``except LLMError`` still catches every provider failure.

``ValidationError`` is also a ``ValueError`` and ``NotFoundError`` a ``LookupError`` so code
written against the built-in exceptions keeps working. The memory server answers with the
same classes (by name, in its JSON error body), and ``mnemoweave.remote`` raises them again.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AuthenticationError",
    "ConfigurationError",
    "DimensionMismatchError",
    "EmbeddingError",
    "ExtractionError",
    "FetchRefusedError",
    "ImmutableMemoryError",
    "LLMAuthenticationError",
    "LLMError",
    "LLMRateLimitError",
    "MnemoweaveError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RemoteError",
    "RerankError",
    "SchemaVersionError",
    "StorageError",
    "ValidationError",
]


class MnemoweaveError(Exception):
    """Base class of every error mnemoweave raises deliberately."""


class ValidationError(MnemoweaveError, ValueError):
    """An argument has the wrong type or value; the message names it and what is allowed."""


class ImmutableMemoryError(ValidationError):
    """The memory was added with ``immutable=True``; ``update(..., force=True)`` changes it."""

    def __init__(self, message: str, *, memory_id: str | None = None) -> None:
        super().__init__(message)
        self.memory_id = memory_id


class FetchRefusedError(ValidationError):
    """A URL in the messages was not fetched: not http(s), or it reaches a non-public address."""


class ConfigurationError(MnemoweaveError):
    """mnemoweave is configured in a way that cannot work (the message says what to set)."""


class NotFoundError(MnemoweaveError, LookupError):
    """A memory id does not exist in this store (or was erased)."""

    def __init__(self, message: str, *, memory_id: str | None = None) -> None:
        super().__init__(message)
        self.memory_id = memory_id


class StorageError(MnemoweaveError):
    """The SQLite store or the vector index failed in a way that is not bad input."""


class SchemaVersionError(StorageError):
    """The store's schema is newer than this mnemoweave understands: upgrade mnemoweave."""


class EmbeddingError(MnemoweaveError):
    """Text could not be embedded (model missing, endpoint failing, bad output)."""


class DimensionMismatchError(EmbeddingError):
    """The embedder's vectors differ in size (or model) from those the store already holds."""

    def __init__(
        self, message: str, *, expected: int | None = None, got: int | None = None
    ) -> None:
        super().__init__(message)
        self.expected = expected
        self.got = got


class LLMError(MnemoweaveError):
    """The LLM endpoint could not be reached or kept failing after the configured retries."""


class ExtractionError(LLMError):
    """The LLM replied, but not with valid memory operations, even after one repair retry.

    ``raw`` holds the model's last reply so callers can log or inspect it.
    """

    def __init__(self, message: str, *, raw: Any = None) -> None:
        super().__init__(message)
        self.raw = raw


class LLMAuthenticationError(LLMError):
    """The LLM provider refused the key (401/403); the message names the env var to set.

    ``provider`` is the configured provider name and ``status`` the HTTP status.
    """

    def __init__(self, message: str, *, provider: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.provider = provider
        self.status = status


class LLMRateLimitError(LLMError):
    """The LLM provider kept answering 429 after the configured retries.

    ``retry_after`` is the provider's ``Retry-After`` in seconds, when it sent one.
    """

    def __init__(
        self, message: str, *, provider: str = "", retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.provider = provider
        self.retry_after = retry_after


class RerankError(LLMError):
    """The reranking stage of ``search(rerank=True)`` failed and no fallback is configured.

    Raised for a ``/rerank`` endpoint that fails or answers in the wrong shape, an LLM reply
    with no usable scores, or a reranker callable that raises or returns the wrong scores.
    ``provider`` is ``"callable"``, ``"llm"`` or ``"endpoint"``; ``raw`` holds the reply that
    could not be used, when there was one; the original exception is the ``__cause__``.
    """

    def __init__(self, message: str, *, provider: str = "", raw: Any = None) -> None:
        super().__init__(message)
        self.provider = provider
        self.raw = raw


class RemoteError(MnemoweaveError):
    """A memory server answered with an error that is not the caller's input, or was unreachable.

    ``status`` is the HTTP status (``None`` when no answer arrived).
    """

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AuthenticationError(RemoteError):
    """The request carried no API key, or one the server does not know (or has revoked)."""


class PermissionDeniedError(RemoteError):
    """The API key is valid but may not touch this scope, write, or use admin operations."""


class RateLimitError(RemoteError):
    """The API key sent too many requests; ``retry_after`` says how many seconds to wait."""

    def __init__(
        self, message: str, *, status: int | None = 429, retry_after: float | None = None
    ) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after
