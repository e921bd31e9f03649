"""The embedder protocol, the provider registry, and output validation shared by all providers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..errors import ConfigurationError, DimensionMismatchError, EmbeddingError, ValidationError


@runtime_checkable
class Embedder(Protocol):
    """Anything that turns texts into fixed-size float vectors.

    ``embed`` returns a float32 array of shape ``[len(texts), dim]``; mnemoweave L2-normalises
    the rows itself, so providers may return raw vectors. ``model_id`` names the model so a
    store can refuse vectors from a different one.
    """

    @property
    def model_id(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


@runtime_checkable
class AsyncEmbedder(Protocol):
    """An embedder that also offers a native coroutine (``aembed``) for event-loop callers."""

    async def aembed(self, texts: Sequence[str]) -> np.ndarray: ...


EmbedderFactory = Callable[..., Embedder]
_REGISTRY: dict[str, EmbedderFactory] = {}


def register_embedder(name: str, factory: EmbedderFactory) -> None:
    """Register ``factory(**config)`` under ``name`` so configs can say ``{"provider": name}``."""
    if not name or not isinstance(name, str):
        raise ValidationError("embedder provider name must be a non-empty string")
    _REGISTRY[name] = factory


def available_embedders() -> list[str]:
    """Names of the registered embedder providers, sorted."""
    return sorted(_REGISTRY)


def get_embedder(spec: str | Mapping[str, Any] | Embedder | None = None) -> Embedder:
    """Return a ready embedder from a provider name, a config dict, or an embedder object.

    Config dicts are ``{"provider": "local", ...options}`` or mem0's shape
    ``{"provider": "openai", "config": {...options}}``. ``None`` means the default, ``"local"``.
    """
    if spec is None:
        spec = "local"
    if isinstance(spec, str):
        provider, options = spec, {}
    elif isinstance(spec, Mapping):
        options = dict(spec)
        provider = options.pop("provider", None)
        if provider is None:
            raise ConfigurationError(
                f"embedder config needs a 'provider' key (one of {available_embedders()})"
            )
        nested = options.pop("config", None)
        if nested is not None:
            if not isinstance(nested, Mapping):
                raise ConfigurationError("embedder 'config' must be a dict of provider options")
            options.update(nested)
    elif isinstance(spec, Embedder):
        return spec
    else:
        raise ConfigurationError(
            "embedder must be a provider name, a config dict, or an object with "
            f"model_id, dim and embed(texts); got {type(spec).__name__}"
        )
    factory = _REGISTRY.get(provider)
    if factory is None:
        raise ConfigurationError(
            f"unknown embedder provider {provider!r}; available: {available_embedders()}"
        )
    try:
        return factory(**options)
    except TypeError as exc:
        raise ConfigurationError(f"bad options for embedder {provider!r}: {exc}") from exc


def check_vectors(vectors: Any, n: int, dim: int | None = None) -> np.ndarray:
    """Validate an embedder's output and return it as L2-normalised float32 ``[n, dim]``."""
    try:
        arr = np.asarray(vectors, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise EmbeddingError(
            f"embedder returned something that is not a numeric array: {exc}"
        ) from exc
    if arr.ndim != 2 or arr.shape[0] != n:
        raise EmbeddingError(f"embedder returned shape {arr.shape}; expected ({n}, dim)")
    if dim is not None and arr.shape[1] != dim:
        raise DimensionMismatchError(
            f"embedder returned {arr.shape[1]}-d vectors but declares dim={dim}",
            expected=dim,
            got=arr.shape[1],
        )
    if not np.isfinite(arr).all():
        raise EmbeddingError("embedder returned NaN or infinite values")
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(arr / norms, dtype=np.float32)


def check_positive_int(name: str, value: object, *, minimum: int = 1) -> int:
    """``value`` if it is an int (not a bool) >= ``minimum``; otherwise ``ValidationError``."""
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValidationError(f"{name} must be an int >= {minimum}, got {value!r}")
    return value


def check_texts(texts: Sequence[str]) -> list[str]:
    """Return ``texts`` as a list of str, rejecting a bare string and non-string items."""
    if isinstance(texts, str | bytes):
        raise ValidationError("texts must be a list of strings, not a single string")
    try:
        items = list(texts)
    except TypeError as exc:
        raise ValidationError(
            f"texts must be a list of strings, got {type(texts).__name__}"
        ) from exc
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise ValidationError(f"texts[{i}] must be a str, got {type(item).__name__}")
    return items


async def aembed_raw(embedder: Embedder, texts: Sequence[str]) -> np.ndarray:
    """Embed with the provider's coroutine when it has one, else in a worker thread."""
    if isinstance(embedder, AsyncEmbedder):
        return await embedder.aembed(texts)
    return await asyncio.to_thread(embedder.embed, texts)
