"""memweave long-term memory for LlamaIndex (llama-index-core 0.14).

* :class:`MemweaveMemory`: a ``BaseMemory`` for chat engines and agents: a token-limited
  chat buffer persisted in memweave's per-scope message window, plus recall of long-term
  memories as one system message; finished turns are remembered with memweave ``add``.
* :class:`MemweaveMemoryBlock`: a ``BaseMemoryBlock`` for ``llama_index.core.memory.Memory``:
  messages flushed from its short-term FIFO are remembered, recall is rendered on ``aget``.
"""

from __future__ import annotations

from ._block import MemweaveMemoryBlock
from ._memory import MemweaveMemory

__version__ = "0.1.0"

__all__ = ["MemweaveMemory", "MemweaveMemoryBlock", "__version__"]
