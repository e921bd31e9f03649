"""mnemoweave long-term memory for LangChain and LangGraph.

* :func:`memory_tools` -- ``save_memory`` / ``search_memory`` / ``list_memories`` (and an
  opt-in ``delete_memory``) as ``StructuredTool``s for any tool-calling agent;
* :class:`MnemoweaveRetriever` -- recall as ``Document``s for LCEL chains;
* :class:`MnemoweaveChatMessageHistory` -- for code still on ``RunnableWithMessageHistory``;
* :class:`MnemoweaveStore` -- a LangGraph ``BaseStore`` (extra ``[langgraph]``);
* :class:`MnemoweaveMiddleware` -- ``create_agent`` middleware that recalls before the model and
  remembers after the agent (extra ``[agents]``);
* :func:`langchain_embedder` -- a LangChain ``Embeddings`` as a mnemoweave embedder.

Everything is bound to a scope through the kit's :class:`mnemoweave_adapters.MemoryBinding`.
The store and the middleware load on first use, so the package imports with
``langchain-core`` alone.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._embed import LangChainEmbedder, langchain_embedder
from ._history import MnemoweaveChatMessageHistory
from ._retriever import MnemoweaveRetriever
from ._scope import MissingUserError
from ._tools import memory_tools
from ._version import __version__

if TYPE_CHECKING:
    from ._middleware import MnemoweaveMiddleware
    from ._store import MnemoweaveStore

__all__ = [
    "LangChainEmbedder",
    "MissingUserError",
    "MnemoweaveChatMessageHistory",
    "MnemoweaveMiddleware",
    "MnemoweaveRetriever",
    "MnemoweaveStore",
    "__version__",
    "langchain_embedder",
    "memory_tools",
]

# Names that need an extra: (module, extra, the distribution that extra brings in).
_LAZY = {
    "MnemoweaveMiddleware": ("._middleware", "agents", "langchain"),
    "MnemoweaveStore": ("._store", "langgraph", "langgraph"),
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, extra, dist = _LAZY[name]
    try:
        value = getattr(import_module(module, __name__), name)
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] != dist:
            raise
        raise ImportError(
            f"mnemoweave_langchain.{name} needs {dist}: pip install 'mnemoweave-langchain[{extra}]'"
        ) from exc
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
