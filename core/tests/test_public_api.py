"""The public facade: a pinned, sorted ``__all__`` and an exception tree rooted in one class."""

from __future__ import annotations

import subprocess
import sys

import mnemoweave
from mnemoweave import errors

EXPECTED = [
    "AddEvent",
    "AddHandle",
    "AddResult",
    "AsyncAddHandle",
    "AsyncMemory",
    "AuthenticationError",
    "BatchResult",
    "ConfigurationError",
    "DimensionMismatchError",
    "EmbeddingError",
    "Entity",
    "EntityList",
    "ExtractionError",
    "FetchRefusedError",
    "HistoryEntry",
    "ImmutableMemoryError",
    "LLMError",
    "Memory",
    "MemoryConfig",
    "MemoryItem",
    "MemoryList",
    "MnemoweaveError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RemoteError",
    "SchemaVersionError",
    "ScopeCount",
    "ScopeList",
    "SearchResult",
    "StorageError",
    "Usage",
    "ValidationError",
    "__version__",
]


def test_all_is_pinned_and_sorted() -> None:
    assert mnemoweave.__all__ == EXPECTED
    assert sorted(mnemoweave.__all__) == mnemoweave.__all__
    for name in mnemoweave.__all__:
        assert hasattr(mnemoweave, name)


def test_every_error_derives_from_the_base_and_is_drawn_in_the_docstring() -> None:
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, errors.MnemoweaveError)
        assert name in (errors.__doc__ or "")
    assert issubclass(errors.ValidationError, ValueError)
    assert issubclass(errors.NotFoundError, LookupError)
    assert issubclass(errors.ExtractionError, errors.LLMError)
    assert issubclass(errors.RerankError, errors.LLMError)
    assert issubclass(errors.DimensionMismatchError, errors.EmbeddingError)
    assert issubclass(errors.SchemaVersionError, errors.StorageError)
    for name in ("AuthenticationError", "PermissionDeniedError", "RateLimitError"):
        assert issubclass(getattr(errors, name), errors.RemoteError)


TESTING_EXPECTED = [
    "BackendContractTests",
    "ChatHandler",
    "ChatReply",
    "EmbeddingHandler",
    "Fault",
    "HashEmbedder",
    "NetworkGuard",
    "RecordedRequest",
    "Reply",
    "ScriptedOpenAIServer",
    "WriteGate",
    "allow_fetch_from",
    "count_prompt_tokens",
    "count_tokens",
    "fenced",
    "operations",
    "postgres_store_url",
    "prose_wrapped",
    "shared_postgres_url",
    "with_think",
]


def test_testing_all_is_pinned_and_sorted() -> None:
    import mnemoweave.testing as testing

    assert testing.__all__ == TESTING_EXPECTED
    assert sorted(testing.__all__) == testing.__all__
    for name in testing.__all__:
        assert hasattr(testing, name)


def test_importing_testing_needs_neither_pytest_nor_hypothesis() -> None:
    """``BackendContractTests`` is imported on first use, so plain users never need pytest."""
    code = (
        "import sys, mnemoweave.testing; "
        "print(sorted(m for m in ('pytest', 'hypothesis') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
