"""mnemoweave: long-term memory for LLM agents.

``Memory`` (and ``AsyncMemory``) store facts per user/agent/run in one local directory:
SQLite is the source of truth, FAISS the vector index, and an optional OpenAI-compatible
LLM extracts and reconciles facts. Names follow mem0's API so mem0 code ports by changing
the import.
"""

from __future__ import annotations

from ._version import __version__
from .async_memory import AsyncAddHandle, AsyncMemory
from .config import MemoryConfig
from .errors import (
    AuthenticationError,
    ConfigurationError,
    DimensionMismatchError,
    EmbeddingError,
    ExtractionError,
    FetchRefusedError,
    ImmutableMemoryError,
    LLMError,
    MnemoweaveError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RemoteError,
    SchemaVersionError,
    StorageError,
    ValidationError,
)
from .memory import AddHandle, Memory
from .types import (
    AddEvent,
    AddResult,
    BatchResult,
    Entity,
    EntityList,
    HistoryEntry,
    MemoryItem,
    MemoryList,
    ScopeCount,
    ScopeList,
    SearchResult,
    Usage,
)

__all__ = [
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
