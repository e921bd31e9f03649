"""Scale study: scoped search latency and recall, add throughput, open time, memory.

Embedding is excluded everywhere (texts carry the index of a precomputed random vector that
every system receives), so the figures are the stores' own cost. Recall@10 is measured for
dense retrieval against exact numpy search inside the scope (mnemoweave with keyword_weight=0,
mem0 with its vector search). Baselines in the same run: mem0 (when its venv exists, driven
in its own process; it stops at the first size whose adds exceed the time budget, 10 minutes
by default) and an exact numpy scan of every vector followed by a scope filter.

    python -m bench scale [--quick] [--sizes 1000:100,10000:1000] [--systems mnemoweave,mem0]
                          [--postgres URL|pgserver]

``--postgres`` also runs every size on the PostgreSQL backend (a fresh collection on the
server at URL, or on a private server ``pgserver`` starts) and adds a table of its ratios
against the SQLite backend in the same run (written as ``scale-postgres``).
"""

from __future__ import annotations

import argparse
import gc
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (
    machine,
    markdown_table,
    peak_rss_mb,
    percentile,
    save_bar_chart,
    write_results,
)
from bench._postgres import fresh_collection, postgres_server

DIM = 384
VOCAB = [f"w{i}" for i in range(20_000)]


class IndexEmbedder:
    """Text ``"... #<i>"`` embeds to row ``i`` of a fixed matrix (no model, no lookup table)."""

    def __init__(self, matrix: np.ndarray, prefix: str = "#") -> None:
        self.matrix = matrix
        self.prefix = prefix

    @property
    def model_id(self) -> str:
        return "bench-index-384"

    @property
    def dim(self) -> int:
        return DIM

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        rows = [int(t.rsplit(self.prefix, 1)[1]) for t in texts]
        return self.matrix[rows]


@dataclass
class Corpus:
    texts: list[str]
    users: np.ndarray
    vectors: np.ndarray
    queries: list[tuple[str, str, np.ndarray]]  # (text, user, vector)


def make_corpus(n: int, users: int, queries: int, seed: int = 7) -> Corpus:
    """Zipf-distributed words, random unit vectors, users assigned uniformly."""
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, len(VOCAB) + 1)
    weights /= weights.sum()
    words = rng.choice(len(VOCAB), size=(n, 12), p=weights)
    vocab = np.array(VOCAB)
    texts = [" ".join(vocab[row]) + f" #{i}" for i, row in enumerate(words)]
    vectors = rng.standard_normal((n + queries, DIM), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    owner = rng.integers(0, users, size=n)
    qwords = rng.choice(len(VOCAB), size=(queries, 3), p=weights)
    qs = []
    for j in range(queries):
        user = int(owner[rng.integers(0, n)])
        qs.append((" ".join(vocab[qwords[j]]) + f" #{n + j}", f"user{user}", vectors[n + j]))
    return Corpus(texts, owner, vectors, qs)


def exact_top(
    corpus: Corpus, rows_of: dict[int, np.ndarray], user: str, qvec: np.ndarray, k: int = 10
) -> set[int]:
    """Ground truth: the k nearest rows of ``user`` by exact inner product."""
    rows = rows_of.get(int(user[4:]), np.zeros(0, dtype=np.int64))
    return set(rows[np.argsort(-(corpus.vectors[rows] @ qvec), kind="stable")[:k]].tolist())


def rows_by_user(users: np.ndarray) -> dict[int, np.ndarray]:
    order = np.argsort(users, kind="stable")
    bounds = np.searchsorted(users[order], np.arange(users.max() + 2))
    return {u: order[bounds[u] : bounds[u + 1]] for u in range(users.max() + 1)}


def run_mnemoweave(
    corpus: Corpus, workdir: Path, *, single_adds: int = 1000, backend: str | None = None
) -> dict[str, Any]:
    """The study on the SQLite backend, or on the PostgreSQL one at ``backend`` (a URL)."""
    from mnemoweave import Memory

    n = len(corpus.texts)
    embedder = IndexEmbedder(corpus.vectors)
    path = workdir / "mnemoweave"
    out: dict[str, Any] = {"n": n}
    mem = Memory(path, embedder=embedder, backend=backend)
    start = time.perf_counter()
    chunk = 10_000
    for lo in range(0, n, chunk):
        mem.batch_add(
            [
                {"text": corpus.texts[i], "user_id": f"user{corpus.users[i]}"}
                for i in range(lo, min(n, lo + chunk))
            ]
        )
    out["bulk_records_per_s"] = n / (time.perf_counter() - start)
    mem.close()

    start = time.perf_counter()
    mem = Memory(path, embedder=embedder, backend=backend)
    mem.search("warm #0", user_id="user0")
    out["open_s"] = time.perf_counter() - start
    if backend is None:  # only SQLite keeps a FAISS snapshot to rebuild
        mem.close()
        (path / "vectors.faiss").unlink()
        start = time.perf_counter()
        mem = Memory(path, embedder=embedder)
        mem.search("warm #0", user_id="user0")
        out["open_rebuild_s"] = time.perf_counter() - start

    # Scoped search, query embedding excluded (the embedder is a row lookup).
    for label, weight in (("hybrid", 0.5), ("dense", 0.0)):
        times = []
        for text, user, _ in corpus.queries:
            t0 = time.perf_counter()
            mem.search(text, user_id=user, limit=10, keyword_weight=weight)
            times.append((time.perf_counter() - t0) * 1000)
        out[f"{label}_p50_ms"] = percentile(times, 50)
        out[f"{label}_p95_ms"] = percentile(times, 95)

    # Recall@10 of dense-only scoped search against exact numpy search in the scope.
    rows_of = rows_by_user(corpus.users)
    hits = total = returned = 0
    for text, user, qvec in corpus.queries:
        truth = exact_top(corpus, rows_of, user, qvec)
        got = mem.search(text, user_id=user, limit=10, keyword_weight=0.0).results
        got_rows = {int(r.memory.rsplit("#", 1)[1]) for r in got}
        hits += len(got_rows & truth)
        total += len(truth)
        returned += len(got)
    out["recall_at_10"] = hits / total if total else float("nan")
    out["results_per_query"] = returned / len(corpus.queries)

    # Baseline: exact scan of all vectors, then keep the scope's rows.
    matrix = corpus.vectors[:n]
    times = []
    for _, user, qvec in corpus.queries[:200]:
        uid = int(user[4:])
        t0 = time.perf_counter()
        scores = matrix @ qvec
        cand = np.flatnonzero(corpus.users == uid)
        cand[np.argsort(-scores[cand])[:10]]
        times.append((time.perf_counter() - t0) * 1000)
    out["baseline_scan_p50_ms"] = percentile(times, 50)

    # Single adds on top of the existing store, each its own durable transaction.
    base = n + len(corpus.queries)
    extra = np.random.default_rng(1).standard_normal((single_adds, DIM), dtype=np.float32)
    embedder.matrix = np.concatenate([corpus.vectors, extra])
    times = []
    for i in range(single_adds):
        t0 = time.perf_counter()
        mem.add(f"single add number {i} #{base + i}", user_id=f"user{i % 50}", infer=False)
        times.append((time.perf_counter() - t0) * 1000)
    out["single_add_p50_ms"] = percentile(times, 50)
    out["single_adds_per_s"] = single_adds / (sum(times) / 1000)
    mem.close()
    if backend is None:  # PostgreSQL commits are always synchronous (fsync'd WAL)
        full = Memory(path, embedder=embedder, durability="full")
        times = []
        for i in range(min(single_adds, 300)):
            t0 = time.perf_counter()
            full.add(f"full durability add {i} #{base + i}", user_id="user1", infer=False)
            times.append((time.perf_counter() - t0) * 1000)
        out["single_adds_full_per_s"] = len(times) / (sum(times) / 1000)
        full.close()
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def run_mem0(corpus: Corpus, workdir: Path, *, budget_s: float) -> dict[str, Any]:
    """mem0 builds the same store one add at a time (it has no bulk path) within a budget."""
    from bench._mem0_client import Mem0Worker

    n = len(corpus.texts)
    out: dict[str, Any] = {"n": n}
    with Mem0Worker() as worker:
        worker.init(path=str(workdir / "mem0"), dim=DIM)
        ids: list[str] = []
        latencies: list[float] = []
        start = time.perf_counter()
        stopped = False
        for lo in range(0, n, 500):
            left = budget_s - (time.perf_counter() - start)
            if left <= 0:
                stopped = True
                break
            records = [
                {
                    "text": corpus.texts[i],
                    "user_id": f"user{corpus.users[i]}",
                    "vector": corpus.vectors[i],
                }
                for i in range(lo, min(n, lo + 500))
            ]
            reply = worker.add_raw(records, budget_s=left, timeout=left + 600)
            ids += reply["ids"]
            latencies += reply["latencies_s"]
            if reply["stopped_early"]:
                stopped = True
                break
        held = len(ids)
        out["rows"] = held
        out["stopped"] = stopped
        out["add_seconds"] = time.perf_counter() - start
        out["single_adds_per_s"] = len(latencies) / sum(latencies) if latencies else float("nan")
        out["single_add_p50_ms"] = percentile([x * 1000 for x in latencies], 50)
        out["open_s"] = worker.reopen(timeout=3600)["open_s"]
        row_of = {mid: i for i, mid in enumerate(ids)}
        held_users = corpus.users[:held]
        rows_of = rows_by_user(held_users) if held else {}
        sub = Corpus(corpus.texts[:held], held_users, corpus.vectors, corpus.queries)
        times, hits, total, returned = [], 0, 0, 0
        for text, user, qvec in corpus.queries:
            reply = worker.search(text, qvec, user, limit=10)
            times.append(reply["elapsed_s"] * 1000)
            got = {row_of[h["id"]] for h in reply["results"] if h["id"] in row_of}
            truth = exact_top(sub, rows_of, user, qvec)
            hits += len(got & truth)
            total += len(truth)
            returned += len(reply["results"])
        out["dense_p50_ms"] = percentile(times, 50)
        out["dense_p95_ms"] = percentile(times, 95)
        out["recall_at_10"] = hits / total if total else float("nan")
        out["results_per_query"] = returned / len(corpus.queries)
    return out


def chart(name: str, figures: dict[str, Any]) -> None:
    """Search latency per size and system, from the study's JSON figures."""
    groups = list(figures["systems"]["mnemoweave"]["by_category"])
    save_bar_chart(
        name,
        "Scoped search latency (dense p50, query embedding excluded)",
        groups,
        {
            system: [data["by_category"].get(g, {}).get("dense_p50_ms") for g in groups]
            for system, data in figures["systems"].items()
        },
        ylabel="ms (log)",
        log=True,
    )


def mnemoweave_row(label: str, system: str, mw: dict[str, Any]) -> list[Any]:
    """One row of the main table for a mnemoweave run (either backend)."""
    keys = ("hybrid_p50_ms", "dense_p50_ms", "dense_p95_ms", "recall_at_10", "results_per_query")
    keys += ("single_adds_per_s", "bulk_records_per_s", "open_s", "baseline_scan_p50_ms")
    return [label, system, *(mw[k] for k in keys), mw["peak_rss_mb"]]


def parse_sizes(text: str) -> list[tuple[int, int]]:
    pairs = []
    for part in text.split(","):
        n, users = part.split(":")
        pairs.append((int(n), int(users)))
    return pairs


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench scale", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--sizes", default=None, help="N:users pairs, e.g. 100000:1000")
    parser.add_argument("--systems", default=None, help="mnemoweave,mem0 (mem0 if its venv exists)")
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument(
        "--mem0-budget",
        type=float,
        default=600.0,
        help="seconds mem0 may spend adding one size before it is stopped",
    )
    parser.add_argument(
        "--postgres",
        default=None,
        metavar="URL",
        help="also run mnemoweave on the PostgreSQL backend at URL ('pgserver': start one)",
    )
    parser.add_argument("--json", default=None, help="also write figures as JSON here")
    args = parser.parse_args(argv)
    if args.postgres is None:
        return study(args, None)
    with postgres_server(args.postgres) as url:
        return study(args, url)


def study(args: argparse.Namespace, pg_url: str | None) -> int:
    """Run the sizes; ``pg_url`` adds a PostgreSQL run of each size, compared to SQLite."""
    from bench._mem0_client import mem0_available

    systems = (
        args.systems.split(",")
        if args.systems
        else [s for s in ("mnemoweave", "mem0") if s != "mem0" or mem0_available()]
    )
    if args.sizes:
        sizes = parse_sizes(args.sizes)
    elif args.quick:
        sizes = [(5_000, 50)]
    else:
        sizes = [
            (1_000, 100),
            (1_000, 1_000),
            (10_000, 100),
            (10_000, 1_000),
            (100_000, 100),
            (100_000, 1_000),
            (1_000_000, 10_000),
        ]
    queries = 100 if args.quick else args.queries
    if pg_url is not None:
        systems.append("postgres")
    figures: dict[str, Any] = {"systems": {s: {"overall": {}, "by_category": {}} for s in systems}}
    rows: list[list[Any]] = []
    ratio_rows: list[list[Any]] = []
    pg_rows: list[list[Any]] = []
    mem0_stopped_at: str | None = None
    for n, users in sizes:
        corpus = make_corpus(n, users, queries)
        label = f"{n:,} / {users:,}"
        workdir = Path(tempfile.mkdtemp(prefix="mnemoweave-scale-"))
        try:
            adds = 200 if args.quick else 1000
            mw = run_mnemoweave(corpus, workdir, single_adds=adds)
            figures["systems"]["mnemoweave"]["by_category"][f"{n}/{users}"] = mw
            rows.append(mnemoweave_row(label, "mnemoweave", mw))
            if pg_url is not None:
                backend = fresh_collection(pg_url, "scale")
                pg = run_mnemoweave(corpus, workdir, single_adds=adds, backend=backend)
                pg["peak_rss_mb"] = None  # the server's memory is another process's
                figures["systems"]["postgres"]["by_category"][f"{n}/{users}"] = pg
                rows.append(mnemoweave_row(label, "mnemoweave (PostgreSQL)", pg))
                pg_rows.append(
                    [
                        label,
                        pg["dense_p50_ms"] / mw["dense_p50_ms"],
                        pg["hybrid_p50_ms"] / mw["hybrid_p50_ms"],
                        pg["single_adds_per_s"] / mw["single_adds_per_s"],
                        pg["bulk_records_per_s"] / mw["bulk_records_per_s"],
                        pg["recall_at_10"],
                    ]
                )
            if "mem0" in systems and mem0_stopped_at is None:
                m0 = run_mem0(corpus, workdir, budget_s=args.mem0_budget)
                figures["systems"]["mem0"]["by_category"][f"{n}/{users}"] = m0
                note = f"mem0 (stopped at {m0['rows']:,} rows)" if m0["stopped"] else "mem0"
                rows.append(
                    [
                        label,
                        note,
                        None,
                        m0["dense_p50_ms"],
                        m0["dense_p95_ms"],
                        m0["recall_at_10"],
                        m0["results_per_query"],
                        m0["single_adds_per_s"],
                        None,
                        m0["open_s"],
                        None,
                        None,
                    ]
                )
                ratio_rows.append(
                    [
                        label,
                        m0["dense_p50_ms"] / mw["dense_p50_ms"],
                        mw["single_adds_per_s"] / m0["single_adds_per_s"],
                        mw["recall_at_10"] - m0["recall_at_10"],
                    ]
                )
                if m0["stopped"]:
                    mem0_stopped_at = (
                        f"{label} ({m0['rows']:,} rows after {m0['add_seconds']:.0f} s)"
                    )
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        del corpus
        gc.collect()
    table = markdown_table(
        [
            "memories / users",
            "system",
            "hybrid p50 ms",
            "dense p50 ms",
            "dense p95 ms",
            "recall@10",
            "results/query",
            "single adds/s",
            "bulk records/s",
            "open s",
            "scan+filter p50 ms",
            "peak RSS MiB",
        ],
        rows,
    )
    text = f"## scale\n\nMachine: {machine()}\n\n{table}\n"
    if ratio_rows:
        text += (
            "\nmnemoweave vs mem0 (same run):\n\n"
            + markdown_table(
                [
                    "memories / users",
                    "search speed-up (dense p50)",
                    "single-add speed-up",
                    "recall@10 difference",
                ],
                ratio_rows,
            )
            + "\n"
        )
    if pg_rows:
        text += (
            "\nPostgreSQL backend vs SQLite backend (same run; times: >1 is slower, "
            "rates: <1 is slower):\n\n"
            + markdown_table(
                [
                    "memories / users",
                    "dense p50 ratio",
                    "hybrid p50 ratio",
                    "single adds/s ratio",
                    "bulk records/s ratio",
                    "PostgreSQL recall@10",
                ],
                pg_rows,
            )
            + "\n"
        )
    if mem0_stopped_at:
        text += f"\nmem0 stopped at {mem0_stopped_at}: larger sizes were not run for mem0.\n"
    print(text)
    name = "scale-quick" if args.quick else "scale-postgres" if pg_url else "scale"
    write_results(name, text, figures, args.json)
    chart(name, figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
