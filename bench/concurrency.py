"""Concurrency study: many writers on one store, then count what a fresh open can see.

Phase 1: 4 threads x 250 adds in one process (one shared store object). Phase 2: 2 OS
processes x 250 adds on one store directory at the same time. For each system: errors raised,
writes lost (ids an add returned that a fresh open cannot find), and wall time. Embedding is
excluded (deterministic precomputed vectors).

    python -m bench concurrency [--quick] [--systems mnemoweave,mem0]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (
    LookupEmbedder,
    machine,
    markdown_table,
    save_bar_chart,
    write_results,
)

SYSTEMS = ("mnemoweave", "mem0")


def texts_for(tag: str, n: int) -> list[str]:
    return [f"{tag} remembers detail number {i} about project {tag}-{i % 7}" for i in range(n)]


# -- mnemoweave --------------------------------------------------------------------------------
def mnemoweave_threads(path: Path, threads: int, per_thread: int) -> dict[str, Any]:
    from mnemoweave import Memory

    mem = Memory(path, embedder=LookupEmbedder())
    ids: list[str] = []
    errors: list[str] = []
    lock = threading.Lock()

    def work(tag: str) -> None:
        for text in texts_for(tag, per_thread):
            try:
                got = mem.add(text, user_id=tag, infer=False).results[0].id
                with lock:
                    ids.append(got)
            except Exception as exc:
                with lock:
                    errors.append(repr(exc))

    start = time.perf_counter()
    pool = [threading.Thread(target=work, args=(f"thread{i}",)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    wall = time.perf_counter() - start
    mem.close()
    return {"ids": ids, "errors": errors, "wall_s": wall}


def mnemoweave_worker(path: str, tag: str, n: int) -> None:
    """Child process body: ``n`` adds, one JSON line with ids and errors at the end."""
    from mnemoweave import Memory

    mem = Memory(path, embedder=LookupEmbedder())
    ids, errors = [], []
    for text in texts_for(tag, n):
        try:
            ids.append(mem.add(text, user_id=tag, infer=False).results[0].id)
        except Exception as exc:
            errors.append(repr(exc))
    mem.close()
    print(json.dumps({"ids": ids, "errors": errors}))


def mnemoweave_processes(path: Path, procs: int, per_proc: int) -> dict[str, Any]:
    from mnemoweave import Memory

    Memory(path, embedder=LookupEmbedder()).close()  # schema exists before the race
    cmd = [sys.executable, "-m", "bench.concurrency", "--worker", str(path)]
    root = Path(__file__).resolve().parent.parent
    start = time.perf_counter()
    children = [
        subprocess.Popen(
            [*cmd, f"proc{i}", str(per_proc)],
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(procs)
    ]
    outs = [c.communicate(timeout=1800) for c in children]
    wall = time.perf_counter() - start
    ids: list[str] = []
    errors: list[str] = []
    for child, (out, err) in zip(children, outs):
        if child.returncode != 0:
            errors.append(f"exit {child.returncode}: {err.strip()[-300:]}")
            continue
        payload = json.loads(out.strip().splitlines()[-1])
        ids += payload["ids"]
        errors += payload["errors"]
    return {"ids": ids, "errors": errors, "wall_s": wall}


def mnemoweave_lost(path: Path, ids: Sequence[str]) -> int:
    from mnemoweave import Memory, NotFoundError

    lost = 0
    with Memory(path, embedder=LookupEmbedder()) as mem:
        for mid in ids:
            try:
                mem.get(mid)
            except NotFoundError:
                lost += 1
    return lost


# -- mem0 ------------------------------------------------------------------------------------
def mem0_records(tag: str, n: int) -> list[dict[str, Any]]:
    emb = LookupEmbedder()
    texts = texts_for(tag, n)
    return [{"text": t, "user_id": tag, "vector": v} for t, v in zip(texts, emb.embed(texts))]


def mem0_threads(path: Path, threads: int, per_thread: int) -> dict[str, Any]:
    from bench._mem0_client import Mem0Worker

    records = [r for i in range(threads) for r in mem0_records(f"thread{i}", per_thread)]
    with Mem0Worker() as worker:
        worker.init(path=str(path), dim=384)
        start = time.perf_counter()
        reply = worker.add_concurrent(records, threads=threads, timeout=3600)
        wall = time.perf_counter() - start
    return {
        "ids": reply["ids"],
        "errors": reply["errors"],
        "wall_s": wall,
        "swallowed": swallowed(reply),
    }


def swallowed(reply: dict[str, Any]) -> int:
    """Failures mem0 logged instead of raising (e.g. "Failed to save FAISS index")."""
    return sum(n for key, n in (reply.get("warnings") or {}).items() if "fail" in key.lower())


def mem0_processes(path: Path, procs: int, per_proc: int) -> dict[str, Any]:
    from bench._mem0_client import Mem0Worker

    workers = [Mem0Worker().start() for _ in range(procs)]
    results: list[dict[str, Any]] = [{} for _ in range(procs)]
    try:
        for w in workers:
            w.init(path=str(path), dim=384)

        def run(i: int) -> None:
            try:
                reply = workers[i].add_raw(mem0_records(f"proc{i}", per_proc), timeout=3600)
                results[i] = {**reply, "swallowed": swallowed(reply)}
            except Exception as exc:  # a crashed worker is a measured error, not a bench bug
                results[i] = {"ids": [], "errors": [repr(exc)]}

        start = time.perf_counter()
        pool = [threading.Thread(target=run, args=(i,)) for i in range(procs)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        wall = time.perf_counter() - start
    finally:
        for w in workers:
            w.stop()
    ids = [i for r in results for i in r.get("ids", [])]
    errors = [e for r in results for e in r.get("errors", [])]
    hidden = sum(r.get("swallowed", 0) for r in results)
    return {"ids": ids, "errors": errors, "wall_s": wall, "swallowed": hidden}


def mem0_lost(path: Path, ids: Sequence[str], expected_users: Sequence[str]) -> int:
    from bench._mem0_client import Mem0Worker

    with Mem0Worker() as worker:
        worker.init(path=str(path), dim=384)
        seen = sum(int(worker.count(user_id=u)["rows"]) for u in expected_users)
    return max(0, len(ids) - seen)


# -- driver ----------------------------------------------------------------------------------
def run_system(system: str, work: Path, per: int) -> list[list[Any]]:
    """One row per phase: writers, adds returned, errors, failures only logged, lost, wall."""
    phases = [
        (f"4 threads x {per}", work / f"{system}-threads", [f"thread{i}" for i in range(4)]),
        (f"2 processes x {per}", work / f"{system}-procs", ["proc0", "proc1"]),
    ]
    rows = []
    for label, path, users in phases:
        threaded = label.startswith("4 threads")
        if system == "mnemoweave":
            res = (
                mnemoweave_threads(path, 4, per) if threaded else mnemoweave_processes(path, 2, per)
            )
            lost = mnemoweave_lost(path, res["ids"])
        else:
            res = mem0_threads(path, 4, per) if threaded else mem0_processes(path, 2, per)
            lost = mem0_lost(path, res["ids"], users)
        rows.append(
            [
                system,
                label,
                len(res["ids"]),
                len(res["errors"]),
                res.get("swallowed", 0),
                lost,
                res["wall_s"],
                (res["errors"] or [""])[0][:80],
            ]
        )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench concurrency", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="50 adds per writer")
    parser.add_argument("--systems", default=None)
    parser.add_argument("--json", default=None)
    parser.add_argument("--worker", nargs=3, metavar=("PATH", "TAG", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        mnemoweave_worker(args.worker[0], args.worker[1], int(args.worker[2]))
        return 0
    from bench._mem0_client import mem0_available

    systems = (
        args.systems.split(",")
        if args.systems
        else [s for s in SYSTEMS if s != "mem0" or mem0_available()]
    )
    per = 50 if args.quick else 250
    rows: list[list[Any]] = []
    figures: dict[str, Any] = {"systems": {}}
    with tempfile.TemporaryDirectory(prefix="mnemoweave-concurrency-") as tmp:
        for system in systems:
            got = run_system(system, Path(tmp), per)
            rows += got
            figures["systems"][system] = {
                "by_category": {
                    r[1]: {
                        "adds_returned": r[2],
                        "errors": r[3],
                        "logged_failures": r[4],
                        "lost": r[5],
                        "wall_s": r[6],
                    }
                    for r in got
                },
                "overall": {"errors": sum(r[3] for r in got), "lost": sum(r[5] for r in got)},
            }
    table = markdown_table(
        [
            "system",
            "writers",
            "adds returned",
            "errors raised",
            "failures only logged",
            "lost writes",
            "wall s",
            "first error",
        ],
        rows,
    )
    text = f"## concurrency\n\nMachine: {machine()}\n\n{table}\n"
    print(text)
    name = "concurrency" if not args.quick else "concurrency-quick"
    write_results(name, text, figures, args.json)
    save_bar_chart(
        name,
        "Concurrent writers: lost writes and errors",
        [f"{r[0]}: {r[1]}" for r in rows],
        {"lost writes": [r[5] for r in rows], "errors": [r[3] + r[4] for r in rows]},
        ylabel="count",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
