"""LoCoMo retrieval study: store every dialog turn raw, ask each question, check the evidence.

Each turn is stored with ``infer=False`` in its conversation's scope, once as
``"[session date] speaker: text"`` (dated) and once as ``"speaker: text"`` (plain) in separate
stores. For each question with evidence we take the top 20 and report any@k (at least one
evidence turn in the top k) and all@k (every evidence turn in the top k) for k = 1, 5, 10, 20,
per category, overall for categories 1-4, and adversarial (5) separately, plus query latency
(query embedding excluded: all texts are embedded once up front with the same model, and those
vectors are what every system receives). A second, untimed search for the top 50 gives the
ceiling a perfect reranker over ``rerank_top_k=50`` candidates could reach (the oracle rows).

    python -m bench locomo [--quick] [--data PATH] [--systems mnemoweave,mnemoweave-dense,mem0]
                           [--ranking context]

``--ranking context`` runs the mnemoweave systems twice in the same run, with the default
ranking and with ``MemoryConfig(ranking="context")``, and adds a "context − standard" row
(differences; the latency column is the p50 ratio context/standard).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (
    LookupEmbedder,
    machine,
    markdown_table,
    percentile,
    save_bar_chart,
    write_results,
)
from bench._locomo_data import CATEGORIES, DEFAULT_DATA, Conversation, load

KS = (1, 5, 10, 20)
#: Candidates a reranker reorders (``rerank_top_k``'s default): the oracle ceiling's pool.
ORACLE_K = 50
#: "mnemoweave-sum": mnemoweave with fusion="weighted_sum" (the earlier score), same run.
SYSTEMS = ("mnemoweave", "mnemoweave-sum", "mnemoweave-dense", "mem0")


def embed_all(texts: Sequence[str], embedder: Any) -> dict[str, np.ndarray]:
    """Embed each distinct text once with the real model (timed separately, not reported)."""
    from mnemoweave.embed import embed_texts

    unique = list(dict.fromkeys(texts))
    vectors = embed_texts(embedder, unique)
    return dict(zip(unique, vectors))


Searcher = Callable[[str, str, np.ndarray, int], list[str]]  # (conv, question, qvec, k) -> ids


def mnemoweave_searcher(
    conversations: Sequence[Conversation],
    variant: str,
    table: dict[str, np.ndarray],
    workdir: Path,
    keyword_weight: float | None,
    ranking: str = "standard",
    fusion: str = "noisy_or",
) -> tuple[Searcher, Callable[[], None]]:
    from mnemoweave import Memory

    embedder = LookupEmbedder()
    embedder.table = table
    mem = Memory(
        workdir / f"mnemoweave-{variant}-{keyword_weight}-{ranking}-{fusion}",
        embedder=embedder,
        ranking=ranking,
        fusion=fusion,
    )
    for conv in conversations:
        mem.batch_add(
            [
                {
                    "text": getattr(t, variant)(),
                    "user_id": conv.sample_id,
                    "metadata": {"dia_id": t.dia_id},
                }
                for t in conv.turns
            ]
        )

    def search(conv: str, question: str, _qvec: np.ndarray, k: int) -> list[str]:
        found = mem.search(question, user_id=conv, limit=k, keyword_weight=keyword_weight)
        return [item.metadata["dia_id"] for item in found.results]

    return search, mem.close


def mem0_searcher(
    conversations: Sequence[Conversation],
    variant: str,
    table: dict[str, np.ndarray],
    workdir: Path,
) -> tuple[Searcher, Callable[[], None]]:
    from bench._mem0_client import Mem0Worker

    worker = Mem0Worker().start()
    worker.init(path=str(workdir / f"mem0-{variant}"), dim=384)
    ids: dict[str, str] = {}
    for conv in conversations:
        records = [
            {
                "text": getattr(t, variant)(),
                "user_id": conv.sample_id,
                "vector": table[getattr(t, variant)()],
                "metadata": {"dia_id": t.dia_id},
            }
            for t in conv.turns
        ]
        for start in range(0, len(records), 500):
            chunk = records[start : start + 500]
            reply = worker.add_raw(chunk, timeout=1800)
            for rec, mid in zip(chunk, reply["ids"]):
                ids[mid] = rec["metadata"]["dia_id"]

    def search(conv: str, question: str, qvec: np.ndarray, k: int) -> list[str]:
        hits = worker.search(question, qvec, user_id=conv, limit=k)["results"]
        return [ids.get(h["id"], "") for h in hits]

    return search, worker.stop


def evaluate(
    conversations: Sequence[Conversation],
    search: Searcher,
    qvecs: dict[str, np.ndarray],
    limit: int | None,
    ks: Sequence[int] = KS,
) -> dict[str, Any]:
    """any@k / all@k (k in ``ks``) per category and overall (1-4), plus latency, for one system."""
    hits: dict[int, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    times: list[float] = []
    asked = 0
    for conv in conversations:
        for q in conv.questions:
            if not q.evidence:
                continue
            if limit is not None and asked >= limit:
                break
            asked += 1
            t0 = time.perf_counter()
            got = search(conv.sample_id, q.question, qvecs[q.question], max(ks))
            times.append((time.perf_counter() - t0) * 1000)
            wanted = set(q.evidence)
            for k in ks:
                top = set(got[:k])
                hits[q.category][f"any@{k}"].append(float(bool(top & wanted)))
                hits[q.category][f"all@{k}"].append(float(wanted <= top))
            # The ceiling a reranker over the first stage's top ORACLE_K can reach (untimed):
            # a perfect one puts every evidence turn found there first.
            pool = set(search(conv.sample_id, q.question, qvecs[q.question], ORACLE_K))
            found = pool & wanted
            hits[q.category][f"any@{ORACLE_K}"].append(float(bool(found)))
            hits[q.category][f"all@{ORACLE_K}"].append(float(wanted <= pool))
            hits[q.category]["oracle_all@10"].append(float(wanted <= pool and len(wanted) <= 10))
    by_category = {
        CATEGORIES[c]: {m: float(np.mean(v)) for m, v in metrics.items()}
        | {"n": len(metrics[f"any@{ks[0]}"])}
        for c, metrics in sorted(hits.items())
    }
    main = [c for c in hits if c != 5]
    overall: dict[str, float] = {}
    for metric in hits[main[0]] if main else ():
        values = [x for c in main for x in hits[c][metric]]
        overall[metric] = float(np.mean(values))
    overall["n"] = sum(len(hits[c][f"any@{ks[0]}"]) for c in main)
    overall["p50_ms"] = percentile(times, 50)
    overall["p95_ms"] = percentile(times, 95)
    return {"overall": overall, "by_category": by_category}


def chart(name: str, figures: dict[str, Any]) -> None:
    """any@10 per category and overall for every system, from the study's JSON figures."""
    cats = list(CATEGORIES.values())
    save_bar_chart(
        name,
        "LoCoMo retrieval: any@10 by category",
        [*cats, "overall 1-4"],
        {
            system: [
                *(result["by_category"].get(c, {}).get("any@10") for c in cats),
                result["overall"]["any@10"],
            ]
            for system, result in figures["systems"].items()
        },
        ylabel="any@10",
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench locomo", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one conversation, 60 questions")
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--systems", default=None, help=f"comma list from {SYSTEMS}")
    parser.add_argument("--variants", default="dated,plain")
    parser.add_argument("--json", default=None)
    parser.add_argument(
        "--ranking",
        choices=["standard", "context"],
        default="standard",
        help="context: also run the mnemoweave systems with ranking='context'",
    )
    args = parser.parse_args(argv)
    rankings = ["standard"] if args.ranking == "standard" else ["standard", "context"]

    from bench._mem0_client import mem0_available

    systems = (
        args.systems.split(",")
        if args.systems
        else [s for s in SYSTEMS if s != "mem0" or mem0_available()]
    )
    unknown = set(systems) - set(SYSTEMS)
    if unknown:
        parser.error(f"unknown systems {sorted(unknown)}")
    conversations = load(args.data)
    limit = None
    if args.quick:
        conversations, limit = conversations[:1], 60
    unresolved = sum(q.unresolved for c in conversations for q in c.questions)
    no_evidence = sum(1 for c in conversations for q in c.questions if not q.evidence)

    from mnemoweave.embed import get_embedder

    model = get_embedder("local")
    variants = args.variants.split(",")
    texts = [getattr(t, v)() for c in conversations for t in c.turns for v in variants]
    questions = [q.question for c in conversations for q in c.questions]
    t0 = time.perf_counter()
    table = embed_all(texts + questions, model)
    embed_s = time.perf_counter() - t0

    figures: dict[str, Any] = {"systems": {}}
    rows = []
    with tempfile.TemporaryDirectory(prefix="mnemoweave-locomo-") as tmp:
        work = Path(tmp)
        for variant in variants:
            for system, ranking in [
                (s, r) for s in systems for r in (["standard"] if s == "mem0" else rankings)
            ]:
                if system == "mem0":
                    search, close = mem0_searcher(conversations, variant, table, work)
                else:
                    weight = 0.0 if system == "mnemoweave-dense" else None
                    fusion = "weighted_sum" if system == "mnemoweave-sum" else "noisy_or"
                    search, close = mnemoweave_searcher(
                        conversations, variant, table, work, weight, ranking, fusion
                    )
                try:
                    result = evaluate(conversations, search, table, limit)
                finally:
                    close()
                tag = " [context]" if ranking == "context" else ""
                name = f"{system}{tag} ({variant})"
                figures["systems"][name] = result
                o = result["overall"]
                rows.append(
                    [
                        name,
                        o["any@1"],
                        o["any@5"],
                        o["any@10"],
                        o["any@20"],
                        o["all@10"],
                        o["p50_ms"],
                        int(o["n"]),
                    ]
                )
    oracle_rows = [
        [
            name,
            result["overall"]["any@10"],
            result["overall"][f"any@{ORACLE_K}"],
            result["overall"]["all@10"],
            result["overall"]["oracle_all@10"],
        ]
        for name, result in figures["systems"].items()
    ]
    for variant in variants:
        for system in [s for s in systems if s != "mem0" and len(rankings) > 1]:
            std = figures["systems"][f"{system} ({variant})"]["overall"]
            ctx = figures["systems"][f"{system} [context] ({variant})"]["overall"]
            rows.append(
                [f"{system} context − standard ({variant})"]
                + [ctx[m] - std[m] for m in ("any@1", "any@5", "any@10", "any@20", "all@10")]
                + [ctx["p50_ms"] / std["p50_ms"], ""]
            )
        mine = figures["systems"].get(f"mnemoweave ({variant})")
        theirs = figures["systems"].get(f"mem0 ({variant})")
        if mine and theirs:
            a, b = mine["overall"], theirs["overall"]
            rows.append(
                [
                    f"mnemoweave − mem0 ({variant})",
                    a["any@1"] - b["any@1"],
                    a["any@5"] - b["any@5"],
                    a["any@10"] - b["any@10"],
                    a["any@20"] - b["any@20"],
                    a["all@10"] - b["all@10"],
                    b["p50_ms"] / a["p50_ms"],
                    "",
                ]
            )
    table_md = markdown_table(
        [
            "system (text)",
            "any@1",
            "any@5",
            "any@10",
            "any@20",
            "all@10",
            "query p50 ms (ratio rows: mem0/mnemoweave, context/standard)",
            "n",
        ],
        rows,
    )
    oracle_md = markdown_table(
        [
            "system (text)",
            "any@10",
            f"oracle any@10 (= recall any@{ORACLE_K})",
            "all@10",
            f"oracle all@10 (all evidence in top {ORACLE_K})",
        ],
        oracle_rows,
    )
    cat_rows = []
    for name, result in figures["systems"].items():
        for cat, m in result["by_category"].items():
            cat_rows.append(
                [
                    name,
                    cat,
                    m["any@10"],
                    m["all@10"],
                    m["any@20"],
                    m[f"any@{ORACLE_K}"],
                    m["oracle_all@10"],
                    int(m["n"]),
                ]
            )
    cats_md = markdown_table(
        [
            "system (text)",
            "category",
            "any@10",
            "all@10",
            "any@20",
            f"oracle any@10 (top {ORACLE_K})",
            "oracle all@10",
            "n",
        ],
        cat_rows,
    )
    figures["notes"] = {
        "unresolved_evidence_ids": unresolved,
        "questions_without_evidence": no_evidence,
        "embedding_seconds": embed_s,
    }
    text = (
        f"## locomo retrieval\n\nMachine: {machine()}. Data: {Path(args.data).name}, "
        f"{len(conversations)} conversations; categories 1-4 overall. Unresolvable evidence "
        f"ids: {unresolved}; questions without evidence (skipped): {no_evidence}.\n\n"
        f"{table_md}\n\nBy category:\n\n{cats_md}\n\nCeiling of a perfect reranker over the "
        f"first stage's top {ORACLE_K} (an oracle that puts the evidence turns found there "
        f"first):\n\n{oracle_md}\n"
    )
    print(text)
    name = "locomo" if not args.quick else "locomo-quick"
    write_results(name, text, figures, args.json)
    chart(name, figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
