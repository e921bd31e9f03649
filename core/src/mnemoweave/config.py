"""Configuration of a mnemoweave store, including the translation of mem0-style config dicts."""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic import ValidationError as PydanticValidationError

from ._env import default_home
from ._validate import data_path
from .errors import ConfigurationError


class MemoryConfig(BaseModel):
    """Everything ``Memory`` can be told; every field has an offline-safe default.

    ``embedder`` and ``llm`` accept what :func:`mnemoweave.embed.get_embedder` and
    :meth:`mnemoweave.llm.LLMConfig.from_any` accept (a name, a config dict, or a ready object).
    """

    # Strict: a bool is not a count and "0.5" is not a weight; a wrong type is named, not coerced.
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, strict=True)

    path: str | None = None
    #: Where memories live: ``"sqlite"`` (the default: SQLite + FAISS under ``path``), a
    #: ``postgresql://`` URL (PostgreSQL + pgvector, ``pip install 'mnemoweave[postgres]'``)
    #: or a ready :class:`mnemoweave.backends.Backend` object. Unset, and with no ``path``,
    #: ``$MNEMOWEAVE_BACKEND`` decides.
    backend: Any = None
    embedder: Any = None
    llm: Any = None
    #: Extra guidance appended to the extraction prompt (what to remember, what to skip).
    custom_instructions: str | None = None
    #: Replaces the whole extraction system prompt (see ``mnemoweave.llm.prompts``).
    extraction_prompt: str | None = None
    #: Existing memories of the scope shown to the LLM when reconciling (top by relevance).
    reconcile_limit: int = Field(default=10, ge=0, le=200)
    #: Longest LLM reply the pipeline parses; a longer one is an ``ExtractionError`` at once.
    max_reply_chars: int = Field(default=200_000, ge=1_000, le=50_000_000)
    #: Weight of keyword (BM25) relevance in the fused score; the rest is dense similarity.
    keyword_weight: float = Field(default=0.5, ge=0.0, le=1.0)
    #: How dense and keyword relevance combine: ``"noisy_or"`` (either can carry a match, so a
    #: cosine-0.8 memory passes ``threshold=0.7``) or ``"weighted_sum"`` (the scores of
    #: mnemoweave 0.2; keep it if your thresholds were tuned on them). See docs/search.md.
    fusion: Literal["noisy_or", "weighted_sum"] = "noisy_or"
    #: First-stage ranking: ``"standard"`` (dense + BM25, 50/50) or ``"context"``, which adds
    #: the measured levers of docs/search.md (a row read with the previous one, tuned BM25, a
    #: dense path, time and neighbour boosts, keyword feedback). ``as_of`` searches are standard.
    ranking: Literal["standard", "context"] = "standard"
    #: The reranking stage of ``search(rerank=True)``: a callable ``(query, texts) -> scores``,
    #: ``{"provider": "llm"}`` (the configured LLM, one call) or ``{"provider": "endpoint",
    #: "url": ..., "model": ...}`` (a Cohere/Jina/vLLM ``/rerank`` endpoint); see docs/search.md.
    reranker: Any = None
    #: First-stage candidates (best fused scores) the reranker reorders; at least ``limit``.
    rerank_top_k: int = Field(default=50, ge=1, le=1_000)
    #: On a reranker failure, warn and keep the first-stage order instead of raising.
    rerank_fallback: bool = False
    #: Raw messages kept per exact scope (user, agent, run) for chat history and recovery.
    message_window: int = Field(default=200, ge=1, le=100_000)
    #: Contextual add: the exact scope's last raw turns before this add's (from the message
    #: window) shown to the extraction call as context, so "Actually, I don't like it" is
    #: understood; each is cut to 500 characters. 0 turns it off.
    context_turns: int = Field(default=3, ge=0, le=50)
    #: "normal": survives process crashes (WAL, synchronous=NORMAL); "full": also power loss.
    durability: Literal["normal", "full"] = "normal"
    #: Seconds a writer waits for another process's write lock before failing.
    busy_timeout: float = Field(default=30.0, gt=0, le=86_400, allow_inf_nan=False)
    #: Longest text accepted anywhere (a message, a record, an update, a query, a prompt), in
    #: characters; longer input is a ``ValidationError`` instead of minutes of embedding.
    max_text_chars: int = Field(default=100_000, ge=1, le=100_000_000)
    #: Read-your-writes: seconds ``search``/``get_all`` wait for this process's pending
    #: background adds of an overlapping scope (0: never wait). On timeout the read goes on.
    read_your_writes_timeout: float = Field(default=5.0, ge=0, le=3_600, allow_inf_nan=False)

    #: Fetch http(s) document URLs named in messages (off: only data: URIs are read). Even
    #: when on, loopback, private, link-local and reserved addresses are refused.
    allow_fetch: bool = False
    #: Largest fetched or inline document, in bytes.
    max_fetch_bytes: int = Field(default=10_000_000, ge=1, le=1_000_000_000)
    #: Seconds one fetch (with its redirects) may take.
    fetch_timeout: float = Field(default=15.0, gt=0, le=600, allow_inf_nan=False)
    #: Most characters of text one document may yield.
    max_document_chars: int = Field(default=500_000, ge=1, le=100_000_000)
    #: Read local files (paths, ``file://`` URLs) named by image and document parts. Off: a
    #: message (from a user or an agent) could otherwise send any readable file to the LLM.
    allow_files: bool = False
    #: Most extraction calls the documents of one ``infer`` add may take: one per chunk up to
    #: this, else consecutive chunks of a document share a call (reported in ``usage``).
    max_document_calls: int = Field(default=16, ge=1, le=10_000)

    @field_validator("path")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        return data_path(value)

    def data_dir(self) -> Path:
        """The store directory: ``path``, else ``$MNEMOWEAVE_HOME``, else ``~/.mnemoweave``."""
        return Path(self.path).expanduser() if self.path else default_home()


def build_config(**values: Any) -> MemoryConfig:
    """Validate keyword options into a :class:`MemoryConfig`, naming any unknown or bad key."""
    try:
        return MemoryConfig(**values)
    except PydanticValidationError as exc:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "config"
            if err["type"] == "extra_forbidden":
                problems.append(f"unknown option {where!r}")
            else:
                problems.append(f"{where}: {err['msg']}")
        allowed = ", ".join(sorted(MemoryConfig.model_fields))
        raise ConfigurationError(
            "invalid mnemoweave config: " + "; ".join(problems) + f" (options: {allowed})"
        ) from None


_MEM0_KEYS = {
    "llm",
    "embedder",
    "vector_store",
    "history_db_path",
    "version",
    "graph_store",
    "custom_fact_extraction_prompt",
    "custom_update_memory_prompt",
    "custom_instructions",
}


def coerce_config(config: Any) -> MemoryConfig:
    """``Memory(config=...)``: our ``MemoryConfig``, mem0's (``mnemoweave.configs``), or a dict.

    A dict may mix mem0's keys (``llm``, ``vector_store``, ``history_db_path``, ...) with
    mnemoweave's own options; unknown keys are rejected by name.
    """
    if isinstance(config, MemoryConfig):
        return config
    from .configs import MemoryConfig as Mem0Config

    if isinstance(config, Mem0Config):
        return from_mem0_config(config.to_dict())
    if isinstance(config, Mapping):
        return from_mem0_config(config)
    raise ConfigurationError(
        "config must be a dict, a mnemoweave.config.MemoryConfig or a "
        f"mnemoweave.configs.MemoryConfig; got {type(config).__name__}"
    )


_EMBEDDED = ("chroma", "faiss", "qdrant")
_STORE_KEYS = {
    "faiss": {
        "path",
        "collection_name",
        "embedding_model_dims",
        "distance_strategy",
        "normalize_L2",
    },
    "qdrant": {"path", "collection_name", "embedding_model_dims", "on_disk"},
    "chroma": {"path", "collection_name"},
}
_SERVER_KEYS = {"host", "port", "url", "api_key", "client"}
_COLLECTION = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_noticed: set[str] = set()


def _vector_store(store: Any, values: dict[str, Any]) -> None:
    """Read mem0's ``vector_store`` block into ``values`` (path, collection) or refuse it."""
    if not store:
        return
    if not isinstance(store, Mapping):
        raise ConfigurationError("vector_store must be a dict like {'provider': 'faiss', ...}")
    provider = store.get("provider", "faiss")
    if provider == "pgvector":
        from ._pgvector_config import pgvector_backend

        values.setdefault("backend", pgvector_backend(store.get("config") or {}))
        return
    if provider not in _EMBEDDED:
        raise ConfigurationError(
            f"vector_store provider {provider!r} is not supported: mnemoweave keeps its own "
            f"embedded store; use one of {list(_EMBEDDED)} (all map onto it), 'pgvector' (the "
            "PostgreSQL backend) or drop vector_store"
        )
    options = store.get("config") or {}
    if not isinstance(options, Mapping):
        raise ConfigurationError("vector_store.config must be a dict")
    remote = sorted(set(options) & _SERVER_KEYS)
    if remote:
        raise ConfigurationError(
            f"vector_store {provider!r} with {remote}: only the local (on-disk) form maps onto "
            "mnemoweave's embedded store; give path instead of a server"
        )
    extra = sorted(set(options) - _STORE_KEYS[provider])
    if extra:
        raise ConfigurationError(
            f"unknown vector_store.config key(s) {extra} for {provider!r}; "
            f"accepted: {sorted(_STORE_KEYS[provider])}"
        )
    if options.get("distance_strategy", "cosine") not in ("cosine", "inner_product"):
        raise ConfigurationError(
            "mnemoweave scores by cosine similarity; distance_strategy must be 'cosine'"
        )
    if provider != "faiss" and provider not in _noticed:
        _noticed.add(provider)
        warnings.warn(
            f"mnemoweave: vector_store provider {provider!r} maps onto mnemoweave's embedded "
            "SQLite + FAISS store (same data directory, no separate server)",
            UserWarning,
            stacklevel=4,
        )
    if options.get("path") and "path" not in values:
        values["path"] = str(options["path"])
    name = options.get("collection_name")
    if name is not None and name != "mem0":
        if not isinstance(name, str) or not _COLLECTION.fullmatch(name):
            raise ConfigurationError(
                f"vector_store.config.collection_name {name!r}: use 1-64 letters, digits, "
                "'_', '-' or '.', starting with a letter or digit"
            )
        values["_collection"] = name


def from_mem0_config(config: Mapping[str, Any]) -> MemoryConfig:
    """Translate a mem0 config dict (llm / embedder / vector_store / history_db_path).

    mnemoweave keeps everything in one directory: it is taken from ``path`` (mnemoweave's own key),
    else ``vector_store.config.path``, else the folder of ``history_db_path``. A
    ``collection_name`` other than mem0's default ``"mem0"`` is its own store in
    ``<dir>/collections/<name>``, as isolated from the others as two stores are. Keys
    mnemoweave does not know are rejected by name rather than ignored.
    """
    if not isinstance(config, Mapping):
        raise ConfigurationError(f"config must be a dict, got {type(config).__name__}")
    own = set(MemoryConfig.model_fields)
    unknown = sorted(set(config) - _MEM0_KEYS - own)
    if unknown:
        raise ConfigurationError(
            f"unknown config key(s) {unknown}; mnemoweave accepts mem0's "
            f"{sorted(_MEM0_KEYS - {'version'})} and its own {sorted(own)}"
        )
    values: dict[str, Any] = {k: v for k, v in config.items() if k in own}
    if config.get("graph_store"):
        raise ConfigurationError(
            "graph_store is not supported by mnemoweave; remove it (relations are always [])"
        )
    _vector_store(config.get("vector_store"), values)
    history = config.get("history_db_path")
    if history and "path" not in values:
        values["path"] = str(Path(history).expanduser().parent)
    collection = values.pop("_collection", None)
    if collection is not None:
        base = Path(values["path"]).expanduser() if values.get("path") else default_home()
        values["path"] = str(base / "collections" / collection)
    if config.get("custom_fact_extraction_prompt"):
        parts = [values.get("custom_instructions"), config["custom_fact_extraction_prompt"]]
        values["custom_instructions"] = "\n\n".join(p for p in parts if p)
    if config.get("custom_update_memory_prompt"):
        parts = [values.get("custom_instructions"), config["custom_update_memory_prompt"]]
        values["custom_instructions"] = "\n\n".join(p for p in parts if p)
    for key in ("llm", "embedder"):
        if key in config:
            values[key] = config[key]
    return build_config(**values)
