"""What the quality levers cost: search time against today's ranking, and add time.

Search: every configuration ranks the same questions over the same scopes, interleaved round by
round so machine noise hits all alike; the figure is the median per-query time and its ratio to
the baseline's. Add: the engine's ``add(infer=False)`` latency with the local embedder, the
same with the longer texts a context-aware embedding would embed, and the extra add-time work
the recommended levers do (a time-mention regex, one dot product).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench._locomo_data import Conversation
from bench._quality_data import variant_texts
from bench._quality_levers import Levers, Scope, rank
from bench._quality_text import TIME_MENTION


def _median_ms(samples: Sequence[float]) -> float:
    return statistics.median(samples) * 1000.0 if samples else float("nan")


def search_times(
    scopes: dict[str, Scope],
    queries: Sequence[tuple[str, str]],
    qvecs: dict[str, np.ndarray],
    configs: dict[str, Levers],
    rounds: int,
) -> dict[str, float]:
    """Median milliseconds per query for each configuration (top 20).

    Configurations take turns on every query (starting with a different one each time), so
    load from other processes falls on all of them alike.
    """
    names = list(configs)
    samples: dict[str, list[float]] = {name: [] for name in names}
    turn = 0
    for _ in range(rounds):
        for conv, question in queries:
            turn += 1
            for name in names[turn % len(names) :] + names[: turn % len(names)]:
                t0 = time.perf_counter()
                rank(scopes[conv], question, qvecs[question], configs[name], 20)
                samples[name].append(time.perf_counter() - t0)
    return {name: _median_ms(v) for name, v in samples.items()}


def truncated(scopes: dict[str, Scope], rows: int) -> dict[str, Scope]:
    """The first ``rows`` rows of every scope (the size of a scope at 100k memories / 1k users)."""
    out = {}
    for name, sc in scopes.items():
        cut = slice(0, rows)
        out[name] = Scope(
            ids=sc.ids[cut],
            texts=sc.texts[cut],
            contents=sc.contents[cut],
            vectors={k: v[cut] for k, v in sc.vectors.items()},
            blobs=sc.blobs[cut],
            bigrams=sc.bigrams[cut],
            timed=sc.timed[cut],
            mentions=sc.mentions[cut],
            prev_dot=sc.prev_dot[cut],
        )
    return out


def add_costs(
    model: Any, conv: Conversation, count: int, rounds: int
) -> dict[str, dict[str, float]]:
    """What a context-aware embedding costs at add time, per text variant.

    ``add``: median latency of ``Memory.add(text, infer=False)`` with the local embedder when the
    text is the variant's (the row alone, or with the previous one or two rows): an upper bound
    on embedding the context while storing the row alone, since the longer text is also stored
    and keyword-indexed. Three stores take turns on every row. ``bulk``: embedding all the
    texts in one call, as ``batch_add`` does (median over rounds). BLAS runs on one thread and
    both wall-clock and CPU time (process, all threads) are kept: with other processes competing
    for the cores, multi-threaded BLAS latencies swing tenfold and wall time mostly measures
    waiting, while the CPU time of one thread is the work itself.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return _add_costs(model, conv, count, rounds)


def _add_costs(
    model: Any, conv: Conversation, count: int, rounds: int
) -> dict[str, dict[str, float]]:
    from mnemoweave import Memory
    from mnemoweave.embed import embed_texts

    texts = [t.dated() for t in conv.turns[:count]]
    variants = {v: variant_texts(texts, v) for v in ("turn", "prev1", "prev2")}
    names = list(variants)
    wall: dict[str, list[float]] = {v: [] for v in names}
    cpu: dict[str, list[float]] = {v: [] for v in names}
    bulk_wall: dict[str, list[float]] = {v: [] for v in names}
    bulk_cpu: dict[str, list[float]] = {v: [] for v in names}
    with tempfile.TemporaryDirectory(prefix="mnemoweave-quality-add-") as tmp:
        stores = {v: Memory(Path(tmp) / v, embedder=model) for v in names}
        try:
            for v in names:  # open each store and load the model outside the timings
                stores[v].add("warm up", user_id="warm-up", infer=False)
            for i in range(len(texts)):
                for v in names[i % 3 :] + names[: i % 3]:
                    w0, c0 = time.perf_counter(), time.process_time()
                    stores[v].add(variants[v][i], user_id=conv.sample_id, infer=False)
                    wall[v].append(time.perf_counter() - w0)
                    cpu[v].append(time.process_time() - c0)
        finally:
            for mem in stores.values():
                mem.close()
    for r in range(rounds):
        for v in names[r % 3 :] + names[: r % 3]:
            w0, c0 = time.perf_counter(), time.process_time()
            embed_texts(model, variants[v])
            bulk_wall[v].append((time.perf_counter() - w0) / len(texts))
            bulk_cpu[v].append((time.process_time() - c0) / len(texts))
    counts = getattr(model, "token_counts", None)
    return {
        v: {
            "tokens_per_text": float(np.mean(counts(variants[v]))) if counts else float("nan"),
            "add_p50_ms": _median_ms(wall[v]),
            "add_cpu_p50_ms": _median_ms(cpu[v]),
            "bulk_ms_per_text": _median_ms(bulk_wall[v]),
            "bulk_cpu_ms_per_text": _median_ms(bulk_cpu[v]),
        }
        for v in names
    }


def lever_add_ms(scope: Scope, count: int) -> float:
    """Median add-time work of the recommended levers for one row: the time-mention flag and the
    dot product with the previous row's vector (the search-time context blend's normaliser)."""
    vectors = scope.vectors["turn"]
    times = []
    for i in range(1, min(count, len(scope.contents))):
        t0 = time.perf_counter()
        bool(TIME_MENTION.search(scope.contents[i]))
        float(vectors[i] @ vectors[i - 1])
        times.append(time.perf_counter() - t0)
    return _median_ms(times)
