"""The FAISS vector index: derived from SQLite, position ``i`` holds the vector of row ``rid = i``.

Using the row id as the FAISS position keeps the index a plain ``IndexFlatIP`` (so FAISS's
``IDSelectorArray`` fast path scores only a scope's rows, exactly), needs no id map, and lets
any process rebuild or catch up the index from SQLite alone. Rows that were erased or never
seen are zero vectors and are never selected, because candidates always come from SQLite.
"""

from __future__ import annotations

import faiss
import numpy as np

from ...errors import StorageError

# Up to this many candidates, numpy scores them faster than a FAISS selector search.
_GATHER_MAX = 4096
# Fewest spare rows a growing index adds (small stores would otherwise grow row by row).
_SPARE_MIN = 1024


class VectorIndex:
    """An in-memory ``IndexFlatIP`` addressed by memory row id."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self.index = faiss.IndexFlatIP(dim)

    @classmethod
    def allocate(cls, dim: int, ntotal: int) -> VectorIndex:
        """An index of ``ntotal`` zero vectors, to be filled through :meth:`buffer`."""
        out = cls(dim)
        if ntotal:
            out.index.add(np.zeros((ntotal, dim), dtype=np.float32))  # calloc'd: no 2x peak
        return out

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    def _view(self) -> np.ndarray:
        """A writable numpy view of FAISS's own storage (valid until the next ``add``)."""
        n = self.ntotal
        if n == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return faiss.rev_swig_ptr(self.index.get_xb(), n * self.dim).reshape(n, self.dim)

    def buffer(self) -> memoryview:
        """FAISS's storage as writable bytes (row ``i`` at ``i * dim * 4``; valid until growth)."""
        return memoryview(self._view().data).cast("B")

    def grow(self, size: int) -> None:
        """Make positions ``0..size-1`` addressable (new ones are zero vectors).

        Growth leaves an eighth more spare zero rows, saved with the index too, so the adds
        after an open land in place: FAISS would otherwise copy its whole storage on the first.
        """
        if size > self.ntotal:
            target = size + max(size // 8, _SPARE_MIN)
            self.index.add(np.zeros((target - self.ntotal, self.dim), dtype=np.float32))

    def put(self, rids: np.ndarray, vectors: np.ndarray) -> None:
        """Store ``vectors[i]`` at position ``rids[i]``, growing the index as needed."""
        if len(rids) == 0:
            return
        rids = np.asarray(rids, dtype=np.int64)
        self.grow(int(rids.max()) + 1)
        self._view()[rids] = vectors

    def clear(self, rids: np.ndarray) -> None:
        """Zero the vectors at ``rids`` (erased or retired from the index)."""
        rids = np.asarray(rids, dtype=np.int64)
        rids = rids[rids < self.ntotal]
        if len(rids):
            self._view()[rids] = 0.0

    def vectors(self, rids: np.ndarray) -> np.ndarray:
        """Copies of the vectors stored at ``rids``."""
        return np.array(self._view()[np.asarray(rids, dtype=np.int64)])

    def rows(self, rids: np.ndarray) -> np.ndarray:
        """The vectors at ``rids`` (in range), gathered in one copy."""
        gathered: np.ndarray = self._view()[rids]
        return gathered

    def scores(self, query: np.ndarray, rids: np.ndarray) -> np.ndarray:
        """Inner product of ``query`` with each row in ``rids`` (same order), exactly.

        Small scopes are scored straight from FAISS's storage (a gather and a matrix-vector
        product beat the selector call's fixed overhead); large ones use FAISS's
        ``IDSelectorArray`` search, which scores only the listed rows.
        """
        n = len(rids)
        if n == 0:
            return np.zeros(0, dtype=np.float32)
        rids = np.asarray(rids, dtype=np.int64)
        if int(rids.max()) >= self.ntotal:
            raise StorageError("vector index is behind the database; reopen the store")
        if n <= _GATHER_MAX:
            gathered: np.ndarray = self.rows(rids) @ query
            return gathered
        params = faiss.SearchParameters()
        params.sel = faiss.IDSelectorArray(rids)
        distances, labels = self.index.search(query.reshape(1, -1), n, params=params)
        labels, distances = labels[0], distances[0]
        found = labels >= 0
        order = np.argsort(rids, kind="stable")
        positions = order[np.searchsorted(rids, labels[found], sorter=order)]
        out = np.zeros(n, dtype=np.float32)
        out[positions] = distances[found]
        return out
