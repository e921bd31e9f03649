"""MnemoweaveStore write batching, coalesced async writes and LangGraph's index["embed"]."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from langchain_core.embeddings import Embeddings
from langgraph.store.base import GetOp, InvalidNamespaceError, PutOp, SearchOp

from mnemoweave import ConfigurationError, Memory, ValidationError
from mnemoweave.embed import HashEmbedder
from mnemoweave_langchain import MnemoweaveStore
from mnemoweave_langchain._embed import langchain_embedder


class CountingEmbedder(HashEmbedder):
    """The hash embedder, counting how many embed calls (batches) it serves."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[int] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.batches.append(len(texts))
        return super().embed(texts)


class LetterEmbeddings(Embeddings):
    """A LangChain Embeddings: letter counts (a..z), so similar words get similar vectors."""

    def __init__(self) -> None:
        self.documents = 0

    def _one(self, text: str) -> list[float]:
        return [text.lower().count(chr(97 + i)) + 0.01 for i in range(26)]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.documents += 1
        return [self._one(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._one(text)


@pytest.fixture
def counted(tmp_path: Path) -> tuple[MnemoweaveStore, CountingEmbedder, Memory]:
    embedder = CountingEmbedder()
    memory = Memory(tmp_path / "counted", embedder=embedder)
    return MnemoweaveStore(memory), embedder, memory


def test_a_batch_of_puts_is_one_embedding_call(counted: tuple) -> None:
    store, embedder, memory = counted
    store.batch([PutOp(("users", "ann"), f"k{i}", {"content": f"fact {i}"}) for i in range(50)])
    assert embedder.batches == [50]
    embedder.batches.clear()
    # Updates with new text are one call; unchanged text is not re-embedded at all.
    store.batch(
        [PutOp(("users", "ann"), f"k{i}", {"content": f"fact {i}!", "n": i}) for i in range(10)]
        + [
            PutOp(("users", "ann"), f"k{i}", {"content": f"fact {i}", "n": i})
            for i in range(10, 20)
        ]
    )
    assert embedder.batches == [10]
    assert store.get(("users", "ann"), "k3").value == {"content": "fact 3!", "n": 3}
    assert store.get(("users", "ann"), "k13").value == {"content": "fact 13", "n": 13}
    assert memory.count(user_id="ann") == 50


def test_reads_in_a_batch_share_work_and_see_the_state_before_its_writes(counted: tuple) -> None:
    store, _, _ = counted
    store.put(("users", "ann"), "a", {"content": "old"})
    search = SearchOp(("users", "ann"), query="old", limit=5)
    results = store.batch(
        [
            GetOp(("users", "ann"), "a"),
            search,
            PutOp(("users", "ann"), "a", {"content": "new"}),
            search,
            GetOp(("users", "bob"), "a"),
        ]
    )
    assert results[0].value == {"content": "old"}
    assert [r.key for r in results[1]] == ["a"] == [r.key for r in results[3]]
    assert results[1] is not results[3]  # equal answers, separate lists
    assert results[4] is None
    assert store.get(("users", "ann"), "a").value == {"content": "new"}


def test_concurrent_aputs_are_coalesced_and_the_last_write_wins(counted: tuple) -> None:
    store, embedder, memory = counted

    async def main() -> None:
        await asyncio.gather(
            *(
                store.aput(("users", f"u{i % 4}"), f"k{i}", {"content": f"note {i}"})
                for i in range(64)
            )
        )
        await asyncio.gather(
            store.aput(("users", "u0"), "same", {"content": "first"}),
            store.aput(("users", "u0"), "same", {"content": "second"}),
        )

    asyncio.run(main())
    assert sum(embedder.batches) == 64 + 1  # only the winning write of "same" is embedded
    assert len(embedder.batches) < 10  # a handful of batches, not one per put
    assert memory.count(agent_id="langgraph") == 65
    assert store.get(("users", "u0"), "same").value == {"content": "second"}


def test_a_bad_call_fails_alone_when_coalesced(counted: tuple) -> None:
    store, _, memory = counted

    async def main() -> list[object]:
        return await asyncio.gather(
            store.aput(("users", "ann"), "ok", {"content": "fine"}),
            store.aput(("users", "ann"), "bad", {"content": float("nan")}),
            store.aput(("users", "a.b"), "bad", {"content": "label with a period"}),
            store.aget(("users", "ann"), "ok"),
            return_exceptions=True,
        )

    ok, nan, period, _ = asyncio.run(main())
    assert ok is None
    assert isinstance(nan, ValidationError)
    assert isinstance(period, InvalidNamespaceError)  # BaseStore.aput checks labels first
    assert [r.memory for r in memory.get_all(user_id="ann").results] == ["fine"]


def test_coalesce_false_runs_each_call_alone(tmp_path: Path) -> None:
    embedder = CountingEmbedder()
    store = MnemoweaveStore(Memory(tmp_path / "s", embedder=embedder), coalesce=False)

    async def main() -> None:
        await asyncio.gather(*(store.aput(("t",), f"k{i}", {"v": i}) for i in range(8)))

    asyncio.run(main())
    assert embedder.batches == [1] * 8


def test_index_embed_takes_langchain_embeddings_and_functions(tmp_path: Path) -> None:
    embeddings = LetterEmbeddings()
    with MnemoweaveStore(tmp_path / "lc", index={"embed": embeddings, "dims": 26}) as store:
        assert store.embeddings is embeddings
        assert store.index_config == {"embed": embeddings, "dims": 26}
        store.batch([PutOp(("docs",), w, {"text": w}) for w in ("banana", "cherry", "apple")])
        assert embeddings.documents == 1
        assert store.search(("docs",), query="bananas")[0].key == "banana"
    # Reopening with other embeddings is refused (the store records the model id).
    with pytest.raises(ConfigurationError):
        MnemoweaveStore(
            tmp_path / "lc", index={"embed": lambda texts: [[1.0] * 26 for _ in texts], "dims": 26}
        )

    async def aembed(texts: list[str]) -> list[list[float]]:
        return [LetterEmbeddings()._one(t) for t in texts]

    with MnemoweaveStore(tmp_path / "fn", index={"embed": aembed, "text_fields": ["t"]}) as store:
        store.put(("docs",), "a", {"t": "kiwi", "other": "zzz"})
        store.put(("docs",), "b", {"t": "plum", "other": "kiwi"})
        assert store.search(("docs",), query="kiwi")[0].key == "a"


def test_a_memory_on_the_same_embeddings_is_accepted(tmp_path: Path) -> None:
    embeddings = LetterEmbeddings()
    memory = Memory(tmp_path / "m", embedder=langchain_embedder(embeddings, dims=26))
    store = MnemoweaveStore(memory, index={"embed": embeddings, "dims": 26, "fields": ["text"]})
    store.put(("users", "ann"), "k", {"text": "grape"})
    assert [r.memory for r in memory.search("grape", user_id="ann").results] == ["grape"]
    with MnemoweaveStore(tmp_path / "h", index={"embed": "hash"}) as offline:
        offline.put(("t",), "k", {"content": "offline"})
        assert offline.get(("t",), "k").value == {"content": "offline"}
