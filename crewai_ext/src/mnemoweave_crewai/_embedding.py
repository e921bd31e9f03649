"""CrewAI's ``embedder`` callable, backed by mnemoweave's embedder.

CrewAI's ``StorageBackend.search`` receives a query *vector*, while mnemoweave searches by
*text* (dense + keyword). The callable remembers which text produced each vector it returned
(a bounded LRU keyed by a digest of the float32 bytes), so the storage can run mnemoweave's
hybrid search on the original text. CrewAI hands the vectors on unchanged as Python floats,
which convert back to the same float32 bytes.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from mnemoweave import Memory, ValidationError
from mnemoweave.embed import embed_texts
from mnemoweave.remote import MemoryClient

DEFAULT_CAPACITY = 16_384


def _digest(vector: np.ndarray) -> bytes:
    return hashlib.blake2b(
        np.ascontiguousarray(vector, dtype=np.float32).tobytes(), digest_size=16
    ).digest()


class MnemoweaveEmbedder:
    """``embedder(texts) -> list of vectors`` with mnemoweave's model (L2-normalised float32)."""

    def __init__(self, memory: Memory | MemoryClient, *, capacity: int = DEFAULT_CAPACITY) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise ValidationError(f"capacity must be a positive int, got {capacity!r}")
        self._memory = memory
        self._capacity = capacity
        self._texts: OrderedDict[bytes, str] = OrderedDict()
        self._lock = threading.Lock()

    def __copy__(self) -> MnemoweaveEmbedder:
        return self  # bound to one store; CrewAI deep-copies its Memory fields

    def __deepcopy__(self, memo: dict[int, object]) -> MnemoweaveEmbedder:
        return self

    @property
    def dim(self) -> int:
        """Vector size of mnemoweave's embedder."""
        return int(self._memory.embedder.dim)

    def __call__(self, texts: Sequence[str]) -> list[list[float]]:
        if isinstance(texts, str):
            raise ValidationError("the embedder takes a list of texts, not a string")
        items = list(texts)
        if not items:
            return []
        vectors = embed_texts(self._memory.embedder, items)
        with self._lock:
            for text, vector in zip(items, vectors):
                key = _digest(vector)
                self._texts[key] = text
                self._texts.move_to_end(key)
            while len(self._texts) > self._capacity:
                self._texts.popitem(last=False)
        return [row.tolist() for row in vectors]

    def text_for(self, vector: Sequence[float] | np.ndarray) -> str | None:
        """The text this embedder turned into ``vector``, if it still remembers it."""
        key = _digest(np.asarray(vector, dtype=np.float32))
        with self._lock:
            return self._texts.get(key)
