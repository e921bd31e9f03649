"""The derived FAISS index: exact scores on both code paths, and file patching for erasure."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mnemoweave import _vectors


def test_vector_scores_agree_between_gather_and_faiss_paths() -> None:
    rng = np.random.default_rng(3)
    index = _vectors.VectorIndex(16)
    data = rng.standard_normal((9000, 16)).astype(np.float32)
    index.put(np.arange(9000), data)
    query = rng.standard_normal(16).astype(np.float32)
    small = np.array([5, 17, 4000, 8999, 3])
    assert np.allclose(index.scores(query, small), data[small] @ query, atol=1e-5)
    large = rng.permutation(9000)[:6000]
    assert len(large) > _vectors._GATHER_MAX
    assert np.allclose(index.scores(query, large), data[large] @ query, atol=1e-4)


def test_erase_in_file_zeroes_only_the_given_rows(tmp_path: Path) -> None:
    index = _vectors.VectorIndex(8)
    data = np.arange(40, dtype=np.float32).reshape(5, 8) + 1
    index.put(np.arange(5), data)
    path = tmp_path / "v.faiss"
    index.save(path)
    total = index.ntotal  # includes the spare rows a growing index keeps
    assert total >= 5
    assert _vectors.erase_in_file(path, np.array([1, 3]), 8, total)
    loaded = _vectors.VectorIndex.load(path, 8, total)
    assert loaded is not None
    got = loaded.vectors(np.arange(5))
    assert np.array_equal(got[[0, 2, 4]], data[[0, 2, 4]])
    assert not got[[1, 3]].any()
    (tmp_path / "bad.faiss").write_bytes(b"nope" * 100)
    assert not _vectors.erase_in_file(tmp_path / "bad.faiss", np.array([0]), 8, total)
    assert _vectors.VectorIndex.load(tmp_path / "bad.faiss", 8, total) is None


def test_growing_keeps_spare_rows_so_adds_land_in_place() -> None:
    index = _vectors.VectorIndex(4)
    index.put(np.array([0]), np.ones((1, 4), dtype=np.float32))
    spare = index.ntotal
    assert spare > 1
    index.put(np.array([spare - 1]), np.full((1, 4), 2, dtype=np.float32))
    assert index.ntotal == spare  # still inside the spare rows: no growth
    index.put(np.array([spare]), np.full((1, 4), 3, dtype=np.float32))
    assert index.ntotal > spare + 1
    assert np.array_equal(index.vectors(np.array([0, spare - 1, spare]))[:, 0], [1, 2, 3])
