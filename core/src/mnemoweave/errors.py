"""The one exception tree of mnemoweave.

Every error mnemoweave raises on purpose derives from :class:`MnemoweaveError`, so callers
can catch everything with one clause or pick the branch they care about::

    MnemoweaveError
    ├── ValidationError            bad input: wrong type, empty query, unknown filter operator
    │   └── ImmutableMemoryError   update() of a memory added with immutable=True, without force
    ├── ConfigurationError         the store or client is set up wrong (missing LLM, bad config key)
    ├── NotFoundError              a memory id that does not exist in this store
    ├── StorageError               SQLite / index trouble that is not the caller's input
    │   └── SchemaVersionError     the store was written by a newer mnemoweave
    ├── EmbeddingError             the embedder failed or is missing its model
    │   └── DimensionMismatchError vectors of a different size than the store holds
    └── LLMError                   the LLM endpoint failed after retries (5xx, timeout)
        └── ExtractionError        the LLM answered, but not with usable memory operations

``ValidationError`` is also a ``ValueError`` and ``NotFoundError`` a ``LookupError`` so code
written against the built-in exceptions keeps working.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ConfigurationError",
    "DimensionMismatchError",
    "EmbeddingError",
    "ExtractionError",
    "ImmutableMemoryError",
    "LLMError",
    "MnemoweaveError",
    "NotFoundError",
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
