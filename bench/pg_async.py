"""AsyncMemory reads on PostgreSQL: the async pool against worker threads, in one run.

One collection of N memories over U users (hash embedder; every query vector is cached
before timing, so embedding is excluded). At each concurrency C, C coroutines on one event
loop run searches until Q have finished, first with reads on the backend's async pool (the
default), then with the same reads sent to worker threads over the sync pool (what
``AsyncMemory`` does on a backend without an async driver, or from a loop other than the
pool's). Both pools have the same ``pool_max``.

    python -m bench pg_async [--quick] [--postgres URL|pgserver] [--pool-max 10]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import machine, markdown_table, percentile, save_bar_chart, write_results
from bench._postgres import fresh_collection, postgres_server

MODES = ("async pool", "threads")


def fill(mem: Any, n: int, users: int) -> list[tuple[str, str]]:
    """N memories over U users; returns (query, user) pairs whose vectors are now cached."""
    for lo in range(0, n, 1000):
        mem.batch_add(
            [
                {
                    "text": f"note {i} about topic {i % 97} and place {i % 31}",
                    "user_id": f"u{i % users}",
                }
                for i in range(lo, min(n, lo + 1000))
            ]
        )
    queries = [(f"topic {j % 97} place {j % 31}", f"u{j % users}") for j in range(200)]
    for text, user in queries:
        mem.search(text, user_id=user)  # caches the query vector (process-wide)
    return queries


async def drive(
    amem: Any, queries: list[tuple[str, str]], concurrency: int, total: int
) -> dict[str, float]:
    latencies: list[float] = []
    started = 0

    async def worker() -> None:
        nonlocal started
        while started < total:
            text, user = queries[started % len(queries)]
            started += 1
            t0 = time.perf_counter()
            await amem.search(text, user_id=user, limit=10)
            latencies.append((time.perf_counter() - t0) * 1000)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - t0
    return {
        "searches_per_s": len(latencies) / wall,
        "p50_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
    }


def run(url: str, args: argparse.Namespace) -> dict[str, Any]:
    from mnemoweave import AsyncMemory, Memory

    mem = Memory(
        backend=f"{fresh_collection(url, 'async')}&pool_max={args.pool_max}", embedder="hash"
    )
    out: dict[str, Any] = {}
    try:
        queries = fill(mem, args.records, args.users)
        for mode in MODES:
            if mode == "threads":  # the fallback path, as from a loop the pool does not serve
                mem.backend.serves_async = lambda: False  # type: ignore[attr-defined]

            async def scenario(mode: str = mode) -> dict[int, dict[str, float]]:
                amem = AsyncMemory.wrap(mem)
                await amem.search(queries[0][0], user_id=queries[0][1])  # opens the async pool
                found = {c: await drive(amem, queries, c, args.searches) for c in args.levels}
                if mode == "async pool":
                    await mem.backend.aclose()  # type: ignore[attr-defined]  # this loop's pool
                return found

            out[mode] = asyncio.run(scenario())
    finally:
        mem.close()
    return out


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench pg_async", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="2,000 memories, 200 searches")
    parser.add_argument("--postgres", default="pgserver", metavar="URL")
    parser.add_argument("--records", type=int, default=None, help="default 20,000")
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--searches", type=int, default=None, help="per level, default 3,000")
    parser.add_argument("--levels", default="1,8,32,128", help="concurrent coroutines")
    parser.add_argument("--pool-max", type=int, default=10)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    args.records = args.records or (2_000 if args.quick else 20_000)
    args.searches = args.searches or (200 if args.quick else 3_000)
    args.levels = [int(x) for x in args.levels.split(",")]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    with postgres_server(args.postgres) as url:
        found = run(url, args)
    rows, ratios = [], []
    for c in args.levels:
        native, threads = found["async pool"][c], found["threads"][c]
        for mode, fig in (("async pool", native), ("threads", threads)):
            rows.append([c, mode, fig["searches_per_s"], fig["p50_ms"], fig["p95_ms"]])
        ratios.append(
            [
                c,
                native["searches_per_s"] / threads["searches_per_s"],
                native["p50_ms"] / threads["p50_ms"],
            ]
        )
    text = (
        f"## pg_async\n\nMachine: {machine()}; {args.records:,} memories over {args.users} users, "
        f"{args.searches:,} searches per level, pool_max {args.pool_max}\n\n"
        + markdown_table(["coroutines", "reads on", "searches/s", "p50 ms", "p95 ms"], rows)
        + "\n\nAsync pool vs threads (same run):\n\n"
        + markdown_table(["coroutines", "throughput ratio", "p50 ratio"], ratios)
        + "\n"
    )
    print(text)
    figures = {
        "systems": {
            m: {"overall": {}, "by_category": {str(c): f for c, f in found[m].items()}}
            for m in MODES
        }
    }
    name = "pg_async-quick" if args.quick else "pg_async"
    write_results(name, text, figures, args.json)
    save_bar_chart(
        name,
        "AsyncMemory search throughput on PostgreSQL",
        [str(c) for c in args.levels],
        {m: [found[m][c]["searches_per_s"] for c in args.levels] for m in MODES},
        ylabel="searches/s",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
