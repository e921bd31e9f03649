"""An on-disk cache of embedding vectors, keyed by a hash of (model id, text).

The quality study embeds several thousand turns in several variants; caching the vectors under
``bench/.cache`` (git-ignored) turns a rerun's minutes of embedding into a file read. Entries
are never invalidated: a different model id is a different key.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

CACHE = Path(__file__).resolve().parent / ".cache"


def text_key(model_id: str, text: str) -> bytes:
    """16 bytes identifying ``text`` embedded by ``model_id``."""
    return hashlib.blake2b(f"{model_id}\0{text}".encode(), digest_size=16).digest()


class VectorCache:
    """Vectors of one model in ``<folder>/<model>.npz``, loaded whole and rewritten on growth."""

    def __init__(self, model_id: str, folder: Path | None = None) -> None:
        self.model_id = model_id
        folder = Path(os.environ.get("BENCH_CACHE_DIR") or folder or CACHE)
        self.path = folder / f"vectors-{re.sub(r'[^A-Za-z0-9._-]+', '_', model_id)}.npz"
        self._rows: dict[bytes, int] = {}
        self._vectors = np.zeros((0, 0), dtype=np.float32)
        if self.path.is_file():
            with np.load(self.path) as data:
                keys, self._vectors = data["keys"], data["vectors"]
            self._rows = {k.tobytes(): i for i, k in enumerate(keys)}

    def __len__(self) -> int:
        return len(self._rows)

    def get(
        self, texts: Sequence[str], embed: Callable[[list[str]], np.ndarray]
    ) -> tuple[np.ndarray, int]:
        """Vectors for ``texts`` (in order), embedding only the missing ones, and the miss count."""
        keys = [text_key(self.model_id, t) for t in texts]
        missing: dict[bytes, str] = {}
        for key, text in zip(keys, texts):
            if key not in self._rows:
                missing.setdefault(key, text)
        if missing:
            fresh = np.asarray(embed(list(missing.values())), dtype=np.float32)
            start = len(self._rows)
            if self._vectors.size == 0:
                self._vectors = fresh
            else:
                self._vectors = np.concatenate([self._vectors, fresh])
            for i, key in enumerate(missing):
                self._rows[key] = start + i
            self._save()
        return self._vectors[[self._rows[k] for k in keys]], len(missing)

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # uint8 rows, not an "S16" array: numpy strips trailing NUL bytes from those.
        keys = np.frombuffer(b"".join(self._rows), dtype=np.uint8).reshape(-1, 16)
        tmp = self.path.with_name(self.path.name + ".tmp.npz")
        np.savez(tmp, keys=keys, vectors=self._vectors)
        os.replace(tmp, self.path)
