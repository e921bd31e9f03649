"""LangChain embeddings as a mnemoweave embedder, for LangGraph's ``index={"embed": ...}``.

LangGraph users hand a store a LangChain ``Embeddings`` object, a function from texts to
vectors (sync or async), or a ``"provider:model"`` string. :func:`langchain_embedder` turns
the first two into a mnemoweave ``Embedder`` (a ``Memory`` built on it embeds with them);
strings would need a remote provider, so only the names of mnemoweave's own offline
embedders are accepted.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from mnemoweave import ConfigurationError
from mnemoweave.embed import Embedder, available_embedders, get_embedder
from mnemoweave_adapters import run_sync

_OFFLINE = ("local", "hash")


class LangChainEmbedder:
    """A mnemoweave ``Embedder`` that calls a LangChain ``Embeddings`` (or a plain function).

    ``model_id`` names the vectors in the store (so a later open with other embeddings is
    refused); it defaults to the class or function name plus the model name and ``dims``.
    Queries are embedded with ``embed_documents`` like stored texts, as mnemoweave embeds
    both sides with one call.
    """

    def __init__(
        self,
        embeddings: Embeddings | Callable[..., Any],
        *,
        dims: int | None = None,
        model_id: str | None = None,
    ) -> None:
        if dims is not None and (isinstance(dims, bool) or not isinstance(dims, int) or dims < 1):
            raise ConfigurationError(f"index dims must be a positive int, got {dims!r}")
        self._async_fn = embeddings if inspect.iscoroutinefunction(embeddings) else None
        if not isinstance(embeddings, Embeddings) and not callable(embeddings):
            raise ConfigurationError(
                "index 'embed' must be a LangChain Embeddings object or a function from a "
                f"list of texts to a list of vectors, got {type(embeddings).__name__}"
            )
        self.embeddings = embeddings
        self._dim = dims
        self._model_id = model_id or _default_id(embeddings, dims)

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dim(self) -> int:
        """The vector size: ``dims``, else learned from the first batch (0 until then)."""
        return self._dim or 0

    def _vectors(self, rows: Any, count: int) -> np.ndarray:
        out = np.asarray(rows, dtype=np.float32)
        if out.ndim != 2 or out.shape[0] != count:
            raise ConfigurationError(
                f"index 'embed' returned {out.shape} for {count} texts; expected one vector each"
            )
        if self._dim is None:
            self._dim = int(out.shape[1])
        return out

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        items = list(texts)
        if self._async_fn is not None:
            fn = self._async_fn
            return self._vectors(run_sync(lambda: fn(items)), len(items))
        if isinstance(self.embeddings, Embeddings):
            return self._vectors(self.embeddings.embed_documents(items), len(items))
        return self._vectors(self.embeddings(items), len(items))

    async def aembed(self, texts: Sequence[str]) -> np.ndarray:
        items = list(texts)
        if self._async_fn is not None:
            return self._vectors(await self._async_fn(items), len(items))
        if isinstance(self.embeddings, Embeddings):
            return self._vectors(await self.embeddings.aembed_documents(items), len(items))
        return self.embed(items)

    def __repr__(self) -> str:
        return f"LangChainEmbedder({self._model_id!r})"


def _default_id(embeddings: Any, dims: int | None) -> str:
    kind = embeddings if inspect.isfunction(embeddings) else type(embeddings)
    name = f"{getattr(kind, '__module__', '?')}.{getattr(kind, '__qualname__', '?')}"
    model = getattr(embeddings, "model", None) or getattr(embeddings, "model_name", None)
    parts = ["langchain", name]
    if isinstance(model, str) and model:
        parts.append(model)
    if dims is not None:
        parts.append(str(dims))
    return ":".join(parts)


def langchain_embedder(
    embed: Any, *, dims: int | None = None, model_id: str | None = None
) -> Embedder:
    """A mnemoweave embedder for LangGraph's ``index["embed"]`` value.

    ``Embeddings`` objects and functions are wrapped (:class:`LangChainEmbedder`); a
    mnemoweave embedder passes through; the strings ``"local"`` / ``"hash"`` (optionally
    ``"mnemoweave:local"``) name mnemoweave's offline embedders. Any other string, e.g.
    ``"openai:text-embedding-3-small"``, is refused: pass ``init_embeddings(...)`` (or any
    ``Embeddings``) instead, which makes the remote provider an explicit choice.
    """
    if isinstance(embed, str):
        name = embed.removeprefix("mnemoweave:")
        if name in _OFFLINE and name in available_embedders():
            return get_embedder(name)
        raise ConfigurationError(
            f"index embed={embed!r} names a provider that would be called over the network; "
            "pass an Embeddings object instead (e.g. langchain.embeddings.init_embeddings"
            f"({embed!r})) or one of mnemoweave's offline embedders {list(_OFFLINE)}"
        )
    if isinstance(embed, Embedder) and not isinstance(embed, Embeddings):
        return embed
    return LangChainEmbedder(embed, dims=dims, model_id=model_id)
