"""``AsyncMemory`` on the PostgreSQL backend: reads run on the async pool, on the loop.

Same server and per-test collection as ``test_postgres_backend.py``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest

from mnemoweave import AsyncMemory, Memory
from mnemoweave.errors import NotFoundError, StorageError
from mnemoweave.testing import postgres_store_url


class CountingExecutor(ThreadPoolExecutor):
    """A loop's default executor that counts what is sent to its threads."""

    def __init__(self) -> None:
        super().__init__(max_workers=2)
        self.submitted = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.submitted += 1
        return super().submit(fn, *args, **kwargs)


@pytest.fixture
def pg_url(pg_server_url: str) -> str:
    return postgres_store_url(pg_server_url, prefix="async")


@pytest.fixture
def mem(pg_url: str) -> Iterator[Memory]:
    memory = Memory(backend=pg_url, embedder="hash")
    yield memory
    memory.close()


def _fill(mem: Memory) -> str:
    for i in range(12):
        mem.add(f"Ana note {i}: rowing at dawn, tea number {i}", user_id="ana", infer=False)
        mem.add(f"Ben note {i}: cycling at dusk", user_id="ben", infer=False)
    mid = mem.add("Ana lives in Porto", user_id="ana", infer=False, metadata={"k": 1}).results[0].id
    mem.update(mid, "Ana lives in Lisbon")
    return mid


def _view(result: Any) -> list[tuple[str, str, float | None]]:
    return [(r.id, r.memory, None if r.score is None else round(r.score, 6)) for r in result]


def test_async_reads_run_on_the_loop_and_match_sync(mem: Memory) -> None:
    mid = _fill(mem)
    queries = ["rowing dawn tea", "where does Ana live", "cycling"]
    expected = {q: _view(mem.search(q, user_id="ana", limit=5).results) for q in queries}
    mem.search("Ana", user_id="ana")  # query vectors are cached per process: no embedding below
    as_of = datetime.now(UTC)
    page = mem.get_all(user_id="ana", limit=4, offset=2)

    async def scenario() -> CountingExecutor:
        amem = AsyncMemory.wrap(mem)
        await amem.search(queries[0], user_id="ana")  # binds the model check once (a thread)
        counting = CountingExecutor()
        asyncio.get_running_loop().set_default_executor(counting)
        for q in queries:
            assert _view((await amem.search(q, user_id="ana", limit=5)).results) == expected[q]
        got = await amem.get_all(user_id="ana", limit=4, offset=2)
        assert [m.id for m in got.results] == [m.id for m in page.results]
        assert got.total == page.total == 13
        assert await amem.count(user_id="ben") == 12
        assert (await amem.get(mid)).memory == "Ana lives in Lisbon"
        assert [e.event for e in await amem.history(mid)] == ["ADD", "UPDATE"]
        old = await amem.search("where does Ana live", user_id="ana", as_of=as_of, limit=1)
        assert old.results[0].memory == "Ana lives in Lisbon"
        filtered = await amem.search("Ana", user_id="ana", filters={"k": 1})
        assert [r.id for r in filtered.results] == [mid]
        with pytest.raises(NotFoundError):
            await amem.get("00000000-0000-0000-0000-000000000000")
        # Scoping holds on this path too: ben's reads see none of ana's memories.
        assert all("Ana" not in r.memory for r in (await amem.search("Ana", user_id="ben")).results)
        return counting

    counting = asyncio.run(scenario())
    assert counting.submitted == 0  # no statement, no embedding went to a worker thread
    assert mem.backend._async.opened >= 1  # type: ignore[attr-defined]


def test_reads_see_writes_made_through_the_sync_pool(mem: Memory) -> None:
    async def scenario() -> None:
        amem = AsyncMemory.wrap(mem)
        assert await amem.count(user_id="cy") == 0
        added = await amem.add("Cy keeps bees", user_id="cy", infer=False)  # a thread, sync pool
        found = await amem.search("bees", user_id="cy")
        assert [r.id for r in found.results] == [added.results[0].id]
        handle = await amem.add("Cy sells honey", user_id="cy", infer=False, background=True)
        assert await amem.count(user_id="cy") == 2  # read-your-writes waits for the handle
        await handle.result()

    asyncio.run(scenario())


def test_many_concurrent_searches_share_a_small_pool(pg_url: str) -> None:
    url = f"{pg_url}&pool_max=2"
    with Memory(backend=url, embedder="hash") as mem:
        _fill(mem)
        want = _view(mem.search("rowing dawn", user_id="ana").results)

        async def scenario() -> list[list[tuple[str, str, float | None]]]:
            amem = AsyncMemory.wrap(mem)
            results = await asyncio.gather(
                *(amem.search("rowing dawn", user_id="ana") for _ in range(40))
            )
            await amem.close()
            return [_view(r.results) for r in results]

        assert all(r == want for r in asyncio.run(scenario()))


def test_another_event_loop_reads_through_threads(mem: Memory) -> None:
    mid = _fill(mem)
    amem = AsyncMemory.wrap(mem)
    owner = asyncio.new_event_loop()
    try:
        assert owner.run_until_complete(amem.get(mid)).memory == "Ana lives in Lisbon"
        results: list[Any] = []

        def elsewhere() -> None:  # a second loop in another thread: the thread path
            results.append(asyncio.run(amem.get(mid)).memory)
            results.append(asyncio.run(amem.count(user_id="ana")))

        worker = threading.Thread(target=elsewhere)
        worker.start()
        worker.join()
        assert results == ["Ana lives in Lisbon", 13]
        owner.run_until_complete(mem.backend.aclose())  # type: ignore[attr-defined]
    finally:
        owner.close()


def test_closed_store_and_exhausted_pool_are_storage_errors(pg_url: str) -> None:
    mem = Memory(backend=f"{pg_url}&pool_max=1", embedder="hash", busy_timeout=0.5)
    mid = mem.add("Dee paints", user_id="dee", infer=False).results[0].id
    held = mem.backend.pool.connection()  # type: ignore[attr-defined]  # the sync pool's only one
    with held, pytest.raises(StorageError, match="reading"):
        mem.get(mid)
    assert mem.get(mid).memory == "Dee paints"

    async def exhausted() -> None:
        amem = AsyncMemory.wrap(mem)
        async with mem.backend.aread():  # type: ignore[attr-defined]  # the only connection
            with pytest.raises(StorageError, match="reading"):
                await amem.get(mid)
        assert (await amem.get(mid)).memory == "Dee paints"  # free again
        await amem.close()

    asyncio.run(exhausted())
    with pytest.raises(StorageError, match="closed"):
        asyncio.run(AsyncMemory.wrap(mem).get(mid))
