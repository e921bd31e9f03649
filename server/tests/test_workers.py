"""Two uvicorn workers over one SQLite store: concurrent clients lose no write.

(The same test against two workers on one PostgreSQL database comes with that backend.)
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mnemoweave_server.testing import LiveServer

CLIENTS = 8
WRITES = 15


def test_two_workers_lose_no_concurrent_write(sandbox: Path, server_env: dict[str, str]) -> None:
    with LiveServer(sandbox / "two-workers", workers=2, env=server_env) as server:
        workers: set[str] = set()

        def writer(n: int) -> list[str]:
            ids = []
            for batch in range(WRITES // 5):  # a new connection per batch: any worker may answer
                with server.client() as client:
                    for i in range(batch * 5, batch * 5 + 5):
                        text = f"client {n} write {i}"
                        added = client.add(text, user_id=f"w{n % 3}", infer=False)
                        ids.append(added.results[0].id)
                        # a read right after the write, on whichever worker answers it
                        assert client.search(text, user_id=f"w{n % 3}", limit=1).results
                    workers.add(client._http.get("/api/v1/info").headers["x-mnemoweave-worker"])
            return ids

        with ThreadPoolExecutor(CLIENTS) as pool:
            written = [i for ids in pool.map(writer, range(CLIENTS)) for i in ids]
        with server.client() as client:
            assert len(set(written)) == CLIENTS * WRITES
            total = sum(client.count(user_id=f"w{u}") for u in range(3))
            assert total == CLIENTS * WRITES
            for memory_id in written:
                assert client.get(memory_id).id == memory_id
            assert client.verify()["memories"] == CLIENTS * WRITES
        assert len(workers) == 2, f"expected both workers to answer, saw {workers}"
    assert os.path.exists(sandbox / "two-workers" / "mnemoweave.db")
