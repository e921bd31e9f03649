"""memweave long-term memory for LangChain and LangGraph.

* :func:`memory_tools` -- ``save_memory`` / ``search_memory`` / ``list_memories`` (and an
  opt-in ``delete_memory``) as ``StructuredTool``s for any tool-calling agent;
* :class:`MemweaveRetriever` -- recall as ``Document``s for LCEL chains;
* :class:`MemweaveChatMessageHistory` -- for code still on ``RunnableWithMessageHistory``;
* :class:`MemweaveStore` -- a LangGraph ``BaseStore`` (extra ``[langgraph]``);
* :class:`MemweaveMiddleware` -- ``create_agent`` middleware that recalls before the model and
  remembers after the agent (extra ``[agents]``).

Everything is bound to a scope through the kit's :class:`memweave_adapters.MemoryBinding`.
The store and the middleware load on first use, so the package imports with
``langchain-core`` alone.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._history import MemweaveChatMessageHistory
from ._retriever import MemweaveRetriever
from ._tools import memory_tools

if TYPE_CHECKING:
    from ._middleware import MemweaveMiddleware
    from ._store import MemweaveStore

__version__ = "0.1.0"

__all__ = [
    "MemweaveChatMessageHistory",
    "MemweaveMiddleware",
    "MemweaveRetriever",
    "MemweaveStore",
    "__version__",
    "memory_tools",
]

# Names that need an extra: (module, extra, the distribution that extra brings in).
_LAZY = {
    "MemweaveMiddleware": ("._middleware", "agents", "langchain"),
    "MemweaveStore": ("._store", "langgraph", "langgraph"),
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
            f"memweave_langchain.{name} needs {dist}: pip install 'memweave-langchain[{extra}]'"
        ) from exc
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
