"""mnemoweave long-term memory for LlamaIndex (llama-index-core 0.14).

* :class:`MnemoweaveMemory`: a ``BaseMemory`` for chat engines and agents: a token-limited
  chat buffer persisted in mnemoweave's per-scope message window, plus recall of long-term
  memories as one system message; finished turns are remembered with mnemoweave ``add``.
* :class:`MnemoweaveMemoryBlock`: a ``BaseMemoryBlock`` for ``llama_index.core.memory.Memory``:
  messages flushed from its short-term FIFO are remembered, recall is rendered on ``aget``.
"""

from __future__ import annotations

from ._block import MnemoweaveMemoryBlock
from ._memory import MnemoweaveMemory
from ._version import __version__

__all__ = ["MnemoweaveMemory", "MnemoweaveMemoryBlock", "__version__"]
