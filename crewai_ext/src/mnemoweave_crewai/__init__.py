"""mnemoweave long-term memory for CrewAI 1.x.

* :class:`MnemoweaveCrewMemory`: a CrewAI ``Memory`` whose recall, remember, remember_many,
  extract_memories and forget go to mnemoweave; use it as ``Crew(memory=...)`` or
  ``Agent(memory=...)``. :func:`mnemoweave_memory` builds one on a store it opens.
* :class:`MnemoweaveStorage`: CrewAI's ``StorageBackend`` protocol on a mnemoweave store, for
  CrewAI's own ``Memory`` (give it ``embedder=storage.embedder``).
* :func:`mnemoweave_tools`: search / save tools for any CrewAI agent.
* :class:`EmbeddingDimensionMismatchError`: both mnemoweave's ``DimensionMismatchError``
  and CrewAI's ``EmbeddingDimensionMismatchError``.

How CrewAI scope paths map onto mnemoweave scopes and metadata is documented in
``mnemoweave_crewai._scopes`` and ``docs/crewai.md``. Recalled memories reach prompts as the
adapter kit's quoted block (:class:`MnemoweaveMatch`).
"""

from __future__ import annotations

from ._embedding import MnemoweaveEmbedder
from ._errors import EmbeddingDimensionMismatchError
from ._matches import MnemoweaveMatch
from ._memory import MnemoweaveCrewMemory, mnemoweave_memory
from ._scopes import (
    ANCESTORS_KEY,
    ID_KEY,
    IMPORTANCE_KEY,
    PRIVATE_KEY,
    RESERVED_KEYS,
    SCOPE_KEY,
    SOURCE_KEY,
)
from ._storage import MnemoweaveStorage
from ._tools import MnemoweaveSaveTool, MnemoweaveSearchTool, mnemoweave_tools
from ._version import __version__

__all__ = [
    "ANCESTORS_KEY",
    "EmbeddingDimensionMismatchError",
    "ID_KEY",
    "IMPORTANCE_KEY",
    "MnemoweaveCrewMemory",
    "MnemoweaveEmbedder",
    "MnemoweaveMatch",
    "MnemoweaveSaveTool",
    "MnemoweaveSearchTool",
    "MnemoweaveStorage",
    "PRIVATE_KEY",
    "RESERVED_KEYS",
    "SCOPE_KEY",
    "SOURCE_KEY",
    "__version__",
    "mnemoweave_memory",
    "mnemoweave_tools",
]
