"""memweave long-term memory for CrewAI 1.x.

* :class:`MemweaveCrewMemory`: a CrewAI ``Memory`` whose recall, remember, remember_many,
  extract_memories and forget go to memweave; use it as ``Crew(memory=...)`` or
  ``Agent(memory=...)``. :func:`memweave_memory` builds one on a store it opens.
* :class:`MemweaveStorage`: CrewAI's ``StorageBackend`` protocol on a memweave store, for
  CrewAI's own ``Memory`` (give it ``embedder=storage.embedder``).
* :func:`memweave_tools`: search / save tools for any CrewAI agent.

How CrewAI scope paths map onto memweave scopes and metadata is documented in
``memweave_crewai._scopes`` and ``docs/crewai.md``. Recalled memories reach prompts as the
adapter kit's quoted block (:class:`MemweaveMatch`).
"""

from __future__ import annotations

from ._embedding import MemweaveEmbedder
from ._matches import MemweaveMatch
from ._memory import MemweaveCrewMemory, memweave_memory
from ._scopes import (
    ANCESTORS_KEY,
    ID_KEY,
    IMPORTANCE_KEY,
    PRIVATE_KEY,
    RESERVED_KEYS,
    SCOPE_KEY,
    SOURCE_KEY,
)
from ._storage import MemweaveStorage
from ._tools import MemweaveSaveTool, MemweaveSearchTool, memweave_tools

__all__ = [
    "ANCESTORS_KEY",
    "ID_KEY",
    "IMPORTANCE_KEY",
    "MemweaveCrewMemory",
    "MemweaveEmbedder",
    "MemweaveMatch",
    "MemweaveSaveTool",
    "MemweaveSearchTool",
    "MemweaveStorage",
    "PRIVATE_KEY",
    "RESERVED_KEYS",
    "SCOPE_KEY",
    "SOURCE_KEY",
    "memweave_memory",
    "memweave_tools",
]
