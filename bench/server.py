"""Server study: the memory server under K concurrent clients, against in-process ``Memory``.

For K in (1, 8, 32) clients and 1 and 2 uvicorn workers, each client sends searches (then
adds) for a bounded time through ``mnemoweave.remote.MemoryClient``; the baseline is the same
calls on an in-process ``Memory`` from K threads, in the same run, on the same store. Clients
run in separate processes (K > 1: two processes of K/2 threads), so the load generator's GIL
is not the server's. Reported: p50/p95 latency, requests/s, errors, and the HTTP overhead as
the ratio of server p50 to in-process p50. Embedding is the deterministic ``hash`` embedder
(model time excluded, as in the other studies); no LLM (``infer=False``).

    python -m bench server [--quick] [--clients 1,8,32] [--workers 1,2] [--seconds 5]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import machine, markdown_table, percentile, save_bar_chart, write_results

WORDS = (
    "coffee tea hiking paris berlin violin cat dog marathon python rust garden bakery "
    "jazz chess sailing novel movie pasta sushi bike train winter summer doctor dentist"
).split()
TARGET_MS = 5.0


def fact(rng: random.Random, i: int) -> str:
    picked = rng.sample(WORDS, 4)
    return f"fact {i}: likes {picked[0]} and {picked[1]}, visited {picked[2]}, owns a {picked[3]}"


def preload(path: Path, users: int, per_user: int) -> list[str]:
    from mnemoweave import Memory

    rng = random.Random(7)
    names = [f"bench-user-{u}" for u in range(users)]
    records = [{"text": fact(rng, i), "user_id": name} for name in names for i in range(per_user)]
    with Memory(path, embedder="hash") as mem:
        for start in range(0, len(records), 1000):
            mem.batch_add(records[start : start + 1000])
    return names


# -- one client process (or the in-process baseline's threads) ------------------------------
def run_threads(
    op: Callable[[int, random.Random], Any], threads: int, seconds: float, go: Callable[[], float]
) -> dict[str, Any]:
    """``threads`` loops calling ``op`` for ``seconds``; latencies in ms.

    Every thread warms up first; then ``go()`` (called once all are warm) gives the shared
    wall-clock start, so the measured windows of all threads and processes coincide.
    """
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    warm = threading.Barrier(threads + 1)
    start: list[float] = []
    started = threading.Event()

    def loop(n: int) -> None:
        rng = random.Random(1000 + n)
        mine: list[float] = []
        bad: list[str] = []
        for _ in range(3):  # warm connections and caches before the clock starts
            try:
                op(n, rng)
            except Exception as exc:
                bad.append(repr(exc)[:200])
        warm.wait()
        started.wait()
        while time.time() < start[0]:
            time.sleep(0.001)
        end = start[0] + seconds
        while time.time() < end:
            began = time.perf_counter()
            try:
                op(n, rng)
            except Exception as exc:
                bad.append(repr(exc)[:200])
                continue
            mine.append((time.perf_counter() - began) * 1000.0)
        with lock:
            latencies.extend(mine)
            errors.extend(bad)

    pool = [threading.Thread(target=loop, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    warm.wait()
    start.append(go())
    started.set()
    for t in pool:
        t.join()
    return {"latencies": latencies, "errors": errors}


def operation(mem: Any, kind: str, users: Sequence[str], tag: str) -> Callable[..., Any]:
    counter = iter(range(10**9))

    def search(n: int, rng: random.Random) -> Any:
        query = " ".join(rng.sample(WORDS, 2))
        return mem.search(query, user_id=rng.choice(users), limit=10)

    def add(n: int, rng: random.Random) -> Any:
        text = f"{fact(rng, next(counter))} ({tag}-{n})"
        return mem.add(text, user_id=f"bench-writer-{tag}-{n % 4}", infer=False)

    return search if kind == "search" else add


def client_main(args: argparse.Namespace) -> int:
    """Child process: ``--client URL KEY KIND THREADS SECONDS TAG USERS...``.

    Prints ``ready`` once warm, reads the start time from stdin, prints its JSON results.
    """
    from mnemoweave.remote import MemoryClient

    url, key, kind, threads, seconds, tag, *users = args.client
    clients = [MemoryClient(url, api_key=key, timeout=60) for _ in range(int(threads))]

    def op(n: int, rng: random.Random) -> Any:
        return operation(clients[n], kind, users, tag)(n, rng)

    def go() -> float:
        print("ready", flush=True)
        return float(sys.stdin.readline())

    result = run_threads(op, int(threads), float(seconds), go)
    for c in clients:
        c.close()
    print(json.dumps(result))
    return 0


# -- one measured cell ---------------------------------------------------------------------
def summarise(raw: dict[str, Any], seconds: float) -> dict[str, Any]:
    lat = raw["latencies"]
    return {
        "p50_ms": percentile(lat, 50),
        "p95_ms": percentile(lat, 95),
        "rps": len(lat) / seconds,
        "requests": len(lat),
        "errors": len(raw["errors"]),
        "first_error": (raw["errors"] or [""])[0],
    }


def in_process(path: Path, kind: str, clients: int, users: list[str], seconds: float) -> dict:
    from mnemoweave import Memory

    with Memory(path, embedder="hash") as mem:
        op = operation(mem, kind, users, f"local{clients}")
        raw = run_threads(op, clients, seconds, lambda: time.time() + 0.05)
    return summarise(raw, seconds)


def over_http(
    url: str, key: str, kind: str, clients: int, users: list[str], seconds: float, tag: str
) -> dict[str, Any]:
    procs = 1 if clients == 1 else 2
    root = Path(__file__).resolve().parent.parent
    children = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.server",
                "--client",
                url,
                key,
                kind,
                str(clients // procs),
                str(seconds),
                f"{tag}p{p}",
                *users,
            ],
            cwd=root,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for p in range(procs)
    ]
    for child in children:  # wait until every client process is up and warm
        assert child.stdout is not None
        line = child.stdout.readline()
        if line.strip() != "ready":
            child.kill()
            raise RuntimeError(f"client failed to start: {line!r} {child.stderr.read()[-500:]}")
    start_at = time.time() + 0.05
    merged: dict[str, Any] = {"latencies": [], "errors": []}
    for child in children:
        out, err = child.communicate(f"{start_at}\n", timeout=600)
        if child.returncode != 0:
            merged["errors"].append(f"client exit {child.returncode}: {err.strip()[-300:]}")
            continue
        part = json.loads(out.strip().splitlines()[-1])
        merged["latencies"] += part["latencies"]
        merged["errors"] += part["errors"]
    return summarise(merged, seconds)


# -- driver --------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench server", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1 and 2 clients, 1 worker, 1 s")
    parser.add_argument("--clients", default=None, help="comma-separated K values")
    parser.add_argument("--workers", default=None, help="comma-separated worker counts")
    parser.add_argument("--seconds", type=float, default=None, help="per measured cell")
    parser.add_argument("--json", default=None)
    parser.add_argument("--client", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.client:
        return client_main(args)
    from mnemoweave_server.testing import LiveServer

    ks = [int(k) for k in (args.clients or ("1,2" if args.quick else "1,8,32")).split(",")]
    workers = [int(w) for w in (args.workers or ("1" if args.quick else "1,2")).split(",")]
    seconds = args.seconds or (1.0 if args.quick else 5.0)
    users_n, per_user = (4, 25) if args.quick else (20, 100)
    rows: list[list[Any]] = []
    figures: dict[str, Any] = {"cells": [], "store_memories": users_n * per_user}
    with tempfile.TemporaryDirectory(prefix="mnemoweave-bench-server-") as tmp:
        store = Path(tmp) / "store"
        users = preload(store, users_n, per_user)
        baseline: dict[tuple[str, int], dict[str, Any]] = {}
        for kind in ("search", "add"):
            for k in ks:
                baseline[(kind, k)] = cell = in_process(store, kind, k, users, seconds)
                figures["cells"].append({"op": kind, "clients": k, "workers": 0, **cell})
                rows.append([kind, k, "in-process", *_cols(cell), 1.0])
        env = {"HOME": str(Path(tmp) / "home"), "MNEMOWEAVE_HOME": str(Path(tmp) / "home")}
        for w in workers:
            with LiveServer(store, workers=w, env=env) as server:
                for kind in ("search", "add"):
                    for k in ks:
                        cell = over_http(
                            server.url, server.admin_key, kind, k, users, seconds, f"w{w}k{k}"
                        )
                        ratio = cell["p50_ms"] / baseline[(kind, k)]["p50_ms"]
                        figures["cells"].append(
                            {"op": kind, "clients": k, "workers": w, **cell, "p50_ratio": ratio}
                        )
                        rows.append(
                            [kind, k, f"{w} worker{'s' if w > 1 else ''}", *_cols(cell), ratio]
                        )
    rows.sort(key=lambda r: (r[0] != "search", r[1], r[2] != "in-process", r[2]))
    table = markdown_table(
        ["op", "clients", "served by", "p50 ms", "p95 ms", "req/s", "errors", "p50 / in-process"],
        rows,
    )
    at8 = [
        c for c in figures["cells"] if c["op"] == "search" and c["clients"] == 8 and c["workers"]
    ]
    verdict = ""
    if at8:
        best = min(c["p50_ms"] for c in at8)
        met = "met" if best <= TARGET_MS else "NOT met"
        verdict = (
            f"\nTarget search p50 <= {TARGET_MS:g} ms at 8 clients: {met} (best {best:.2f} ms).\n"
        )
        figures["target_met"] = best <= TARGET_MS
    figures["errors"] = sum(c["errors"] for c in figures["cells"])
    text = (
        f"## server\n\nMachine: {machine()}\n\nStore: {users_n} users x {per_user} memories "
        f"(hash embedder, no LLM); {seconds:g} s per cell; clients in separate processes.\n\n"
        f"{table}\n{verdict}"
    )
    print(text)
    name = "server" if not args.quick else "server-quick"
    write_results(name, text, figures, args.json)
    search_cells = [c for c in figures["cells"] if c["op"] == "search"]
    save_bar_chart(
        name,
        "Search p50 by clients: in-process vs server",
        [
            f"{c['clients']} clients, " + (f"{c['workers']}w" if c["workers"] else "in-process")
            for c in search_cells
        ],
        {"p50 ms": [c["p50_ms"] for c in search_cells]},
        ylabel="ms",
    )
    return 0


def _cols(cell: dict[str, Any]) -> list[Any]:
    return [cell["p50_ms"], cell["p95_ms"], cell["rps"], cell["errors"]]


if __name__ == "__main__":
    raise SystemExit(main())
