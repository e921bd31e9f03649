"""mem0's config classes with mem0's field names, so ported setup code runs unchanged.

``Memory(config=MemoryConfig(llm=LlmConfig(provider="groq", config={...})))`` and
``Memory(config={...the same as a dict...})`` both work: the object is turned into mem0's dict
shape and read by :func:`mnemoweave.config.from_mem0_config`. Only fields the caller set are
passed on, so ``MemoryConfig()`` keeps mnemoweave's offline defaults (local embedder, no LLM)
instead of mem0's OpenAI ones. Unknown fields are rejected by name, as everywhere else.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "EmbedderConfig",
    "GraphStoreConfig",
    "LlmConfig",
    "MemoryConfig",
    "VectorStoreConfig",
]


class _Block(BaseModel):
    """A mem0 ``{"provider": ..., "config": {...}}`` block."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    provider: str
    config: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """mem0's dict shape of this block."""
        return {"provider": self.provider, "config": dict(self.config or {})}


class LlmConfig(_Block):
    """Which LLM provider and its options (``model``, ``api_key``, ``temperature``, ...)."""

    provider: str = "openai"


class EmbedderConfig(_Block):
    """Which embedder provider and its options (``model``, ``embedding_dims``, ...)."""

    provider: str = "openai"


class VectorStoreConfig(_Block):
    """mem0's vector store block; faiss/qdrant/chroma map onto mnemoweave's embedded store."""

    provider: str = "faiss"


class GraphStoreConfig(_Block):
    """mem0's graph store block (``neo4j``, ...), with its optional own ``llm``."""

    provider: str = "neo4j"
    llm: LlmConfig | None = None
    custom_prompt: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        if self.llm is not None:
            out["llm"] = self.llm.to_dict()
        if self.custom_prompt is not None:
            out["custom_prompt"] = self.custom_prompt
        return out


class MemoryConfig(BaseModel):
    """mem0's top-level ``MemoryConfig``: pass it as ``Memory(config=...)``."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    vector_store: VectorStoreConfig = Field(default_factory=VectorStoreConfig)
    llm: LlmConfig = Field(default_factory=LlmConfig)
    embedder: EmbedderConfig = Field(default_factory=EmbedderConfig)
    history_db_path: str | None = None
    graph_store: GraphStoreConfig | None = None
    version: str = "v1.1"
    custom_fact_extraction_prompt: str | None = None
    custom_update_memory_prompt: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """mem0's config dict of the fields that were set (defaults left to mnemoweave)."""
        out: dict[str, Any] = {}
        for name in sorted(self.model_fields_set):
            value = getattr(self, name)
            out[name] = value.to_dict() if isinstance(value, _Block) else value
        return out
