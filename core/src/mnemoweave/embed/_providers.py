"""mem0's embedder provider names, mapped onto the OpenAI-compatible and local embedders.

``ollama``, ``lmstudio``, ``gemini`` and ``together`` are OpenAI-compatible ``/embeddings``
URLs with their own key variables; ``azure_openai`` uses the SDK's Azure client;
``huggingface`` runs a local BERT-family sentence-transformers folder on our numpy runtime
(or calls a text-embeddings-inference server given ``huggingface_base_url``); ``langchain``
wraps any LangChain ``Embeddings`` object. mem0's ``embedding_dims`` and ``dimensions`` both
state the vector size; ``dimensions`` also asks the endpoint for it, as the OpenAI API does.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigurationError, DimensionMismatchError, EmbeddingError
from ._base import check_positive_int, check_texts
from ._local import LocalEmbedder
from ._openai import OpenAIEmbedder

__all__ = [
    "AzureOpenAIEmbedder",
    "LangChainEmbedder",
    "azure_openai_embedder",
    "compatible_embedder",
    "huggingface_embedder",
    "langchain_embedder",
    "openai_embedder",
]

_COMPATIBLE: dict[str, tuple[str, tuple[str, ...], str | None]] = {
    "ollama": ("http://localhost:11434/v1", (), "ollama_base_url"),
    "lmstudio": ("http://localhost:1234/v1", (), "lmstudio_base_url"),
    "gemini": (
        "https://generativelanguage.googleapis.com/v1beta/openai",
        ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
        None,
    ),
    "together": ("https://api.together.xyz/v1", ("TOGETHER_API_KEY",), None),
}
_DEFAULT_MODELS = {
    "ollama": "nomic-embed-text",
    "lmstudio": "nomic-embed-text-v1.5",
    "gemini": "text-embedding-004",
    "together": "togethercomputer/m2-bert-80M-8k-retrieval",
}


def _size(options: dict[str, Any]) -> dict[str, Any]:
    """Fold mem0's ``dimensions`` into ``embedding_dims`` plus ``send_dimensions``."""
    if options.get("dimensions") is not None:
        size = options.pop("dimensions")
        if options.get("embedding_dims") not in (None, size):
            raise ConfigurationError(
                f"conflicting vector sizes: dimensions={size}, "
                f"embedding_dims={options['embedding_dims']}"
            )
        options["embedding_dims"] = size
        options.setdefault("send_dimensions", True)
    else:
        options.pop("dimensions", None)
    return options


def openai_embedder(**options: Any) -> OpenAIEmbedder:
    """The ``openai`` provider: :class:`OpenAIEmbedder`, also taking mem0's ``dimensions``."""
    return OpenAIEmbedder(**_size(options))


def compatible_embedder(provider: str) -> Any:
    """A factory for one OpenAI-compatible vendor: its URL and key, never another's key."""
    default_url, key_env, url_key = _COMPATIBLE[provider]

    def factory(**options: Any) -> OpenAIEmbedder:
        options = _size(options)
        url = options.pop(url_key, None) if url_key else None
        base_url = options.pop("base_url", None) or url or default_url
        if url_key is not None and not base_url.rstrip("/").endswith("/v1"):
            base_url = base_url.rstrip("/") + "/v1"
        key = options.pop("api_key", None) or next(
            (os.environ[k] for k in key_env if os.environ.get(k)), None
        )
        if key is None and key_env:
            raise ConfigurationError(
                f"no API key for the {provider} embedder: set {key_env[0]} or pass api_key"
            )
        options.setdefault("model", _DEFAULT_MODELS[provider])
        return OpenAIEmbedder(base_url=base_url, api_key=key or "not-needed", **options)

    factory.__name__ = f"{provider}_embedder"
    return factory


class AzureOpenAIEmbedder(OpenAIEmbedder):
    """Azure OpenAI embeddings: a deployment, an ``api-version`` and an ``api-key`` header."""

    def __init__(
        self,
        model: str = "text-embedding-3-small",
        *,
        azure_endpoint: str,
        api_version: str,
        api_key: str,
        azure_deployment: str | None = None,
        **options: Any,
    ) -> None:
        super().__init__(model, base_url=azure_endpoint, api_key=api_key, **options)
        self._client_options.pop("base_url", None)
        self._client_options.update(azure_endpoint=azure_endpoint, api_version=api_version)
        if azure_deployment:
            self._client_options["azure_deployment"] = azure_deployment
        self.endpoint = (
            f"{azure_endpoint.rstrip('/')}/openai/deployments/{azure_deployment or model}"
        )

    def _sync_client(self) -> Any:
        with self._client_lock:
            if self._client is None:
                from openai import AzureOpenAI

                self._client = AzureOpenAI(**self._client_options)
            return self._client

    def _async_client(self) -> Any:
        loop = asyncio.get_running_loop()
        client = self._async_clients.get(loop)
        if client is None:
            from openai import AsyncAzureOpenAI

            client = self._async_clients[loop] = AsyncAzureOpenAI(**self._client_options)
        return client


def azure_openai_embedder(**options: Any) -> AzureOpenAIEmbedder:
    """The ``azure_openai`` provider, from mem0's ``azure_kwargs`` or the usual env vars."""
    options = _size(options)
    azure = dict(options.pop("azure_kwargs", None) or {})
    env = os.environ.get
    values = {
        "azure_endpoint": azure.pop("azure_endpoint", None)
        or env("EMBEDDING_AZURE_ENDPOINT")
        or env("AZURE_OPENAI_ENDPOINT"),
        "api_version": azure.pop("api_version", None)
        or env("EMBEDDING_AZURE_API_VERSION")
        or env("OPENAI_API_VERSION"),
        "api_key": azure.pop("api_key", None)
        or options.pop("api_key", None)
        or env("EMBEDDING_AZURE_OPENAI_API_KEY")
        or env("AZURE_OPENAI_API_KEY"),
        "azure_deployment": azure.pop("azure_deployment", None)
        or env("EMBEDDING_AZURE_DEPLOYMENT"),
    }
    headers = azure.pop("default_headers", None)
    if azure:
        raise ConfigurationError(f"unknown azure_kwargs key(s) {sorted(azure)}")
    missing = [k for k in ("azure_endpoint", "api_version", "api_key") if not values[k]]
    if missing:
        raise ConfigurationError(
            f"azure_openai embedder needs azure_kwargs {missing} (or $AZURE_OPENAI_ENDPOINT, "
            "$OPENAI_API_VERSION, $AZURE_OPENAI_API_KEY)"
        )
    if headers:
        options["default_headers"] = dict(headers)
    return AzureOpenAIEmbedder(**values, **options)


def huggingface_embedder(
    model: str | os.PathLike[str] | None = None,
    *,
    embedding_dims: int | None = None,
    dimensions: int | None = None,
    huggingface_base_url: str | None = None,
    model_kwargs: Mapping[str, Any] | None = None,
    api_key: str | None = None,
    **options: Any,
) -> Any:
    """The ``huggingface`` provider: a local sentence-transformers folder, run on numpy.

    ``model`` is the folder (config.json, model.safetensors, tokenizer.json) of a BERT-family
    model, or the name all-MiniLM-L6-v2 (our default weights). ``huggingface_base_url`` points
    at a text-embeddings-inference server instead, through its OpenAI-compatible route.
    """
    size = dimensions if dimensions is not None else embedding_dims
    if huggingface_base_url:
        return OpenAIEmbedder(
            str(model or "tei"),
            base_url=huggingface_base_url.rstrip("/") + "/v1"
            if not huggingface_base_url.rstrip("/").endswith("/v1")
            else huggingface_base_url,
            api_key=api_key or "not-needed",
            embedding_dims=size,
            **options,
        )
    if model_kwargs:
        unknown = sorted(set(model_kwargs) - {"device"})
        if unknown or model_kwargs.get("device", "cpu") != "cpu":
            raise ConfigurationError(
                "huggingface model_kwargs: only device='cpu' is supported (numpy runtime)"
            )
    if model is not None and Path(model).expanduser().is_dir():
        folder = Path(model).expanduser()
        return LocalEmbedder(model_path=folder, model_id=folder.name, dim=size, **options)
    if model is None or str(model).lower().split("/")[-1] == "all-minilm-l6-v2":
        return LocalEmbedder(dim=size, **options)
    raise ConfigurationError(
        f"huggingface embedder: {str(model)!r} is not a folder; mnemoweave runs BERT-family "
        "sentence-transformers models from a local folder (config.json, model.safetensors, "
        "tokenizer.json) and does not download at run time: pass config.model as that path"
    )


class LangChainEmbedder:
    """Any LangChain ``Embeddings`` object as an embedder (mem0's ``langchain`` provider)."""

    def __init__(self, model: Any, *, embedding_dims: int | None = None) -> None:
        if not (hasattr(model, "embed_documents") and hasattr(model, "embed_query")):
            raise ConfigurationError(
                "embedder provider 'langchain' needs config.model to be a LangChain Embeddings "
                f"object (embed_documents/embed_query), got {type(model).__name__}"
            )
        self.model = model
        self._dim = check_positive_int("embedding_dims", embedding_dims) if embedding_dims else None
        self._lock = threading.Lock()
        name = next(
            (v for a in ("model", "model_name") if isinstance(v := getattr(model, a, None), str)),
            None,
        )
        self._model_id = f"langchain:{name or type(model).__name__}"

    def __repr__(self) -> str:
        return f"LangChainEmbedder({type(self.model).__name__}, dim={self._dim})"

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dim(self) -> int:
        """The configured size, or the size of one probe embedding."""
        if self._dim is None:
            return int(self.embed(["mnemoweave dimension probe"]).shape[1])
        return self._dim

    def _checked(self, raw: Any, n: int) -> np.ndarray:
        try:
            vectors = np.asarray(raw, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise EmbeddingError(f"{self._model_id} returned non-numeric vectors: {exc}") from exc
        if vectors.ndim != 2 or vectors.shape[0] != n or vectors.shape[1] == 0:
            raise EmbeddingError(f"{self._model_id} returned shape {vectors.shape} for {n} texts")
        with self._lock:
            if self._dim is None:
                self._dim = int(vectors.shape[1])
        if vectors.shape[1] != self._dim:
            raise DimensionMismatchError(
                f"{self._model_id} returned {vectors.shape[1]}-d vectors, expected {self._dim}",
                expected=self._dim,
                got=int(vectors.shape[1]),
            )
        return vectors

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        items = check_texts(texts)
        try:
            raw = self.model.embed_documents(items)
        except Exception as exc:
            raise EmbeddingError(f"{self._model_id} failed: {exc}") from exc
        return self._checked(raw, len(items))

    async def aembed(self, texts: Sequence[str]) -> np.ndarray:
        items = check_texts(texts)
        try:
            raw = await self.model.aembed_documents(items)
        except Exception as exc:
            raise EmbeddingError(f"{self._model_id} failed: {exc}") from exc
        return self._checked(raw, len(items))


def langchain_embedder(
    model: Any = None, *, embedding_dims: int | None = None, dimensions: int | None = None
) -> LangChainEmbedder:
    """The ``langchain`` provider: ``config.model`` is the ``Embeddings`` object."""
    return LangChainEmbedder(
        model, embedding_dims=dimensions if dimensions is not None else embedding_dims
    )
