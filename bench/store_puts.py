"""LangGraph store study: ``aput`` throughput of MnemoweaveStore at 1, 8 and 64 concurrent tasks.

Each task awaits its own puts one after another (distinct keys, a sentence each, LangMem's
value shape), as graph nodes do. "before" runs every ``abatch`` alone in a worker thread
(``coalesce=False``: one embedding call and one transaction per put); "after" coalesces the
calls queued while a batch runs into the next batch. Both on the local embedder, fresh
stores, same run; medians over ``--repeats``.

    python -m bench store_puts [--quick] [--puts 512] [--tasks 1,8,64] [--embedder local]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import fmt, machine, markdown_table, save_bar_chart, write_results


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench store_puts")
    parser.add_argument("--quick", action="store_true", help="64 puts, one repeat")
    parser.add_argument("--puts", type=int, default=512, help="puts per measurement")
    parser.add_argument("--tasks", default="1,8,64", help="concurrent task counts")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--embedder", default="local", help="mnemoweave embedder name")
    args = parser.parse_args(argv)
    args.tasks = [int(t) for t in args.tasks.split(",")]
    if args.quick:
        args.puts, args.repeats = 64, 1
    return args


async def _run_puts(store: Any, tasks: int, puts: int) -> None:
    per_task = max(1, puts // tasks)

    async def worker(t: int) -> None:
        for i in range(per_task):
            text = f"User {t} mentioned detail {i}: they like topic {i % 13} on day {i % 7}"
            await store.aput(("memories", f"user{t}"), f"k{i}", {"content": text})

    await asyncio.gather(*(worker(t) for t in range(tasks)))


def measure(tasks: int, puts: int, coalesce: bool, embedder: str) -> float:
    """Puts per second for one fresh store."""
    from mnemoweave import Memory
    from mnemoweave_langchain import MnemoweaveStore

    with tempfile.TemporaryDirectory() as tmp:
        memory = Memory(Path(tmp) / "store", embedder=embedder)
        store = MnemoweaveStore(memory, coalesce=coalesce)
        memory.batch_add([{"text": "warm-up", "user_id": "warm"}])  # load the model first
        done = max(1, puts // tasks) * tasks
        start = time.perf_counter()
        asyncio.run(_run_puts(store, tasks, puts))
        elapsed = time.perf_counter() - start
        assert memory.count(agent_id="langgraph") == done
        memory.close()
    return done / elapsed


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    rows, figures = [], {}
    for tasks in args.tasks:
        before = [measure(tasks, args.puts, False, args.embedder) for _ in range(args.repeats)]
        after = [measure(tasks, args.puts, True, args.embedder) for _ in range(args.repeats)]
        b, a = statistics.median(before), statistics.median(after)
        rows.append([tasks, fmt(b, 1), fmt(a, 1), f"{a / b:.1f}x"])
        figures[str(tasks)] = {"before_puts_per_s": b, "after_puts_per_s": a, "ratio": a / b}
    table = (
        "## store_puts\n\n"
        f"MnemoweaveStore.aput, {args.puts} puts per run, embedder {args.embedder!r}, "
        f"median of {args.repeats}; {machine()}\n\n"
        + markdown_table(
            [
                "concurrent tasks",
                "puts/s before (one batch per call)",
                "puts/s after (coalesced)",
                "after/before",
            ],
            rows,
        )
    )
    print(table)
    name = "store_puts-quick" if args.quick else "store_puts"
    write_results(name, table, {"tasks": figures})
    save_bar_chart(
        name,
        "MnemoweaveStore.aput throughput (puts/s)",
        [f"{t} task(s)" for t in args.tasks],
        {
            "one batch per call": [figures[str(t)]["before_puts_per_s"] for t in args.tasks],
            "coalesced": [figures[str(t)]["after_puts_per_s"] for t in args.tasks],
        },
        ylabel="puts/s",
    )


if __name__ == "__main__":
    main()
