"""The derived FAISS index: exact scores on both code paths, and its bound snapshot file."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from mnemoweave.backends.sqlite import _snapshot, _vectors


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


def _stamp(index: _vectors.VectorIndex, **changes: object) -> _snapshot.Stamp:
    base = _snapshot.Stamp("store-a", _snapshot.new_token(), 5, 2, index.dim, "m", index.ntotal)
    return replace(base, **changes)  # type: ignore[arg-type]


def test_snapshot_round_trip_and_in_place_erasure(tmp_path: Path) -> None:
    index = _vectors.VectorIndex(8)
    data = np.arange(40, dtype=np.float32).reshape(5, 8) + 1
    index.put(np.arange(5), data)
    path = tmp_path / "v.snap"
    stamp = _stamp(index)
    _snapshot.save(path, index, stamp)
    assert _snapshot.read_stamp(path) == stamp
    loaded = _snapshot.load(path, stamp)
    assert loaded is not None
    assert np.array_equal(
        loaded.vectors(np.arange(index.ntotal)), index.vectors(np.arange(index.ntotal))
    )
    # Any other expectation (store, token, state) is refused.
    for other in (
        _stamp(index, store_id="store-b", token=stamp.token),
        _stamp(index),
        replace(stamp, seq=3),
    ):
        assert _snapshot.load(path, other) is None
    renewed = stamp.renewed()
    assert not _snapshot.zero_rows(path, replace(stamp, token="0" * 32), np.array([1]), renewed)
    assert _snapshot.zero_rows(path, stamp, np.array([1, 3]), renewed)
    assert _snapshot.load(path, stamp) is None  # the patched file has a new identity
    patched = _snapshot.load(path, renewed)
    assert patched is not None
    got = patched.vectors(np.arange(5))
    assert np.array_equal(got[[0, 2, 4]], data[[0, 2, 4]])
    assert not got[[1, 3]].any()
    _snapshot.scrub(path)
    assert not path.exists()


def test_a_snapshot_spanning_many_blocks_checks_each(tmp_path: Path) -> None:
    index = _vectors.VectorIndex(64)
    rng = np.random.default_rng(1)
    index.put(np.arange(9000), rng.standard_normal((9000, 64)).astype(np.float32))
    path = tmp_path / "big.snap"
    stamp = _stamp(index)
    _snapshot.save(path, index, stamp)
    renewed = stamp.renewed()
    assert _snapshot.zero_rows(path, stamp, np.array([0, 4500, 8999]), renewed)
    loaded = _snapshot.load(path, renewed)
    assert loaded is not None
    assert not loaded.vectors(np.array([0, 4500, 8999])).any()
    assert np.array_equal(loaded.vectors(np.array([1, 7000])), index.vectors(np.array([1, 7000])))
    raw = bytearray(path.read_bytes())
    raw[-5] ^= 1  # a bit in the last block
    path.write_bytes(bytes(raw))
    assert _snapshot.read_stamp(path) == renewed  # the header is intact ...
    assert _snapshot.load(path, renewed) is None  # ... but that block's checksum is not


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
