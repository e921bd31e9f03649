"""The embedding facade mnemoweave calls: batching, validation, the query cache, the registry."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Sequence

import numpy as np
import pytest

import mnemoweave.embed as mwe
from mnemoweave.embed import (
    HashEmbedder,
    aembed_query,
    aembed_texts,
    embed_query,
    embed_texts,
    get_embedder,
)
from mnemoweave.embed._cache import QueryCache
from mnemoweave.errors import (
    ConfigurationError,
    DimensionMismatchError,
    EmbeddingError,
    ValidationError,
)


class CountingEmbedder:
    """A protocol-only embedder (no base class) that records every call it gets."""

    def __init__(self, dim: int = 16, model_id: str = "counting") -> None:
        self._dim = dim
        self._model_id = model_id
        self.calls: list[list[str]] = []
        self._inner = HashEmbedder(dim)

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dim(self) -> int:
        return self._dim

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return self._inner.embed(texts) * 3.0  # not normalised: the facade must normalise


class AsyncCountingEmbedder(CountingEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.async_calls = 0

    async def aembed(self, texts: Sequence[str]) -> np.ndarray:
        self.async_calls += 1
        return self.embed(texts)


class BrokenEmbedder:
    """Declares 8-d vectors and returns whatever it was given."""

    model_id = "broken"
    dim = 8

    def __init__(self, output: object) -> None:
        self._output = output

    def embed(self, texts: Sequence[str]) -> object:
        return self._output


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    mwe.clear_query_cache()
    mwe.set_query_cache_size(2048)
    yield
    mwe.clear_query_cache()
    mwe.set_query_cache_size(2048)


def test_embed_texts_batches_and_normalises() -> None:
    embedder = CountingEmbedder()
    texts = [f"text {i}" for i in range(10)]
    vectors = embed_texts(embedder, texts, batch_size=4)
    assert [len(c) for c in embedder.calls] == [4, 4, 2]
    assert [t for call in embedder.calls for t in call] == texts
    assert vectors.shape == (10, 16)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    expected = HashEmbedder(16).embed(texts)
    np.testing.assert_allclose(vectors, expected, atol=1e-6)


def test_embed_texts_default_batch_is_bounded() -> None:
    embedder = CountingEmbedder()
    embed_texts(embedder, ["x"] * (mwe.DEFAULT_BATCH_SIZE + 1))
    assert [len(c) for c in embedder.calls] == [mwe.DEFAULT_BATCH_SIZE, 1]


def test_embed_texts_rejects_bad_input() -> None:
    embedder = CountingEmbedder()
    with pytest.raises(ValidationError):
        embed_texts(embedder, "not a list")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        embed_texts(embedder, ["fine", None])  # type: ignore[list-item]
    with pytest.raises(ValidationError):
        embed_texts(embedder, ["fine"], batch_size=0)
    assert embedder.calls == []
    assert embed_texts(embedder, []).shape == (0, 16)


@pytest.mark.parametrize(
    ("output", "error"),
    [
        (np.ones((2, 8)), EmbeddingError),  # two rows for one text
        (np.ones((1, 5)), DimensionMismatchError),  # declares dim=8
        (np.array([[1.0, np.nan] + [0.0] * 6]), EmbeddingError),
        ("garbage", EmbeddingError),
    ],
)
def test_embed_texts_validates_provider_output(output: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        embed_texts(BrokenEmbedder(output), ["a"])  # type: ignore[arg-type]


def test_aembed_texts_prefers_native_coroutine() -> None:
    embedder = AsyncCountingEmbedder()
    vectors = asyncio.run(aembed_texts(embedder, ["a", "b", "c"], batch_size=2))
    assert embedder.async_calls == 2
    np.testing.assert_allclose(vectors, embed_texts(CountingEmbedder(), ["a", "b", "c"]), atol=1e-6)


def test_aembed_texts_runs_sync_embedders_in_a_thread() -> None:
    embedder = CountingEmbedder()
    vectors = asyncio.run(aembed_texts(embedder, ["a", "b"]))
    assert vectors.shape == (2, 16)
    assert len(embedder.calls) == 1


def test_embed_query_is_cached_per_model_and_text() -> None:
    embedder = CountingEmbedder()
    first = embed_query(embedder, "where do I live?")
    second = embed_query(embedder, "where do I live?")
    assert len(embedder.calls) == 1
    np.testing.assert_array_equal(first, second)
    assert first.shape == (16,)
    embed_query(embedder, "another question")
    other_model = CountingEmbedder(model_id="other-model")
    embed_query(other_model, "where do I live?")
    assert len(embedder.calls) == 2
    assert len(other_model.calls) == 1
    info = mwe.query_cache_info()
    assert (info.hits, info.misses, info.currsize) == (1, 3, 3)


def test_cached_vectors_cannot_be_corrupted_by_callers() -> None:
    embedder = CountingEmbedder()
    first = embed_query(embedder, "q")
    original = first.copy()
    first[:] = 0.0  # the caller owns its copy
    second = embed_query(embedder, "q")
    np.testing.assert_array_equal(second, original)
    second[:] = 1.0
    np.testing.assert_array_equal(embed_query(embedder, "q"), original)


def test_query_cache_is_bounded_lru() -> None:
    mwe.set_query_cache_size(2)
    embedder = CountingEmbedder()
    embed_query(embedder, "a")
    embed_query(embedder, "b")
    embed_query(embedder, "a")  # refresh a: b is now the oldest
    embed_query(embedder, "c")  # evicts b
    assert mwe.query_cache_info().currsize == 2
    embed_query(embedder, "a")
    assert len(embedder.calls) == 3
    embed_query(embedder, "b")
    assert len(embedder.calls) == 4


def test_query_cache_can_be_disabled_and_cleared() -> None:
    embedder = CountingEmbedder()
    mwe.set_query_cache_size(0)
    embed_query(embedder, "a")
    embed_query(embedder, "a")
    assert len(embedder.calls) == 2
    mwe.set_query_cache_size(10)
    embed_query(embedder, "a")
    mwe.clear_query_cache()
    embed_query(embedder, "a")
    assert len(embedder.calls) == 4
    with pytest.raises(ValidationError):
        mwe.set_query_cache_size(-1)
    with pytest.raises(ValidationError):
        embed_query(embedder, b"bytes")  # type: ignore[arg-type]


def test_query_cache_is_thread_safe() -> None:
    cache = QueryCache(maxsize=50)
    vectors = {f"t{i}": np.full(8, i, dtype=np.float32) for i in range(200)}
    errors: list[str] = []

    def worker(seed: int) -> None:
        rng = np.random.default_rng(seed)
        for _ in range(2000):
            text = f"t{int(rng.integers(200))}"
            got = cache.get("m", text)
            if got is None:
                cache.put("m", text, vectors[text])
            elif not np.array_equal(got, vectors[text]):
                errors.append(text)

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    info = cache.info()
    assert info.currsize <= 50
    assert info.hits + info.misses == 8 * 2000


def test_aembed_query_shares_the_cache() -> None:
    embedder = AsyncCountingEmbedder()
    sync_vector = embed_query(embedder, "shared")
    async_vector = asyncio.run(aembed_query(embedder, "shared"))
    np.testing.assert_array_equal(sync_vector, async_vector)
    assert embedder.async_calls == 0
    asyncio.run(aembed_query(embedder, "fresh"))
    assert embedder.async_calls == 1


def test_failed_queries_are_not_cached() -> None:
    broken = BrokenEmbedder(np.ones((1, 5)))
    with pytest.raises(DimensionMismatchError):
        embed_query(broken, "q")  # type: ignore[arg-type]
    assert mwe.query_cache_info().currsize == 0


def test_registry_and_specs() -> None:
    assert {"hash", "local", "openai"} <= set(mwe.available_embedders())
    custom = CountingEmbedder()
    assert get_embedder(custom) is custom
    hashed = get_embedder({"provider": "hash", "config": {"dim": 32}})
    assert hashed.dim == 32
    with pytest.raises(ConfigurationError, match="unknown embedder provider"):
        get_embedder("nope")
    with pytest.raises(ConfigurationError):
        get_embedder({"model": "x"})
    with pytest.raises(ConfigurationError):
        get_embedder(42)  # type: ignore[arg-type]
