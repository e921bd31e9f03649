"""A deterministic, dependency-free embedder for tests and offline demos.

It hashes words and character trigrams into a fixed number of signed buckets. Texts that
share words get similar vectors, which is enough to test retrieval without a model; it is
not a semantic model and says so in its ``model_id``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

_WORD = re.compile(r"[^\W_]+", re.UNICODE)


class HashEmbedder:
    """Feature-hashing embedder: same text, same vector, in any process, on any machine."""

    def __init__(self, dim: int = 384, *, trigrams: bool = True) -> None:
        if not isinstance(dim, int) or dim < 8:
            raise ValueError("HashEmbedder dim must be an int >= 8")
        self._dim = dim
        self._trigrams = trigrams
        self.calls = 0
        self.texts_embedded = 0

    @property
    def model_id(self) -> str:
        return f"mnemoweave-hash-{self._dim}"

    @property
    def dim(self) -> int:
        return self._dim

    def _features(self, text: str) -> list[tuple[str, float]]:
        words = _WORD.findall(text.casefold())
        feats = [(w, 1.0) for w in words]
        if self._trigrams:
            for w in words:
                padded = f"#{w}#"
                feats.extend((padded[i : i + 3], 0.3) for i in range(len(padded) - 2))
        return feats

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        self.texts_embedded += len(texts)
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for feat, weight in self._features(text):
                digest = hashlib.blake2b(feat.encode("utf-8"), digest_size=8).digest()
                value = int.from_bytes(digest, "little")
                sign = 1.0 if value & 1 else -1.0
                out[row, (value >> 1) % self._dim] += sign * weight
            if not out[row].any():
                out[row, 0] = 1.0  # empty text still gets a valid unit vector
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / norms
