"""Scale study: scoped search latency and recall, add throughput, open time, memory.

Embedding is excluded everywhere (texts carry the index of a precomputed random vector), so
the figures are the store's own cost. The baseline in the same run is an exact numpy scan of
every vector followed by a scope filter ("search globally, then filter"), the approach scoped
search is meant to beat; recall is measured against exact numpy search inside the scope.

    python -m bench scale [--quick] [--sizes 100000:1000,1000000:10000]
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

from bench._common import machine, markdown_table, peak_rss_mb, percentile, write_results

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


def run_memweave(corpus: Corpus, workdir: Path, *, single_adds: int = 1000) -> dict[str, Any]:
    from memweave import Memory

    n = len(corpus.texts)
    embedder = IndexEmbedder(corpus.vectors)
    path = workdir / "memweave"
    out: dict[str, Any] = {"n": n}
    mem = Memory(path, embedder=embedder)
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
    mem = Memory(path, embedder=embedder)
    mem.search("warm #0", user_id="user0")
    out["open_s"] = time.perf_counter() - start
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
    by_user: dict[str, np.ndarray] = {}
    order = np.argsort(corpus.users, kind="stable")
    bounds = np.searchsorted(corpus.users[order], np.arange(corpus.users.max() + 2))
    id_of_text: dict[str, int] = {}
    hits = total = 0
    for text, user, qvec in corpus.queries[:200]:
        uid = int(user[4:])
        rows = by_user.setdefault(user, order[bounds[uid] : bounds[uid + 1]])
        truth = rows[np.argsort(-(corpus.vectors[rows] @ qvec), kind="stable")[:10]]
        got = mem.search(text, user_id=user, limit=10, keyword_weight=0.0).results
        got_rows = {id_of_text.setdefault(r.memory, int(r.memory.rsplit("#", 1)[1])) for r in got}
        hits += len(got_rows & set(truth.tolist()))
        total += len(truth)
    out["recall_at_10"] = hits / total if total else float("nan")

    # Baseline: exact scan of all vectors, then keep the scope's rows.
    matrix = corpus.vectors[:n]
    times = []
    for _, user, qvec in corpus.queries[:200]:
        uid = int(user[4:])
        t0 = time.perf_counter()
        scores = matrix @ qvec
        mask = corpus.users == uid
        cand = np.flatnonzero(mask)
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
    full = Memory(path, embedder=embedder, durability="full")
    times = []
    for i in range(min(single_adds, 300)):
        t0 = time.perf_counter()
        full.add(f"full durability add {i} #{base + i}", user_id="user1", infer=False)
        times.append((time.perf_counter() - t0) * 1000)
    out["single_add_full_p50_ms"] = percentile(times, 50)
    out["single_adds_full_per_s"] = len(times) / (sum(times) / 1000)
    full.close()
    out["peak_rss_mb"] = peak_rss_mb()
    return out


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
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--json", default=None, help="also write figures as JSON here")
    args = parser.parse_args(argv)
    if args.sizes:
        sizes = parse_sizes(args.sizes)
    elif args.quick:
        sizes = [(5_000, 50)]
    else:
        sizes = [(100_000, 1_000), (1_000_000, 10_000)]
    queries = 100 if args.quick else args.queries
    rows = []
    figures: dict[str, Any] = {"systems": {"memweave": {"overall": {}, "by_size": {}}}}
    for n, users in sizes:
        corpus = make_corpus(n, users, queries)
        workdir = Path(tempfile.mkdtemp(prefix="memweave-scale-"))
        try:
            res = run_memweave(corpus, workdir, single_adds=200 if args.quick else 1000)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        del corpus
        gc.collect()
        figures["systems"]["memweave"]["by_size"][f"{n}/{users}"] = res
        rows.append(
            [
                f"{n:,} / {users:,}",
                res["hybrid_p50_ms"],
                res["hybrid_p95_ms"],
                res["dense_p50_ms"],
                res["recall_at_10"],
                res["baseline_scan_p50_ms"],
                res["baseline_scan_p50_ms"] / res["hybrid_p50_ms"],
                res["bulk_records_per_s"],
                res["single_adds_per_s"],
                res["single_adds_full_per_s"],
                res["open_s"],
                res["open_rebuild_s"],
                res["peak_rss_mb"],
            ]
        )
    table = markdown_table(
        [
            "memories / users",
            "search p50 ms",
            "search p95 ms",
            "dense-only p50 ms",
            "recall@10",
            "scan+filter p50 ms",
            "speed-up vs scan",
            "bulk records/s",
            "single adds/s",
            "single adds/s (full fsync)",
            "open s",
            "open s (rebuild)",
            "peak RSS MiB",
        ],
        rows,
    )
    text = f"## scale (memweave)\n\nMachine: {machine()}\n\n{table}\n"
    print(text)
    write_results("scale" if not args.quick else "scale-quick", text, figures, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
