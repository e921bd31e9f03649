"""Retrieval quality study on LoCoMo: today's ranking, each lever alone, combinations, an oracle.

Every turn of a conversation is one row of that conversation's scope, stored as
``"[session date] speaker: text"`` (bench/locomo.py's dated variant) and embedded with
mnemoweave's local model (vectors cached under bench/.cache). The baseline reproduces the
engine's ranking exactly (checked against ``Memory.search`` in the same run); each lever is then
measured alone, the recommended set with each of its levers left out, and a perfect reranker
over the recommended top 50. Conversations are split in two halves (alternating by id): levers
were tuned on half A; half B is reported as held out. Also measured: the score distribution of
the best match for related and unrelated queries (threshold calibration), search time against
the baseline, and add time. Levers and their exact algorithms: bench/QUALITY_NOTES.md.

    python -m bench quality [--quick] [--data PATH] [--no-engine-check] [--rounds N]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import machine, save_bar_chart, write_results
from bench._locomo_data import CATEGORIES, DEFAULT_DATA, Conversation, load
from bench._quality_data import build_scopes, question_vectors
from bench._quality_levers import CANDIDATES, Levers, Scope, fuse, normalise, rank, score_rows
from bench._vector_cache import VectorCache
from bench.locomo import evaluate

BASE = Levers()
RECOMMENDED = Levers(
    dense_prev=0.5,
    k1=0.9,
    b=0.4,
    keyword_half=20.0,
    prf_terms=5,
    time_boost=0.05,
    neighbour=0.5,
    neighbour_gap=True,
    lists_plain=True,
    dense_path=(0.65, 0.85),
    bounded=True,
)
R = RECOMMENDED
BASE_NAME = "baseline (today's engine)"
GAP = BASE.but(neighbour=0.5, neighbour_gap=True)
# The recommended set without the three levers tuned on half A alone (context vector, BM25
# k1/b, K 20): the simpler alternative.
FIVE = R.but(dense_prev=0.0, k1=1.2, b=0.75, keyword_half=10.0)
NOISY_OR_FLOOR = BASE.but(fusion="noisy_or", dense_floor=0.3, keyword_half=20.0)
# (name, group, levers): "alone" = one lever on today's ranking; "without" = the recommended set
# minus one lever; "plus" = the recommended set plus one lever that did not make it.
CONFIGS: list[tuple[str, str, Levers]] = [
    (BASE_NAME, "base", BASE),
    ("context text: previous row + row", "alone", BASE.but(embedding="prev1")),
    ("context text: previous 2 rows + row", "alone", BASE.but(embedding="prev2")),
    ("context vector: v + 0.5 v_prev (stored)", "alone", BASE.but(embedding="blend")),
    ("context vector at search time (0.5)", "alone", BASE.but(dense_prev=0.5)),
    ("BM25 k1 0.9, b 0.4", "alone", BASE.but(k1=0.9, b=0.4)),
    ("keyword saturation K 20", "alone", BASE.but(keyword_half=20.0)),
    ("keyword weight 0.4", "alone", BASE.but(keyword_weight=0.4)),
    ("keyword weight 0.6", "alone", BASE.but(keyword_weight=0.6)),
    ("bigrams (weight 0.5)", "alone", BASE.but(bigrams=0.5)),
    ("keyword PRF 5 terms", "alone", BASE.but(prf_terms=5)),
    ("keyword PRF 10 terms", "alone", BASE.but(prf_terms=10)),
    ("dense PRF (Rocchio 0.3)", "alone", BASE.but(dense_prf=0.3)),
    ("time questions: boost time mentions 0.05", "alone", BASE.but(time_boost=0.05)),
    ("time: resolved relative dates as terms", "alone", BASE.but(time_resolve=True)),
    ("entity terms x2 in BM25", "alone", BASE.but(entity=2.0)),
    ("entity boost 0.1", "alone", BASE.but(entity_boost=0.1)),
    ("neighbours: + 0.4 max(prev, next)", "alone", BASE.but(neighbour=0.4)),
    ("neighbours: + 0.5 gap to the better one", "alone", GAP),
    ("neighbours: max(own, 0.85 x better)", "alone", BASE.but(neighbour=0.85, neighbour_lift=True)),
    ("MMR lambda 0.8", "alone", BASE.but(mmr=0.8)),
    ("recency 0.05", "alone", BASE.but(recency=0.05)),
    ("fusion noisy-OR", "alone", BASE.but(fusion="noisy_or")),
    ("fusion noisy-OR, cos floor 0.3, K 20", "alone", NOISY_OR_FLOOR),
    ("fusion sum + dense path (0.65, 0.85)", "alone", BASE.but(dense_path=(0.65, 0.85))),
    ("recommended", "best", R),
    ("- context vector", "without", R.but(dense_prev=0.0)),
    ("- BM25 k1/b", "without", R.but(k1=1.2, b=0.75)),
    ("- keyword K 20", "without", R.but(keyword_half=10.0)),
    ("- keyword PRF", "without", R.but(prf_terms=0)),
    ("- time boost", "without", R.but(time_boost=0.0)),
    ("- neighbours", "without", R.but(neighbour=0.0)),
    ("- list questions plain", "without", R.but(lists_plain=False)),
    ("- dense path", "without", R.but(dense_path=None)),
    ("- bounded boosts", "without", R.but(bounded=False)),
    ("+ context text prev 2 (for the vector)", "plus", R.but(dense_prev=0.0, embedding="prev2")),
    ("+ resolved relative dates", "plus", R.but(time_resolve=True)),
    ("+ bigrams 0.5", "plus", R.but(bigrams=0.5)),
    ("+ entity boost 0.1", "plus", R.but(entity_boost=0.1)),
    ("+ MMR 0.9", "plus", R.but(mmr=0.9)),
    ("+ dense PRF 0.3", "plus", R.but(dense_prf=0.3)),
    ("five levers: neighbours, time, lists, PRF, dense path", "alt", FIVE),
]  # fmt: skip
MAIN_CATS = [CATEGORIES[c] for c in (1, 2, 3, 4)]


def halves(conversations: Sequence[Conversation]) -> tuple[list[Conversation], list[Conversation]]:
    """Half A (tuning) and half B (held out): conversations sorted by id, alternating."""
    ordered = sorted(conversations, key=lambda c: c.sample_id)
    return ordered[0::2], ordered[1::2]


def searcher(scopes: dict[str, Scope], lv: Levers) -> Any:
    return lambda conv, question, qvec, k: rank(scopes[conv], question, qvec, lv, k)


def oracle(scopes: dict[str, Scope], lv: Levers, conversations: Sequence[Conversation]) -> Any:
    """A perfect reranker over ``lv``'s top CANDIDATES: evidence first, then the rest in order."""
    evidence = {
        (c.sample_id, q.question): set(q.evidence) for c in conversations for q in c.questions
    }

    def search(conv: str, question: str, qvec: np.ndarray, k: int) -> list[str]:
        got = rank(scopes[conv], question, qvec, lv, CANDIDATES)
        wanted = evidence[(conv, question)]
        return sorted(got, key=lambda i: i not in wanted)[:k]

    return search


def merge(parts: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Combine per-half results into one (question-weighted means; latency dropped)."""
    by_cat: dict[str, dict[str, float]] = {}
    for cat in CATEGORIES.values():
        found = [p["by_category"][cat] for p in parts if cat in p["by_category"]]
        n = sum(f["n"] for f in found)
        if n:
            metrics = [m for m in found[0] if m != "n"]
            by_cat[cat] = {m: sum(f[m] * f["n"] for f in found) / n for m in metrics} | {"n": n}
    main = [by_cat[c] for c in MAIN_CATS if c in by_cat]
    n = sum(m["n"] for m in main)
    overall: dict[str, float] = {"n": n}
    if main:
        for metric in (m for m in main[0] if m != "n"):
            overall[metric] = sum(m[metric] * m["n"] for m in main) / n
    return {"overall": overall, "by_category": by_cat}


def run_config(
    lv: Levers, scopes: dict[str, Scope], split: dict[str, list[Conversation]], qvecs: Any
) -> dict[str, Any]:
    out = {
        name: evaluate(part, searcher(scopes, lv), qvecs, None)
        for name, part in split.items()
        if part
    }
    out["dev"] = merge(list(out.values()))
    return out


def engine_check(
    conversations: Sequence[Conversation], scopes: dict[str, Scope], qvecs: dict[str, np.ndarray]
) -> dict[str, Any]:
    """Run the real engine on the same rows and vectors: how many top-20 lists are identical to
    the baseline's, its metrics, and its search latency (p50 of the same questions)."""
    import tempfile

    from bench._common import LookupEmbedder
    from mnemoweave import Memory

    embedder = LookupEmbedder()
    embedder.table = dict(qvecs)
    for sc in scopes.values():
        embedder.table.update(zip(sc.texts, sc.vectors["turn"]))
    with tempfile.TemporaryDirectory(prefix="mnemoweave-quality-") as tmp:
        mem = Memory(Path(tmp) / "store", embedder=embedder)
        try:
            for conv in conversations:
                sc = scopes[conv.sample_id]
                mem.batch_add(
                    [
                        {"text": t, "user_id": conv.sample_id, "metadata": {"dia_id": i}}
                        for t, i in zip(sc.texts, sc.ids)
                    ]
                )

            def search(conv: str, question: str, _q: np.ndarray, k: int) -> list[str]:
                found = mem.search(question, user_id=conv, limit=k)
                return [item.metadata["dia_id"] for item in found.results]

            same = total = 0
            for conv in conversations:
                for q in conv.questions:
                    mine = rank(scopes[conv.sample_id], q.question, qvecs[q.question], BASE, 20)
                    same += search(conv.sample_id, q.question, qvecs[q.question], 20) == mine
                    total += 1
            result = evaluate(conversations, search, qvecs, None)
        finally:
            mem.close()
    return {"identical_top20": same, "questions": total, "result": result}


def calibration(
    conversations: Sequence[Conversation],
    scopes: dict[str, Scope],
    qvecs: dict[str, np.ndarray],
    configs: dict[str, Levers],
) -> dict[str, dict[str, float]]:
    """Best-match scores for related queries (the scope's own questions) and unrelated ones
    (the next conversation's questions), and the score of cosine 0.8 with no shared keyword."""
    out = {}
    for name, lv in configs.items():
        related, unrelated = [], []
        for i, conv in enumerate(conversations):
            sc = scopes[conv.sample_id]
            other = conversations[(i + 1) % len(conversations)] if len(conversations) > 1 else None
            for q in conv.questions:
                if q.evidence and q.category != 5:
                    related.append(score_rows(sc, q.question, qvecs[q.question], lv)[0].max())
            for q in other.questions if other else []:
                if q.evidence and q.category != 5:
                    unrelated.append(score_rows(sc, q.question, qvecs[q.question], lv)[0].max())
        cos = np.array([0.8])
        row = {"cos_0.8_no_keyword": float(fuse(*normalise(cos, np.zeros(1), lv), lv, cos)[0])}
        for label, values in (("related", related), ("unrelated", unrelated)):
            arr = np.asarray(values) if values else np.full(1, np.nan)
            for p in (50, 95, 99):
                row[f"{label}_p{p}"] = float(np.percentile(arr, p))
            for t in (0.5, 0.7):
                row[f"{label}_pass_{t}"] = float(np.mean(arr >= t))
        out[name] = row
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench quality", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="two conversations, 1 timing round")
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--no-engine-check", action="store_true")
    parser.add_argument("--rounds", type=int, default=5, help="timing rounds (interleaved)")
    parser.add_argument("--add-sample", type=int, default=120, help="turns timed for add cost")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)

    from bench import _quality_cost as cost
    from bench._quality_report import report
    from mnemoweave.embed import embed_texts, get_embedder

    conversations = load(args.data)
    if args.quick:
        conversations = conversations[:2]
        args.rounds, args.add_sample = 1, min(args.add_sample, 20)
    model = get_embedder("local")
    cache = VectorCache(model.model_id)
    t0 = time.perf_counter()
    scopes, missed = build_scopes(conversations, cache, lambda t: embed_texts(model, t))
    qvecs, qmissed = question_vectors(conversations, cache, lambda t: embed_texts(model, t))
    embed_s = time.perf_counter() - t0
    half_a, half_b = halves(conversations)
    split = {"A": half_a, "B": half_b}

    figures: dict[str, Any] = {"configs": {}, "notes": {}}
    for name, group, lv in CONFIGS:
        figures["configs"][name] = {"group": group, **run_config(lv, scopes, split, qvecs)}
    for name, lv in (("baseline", BASE), ("recommended", R)):
        figures["configs"][f"oracle over {name} top {CANDIDATES}"] = {
            "group": "oracle",
            "dev": evaluate(conversations, oracle(scopes, lv, conversations), qvecs, None),
        }
        figures["notes"][f"recall@{CANDIDATES} {name}"] = evaluate(
            conversations, searcher(scopes, lv), qvecs, None, ks=(CANDIDATES,)
        )["overall"]
    small = cost.truncated(scopes, 100)
    if not args.no_engine_check:
        figures["engine"] = engine_check(conversations, scopes, qvecs)
        figures["engine_100_rows"] = engine_check(conversations, small, qvecs)
    figures["calibration"] = calibration(
        conversations,
        scopes,
        qvecs,
        {
            "today (sum)": BASE,
            "noisy-OR": BASE.but(fusion="noisy_or"),
            "noisy-OR, floor 0.3, K 20": NOISY_OR_FLOOR,
            "sum + dense path": BASE.but(dense_path=(0.65, 0.85)),
            "recommended without dense path": R.but(dense_path=None),
            "recommended": R,
        },
    )
    queries = [(c.sample_id, q.question) for c in conversations for q in c.questions if q.evidence]
    timed = {name: lv for name, group, lv in CONFIGS if group in ("base", "alone", "best")}
    timed["recommended - keyword PRF"] = R.but(prf_terms=0)
    figures["search_ms"] = cost.search_times(scopes, queries, qvecs, timed, args.rounds)
    figures["search_ms_100_rows"] = cost.search_times(
        small,
        queries,
        qvecs,
        {BASE_NAME: BASE, "recommended": R, "recommended - keyword PRF": R.but(prf_terms=0)},
        args.rounds,
    )
    variants = cost.add_costs(model, conversations[0], args.add_sample, args.rounds)
    figures["add"] = {
        "variants": variants,
        "levers_add_p50_ms": cost.lever_add_ms(scopes[conversations[0].sample_id], args.add_sample),
    }
    figures["notes"] |= {
        "texts_embedded_this_run": missed + qmissed,
        "embedding_seconds": embed_s,
        "half_A": [c.sample_id for c in half_a],
        "half_B": [c.sample_id for c in half_b],
        "recommended": repr(R),
    }
    text = report(figures, machine(), Path(args.data).name, len(conversations))
    print(text)
    name = "quality-quick" if args.quick else "quality"
    write_results(name, text, figures, args.json)
    save_bar_chart(
        name,
        "LoCoMo dev: any@10 by category",
        [*MAIN_CATS, "overall 1-4"],
        {
            label: [
                *(
                    figures["configs"][key]["dev"]["by_category"].get(c, {}).get("any@10")
                    for c in MAIN_CATS
                ),
                figures["configs"][key]["dev"]["overall"].get("any@10"),
            ]
            for label, key in (
                ("baseline", BASE_NAME),
                ("recommended", "recommended"),
                ("oracle over recommended top 50", f"oracle over recommended top {CANDIDATES}"),
            )
        },
        ylabel="any@10",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
