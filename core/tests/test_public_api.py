"""The public facade: a pinned, sorted ``__all__`` and an exception tree rooted in one class."""

from __future__ import annotations

import memweave
from memweave import errors

EXPECTED = [
    "AddEvent",
    "AddHandle",
    "AddResult",
    "AsyncAddHandle",
    "AsyncMemory",
    "BatchResult",
    "ConfigurationError",
    "DimensionMismatchError",
    "EmbeddingError",
    "ExtractionError",
    "HistoryEntry",
    "LLMError",
    "Memory",
    "MemoryConfig",
    "MemoryItem",
    "MemoryList",
    "MemweaveError",
    "NotFoundError",
    "SchemaVersionError",
    "SearchResult",
    "StorageError",
    "Usage",
    "ValidationError",
    "__version__",
]


def test_all_is_pinned_and_sorted() -> None:
    assert memweave.__all__ == EXPECTED
    assert sorted(memweave.__all__) == memweave.__all__
    for name in memweave.__all__:
        assert hasattr(memweave, name)


def test_every_error_derives_from_the_base_and_is_drawn_in_the_docstring() -> None:
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, errors.MemweaveError)
        assert name in (errors.__doc__ or "")
    assert issubclass(errors.ValidationError, ValueError)
    assert issubclass(errors.NotFoundError, LookupError)
    assert issubclass(errors.ExtractionError, errors.LLMError)
    assert issubclass(errors.DimensionMismatchError, errors.EmbeddingError)
    assert issubclass(errors.SchemaVersionError, errors.StorageError)
