"""The quality study's markdown: headline against the targets, ablation, calibration, cost."""

from __future__ import annotations

from typing import Any

from bench._common import markdown_table
from bench._locomo_data import CATEGORIES

MAIN_CATS = [CATEGORIES[c] for c in (1, 2, 3, 4)]
BASE, BEST = "baseline (today's engine)", "recommended"


def _pair(metrics: dict[str, Any] | None) -> str:
    if not metrics:
        return "—"
    return f"{metrics['any@10']:.3f} / {metrics['all@10']:.3f}"


def _get(result: dict[str, Any], part: str, metric: str) -> float | None:
    found = result.get(part, {}).get("overall", {})
    return found.get(metric)


def _delta(result: dict[str, Any], base: dict[str, Any], part: str) -> float | None:
    """any@10 of ``result`` minus the baseline's on one split (None when the split is empty)."""
    mine, theirs = _get(result, part, "any@10"), _get(base, part, "any@10")
    return None if mine is None or theirs is None else mine - theirs


def _ratio(num: float | None, den: float | None) -> float | None:
    return None if num is None or not den else num / den


def headline(f: dict[str, Any]) -> str:
    base, best = f["configs"][BASE], f["configs"][BEST]
    rows = []
    for part in ("dev", "A", "B"):
        if part not in best:
            continue
        b, r = base[part], best[part]
        worst = min(
            (
                r["by_category"][c][m] - b["by_category"][c][m]
                for c in MAIN_CATS
                if c in b["by_category"]
                for m in ("any@10", "all@10")
            ),
            default=None,
        )
        mh_b = b["by_category"].get("multi-hop", {}).get("all@10")
        mh_r = r["by_category"].get("multi-hop", {}).get("all@10")
        rows.append(
            [
                part,
                b["overall"]["any@10"],
                r["overall"]["any@10"],
                b["overall"]["all@10"],
                r["overall"]["all@10"],
                mh_b,
                mh_r,
                worst,
            ]
        )
    table = markdown_table(
        [
            "split",
            "any@10 today",
            "any@10 recommended (target ≥ 0.80)",
            "all@10 today",
            "all@10 recommended (target ≥ 0.65)",
            "multi-hop all@10 today",
            "multi-hop all@10 recommended (target 2x)",
            "worst category change (any/all@10, target ≥ 0)",
        ],
        rows,
    )
    ms, small = f["search_ms"], f["search_ms_100_rows"]
    add = f["add"]
    rows = []
    for label, times, key in (
        ("LoCoMo scopes (~600 rows)", ms, "engine"),
        ("100-row scopes (100k memories / 1k users)", small, "engine_100_rows"),
    ):
        extra = times[BEST] - times[BASE]
        engine = f.get(key, {}).get("result", {}).get("overall", {}).get("p50_ms")
        rows.append(
            [
                f"search p50 ms, {label}: scoring only",
                times[BASE],
                times[BEST],
                f"{times[BEST] / times[BASE]:.2f}x",
            ]
        )
        if engine is not None:
            rows.append(
                [
                    f"search p50 ms, {label}: engine + the extra scoring",
                    engine,
                    engine + extra,
                    f"{(engine + extra) / engine:.2f}x (≤ 2x)",
                ]
            )
    base_add = add["variants"]["turn"]["add_cpu_p50_ms"]
    ratio = 1 + add["levers_add_p50_ms"] / base_add
    rows.append(
        [
            "add CPU p50 ms: engine add(infer=False) + the levers' add-time work",
            base_add,
            base_add + add["levers_add_p50_ms"],
            f"{ratio:.3f}x (≤ 1.3x)",
        ]
    )
    cost = markdown_table(["cost", "today", "recommended", "ratio (target)"], rows)
    return f"{table}\n\n{cost}"


def ablation(f: dict[str, Any]) -> str:
    base = f["configs"][BASE]
    ms = f["search_ms"]
    rows = []
    for name, res in f["configs"].items():
        if res["group"] == "oracle":
            continue
        rows.append(
            [
                name,
                res["group"],
                _get(res, "dev", "any@1"),
                _get(res, "dev", "any@5"),
                _get(res, "dev", "any@10"),
                _get(res, "dev", "any@20"),
                _get(res, "dev", "all@10"),
                _get(res, "A", "any@10"),
                _get(res, "A", "all@10"),
                _get(res, "B", "any@10"),
                _get(res, "B", "all@10"),
                _delta(res, base, "dev"),
                _delta(res, base, "B"),
                _ratio(ms.get(name), ms[BASE]),
            ]
        )
    return markdown_table(
        [
            "configuration",
            "group",
            "any@1",
            "any@5",
            "any@10",
            "any@20",
            "all@10",
            "A any@10",
            "A all@10",
            "B any@10",
            "B all@10",
            "Δ any@10",
            "Δ B any@10",
            "search ratio",
        ],
        rows,
    )


def by_category(f: dict[str, Any], part: str) -> str:
    rows = []
    for name, res in f["configs"].items():
        if part not in res:
            continue
        cats = res[part]["by_category"]
        rows.append([name, *(_pair(cats.get(c)) for c in MAIN_CATS), _pair(res[part]["overall"])])
    return markdown_table(["configuration", *MAIN_CATS, "overall 1-4"], rows)


def ceiling(f: dict[str, Any]) -> str:
    rows = []
    for name, res in f["configs"].items():
        if res["group"] in ("oracle",) or name in (BASE, BEST):
            o = res["dev"]["overall"]
            rows.append([name, o["any@1"], o["any@5"], o["any@10"], o["all@10"], o["any@20"]])
    recall = [
        [k, v.get("any@50"), v.get("all@50")]
        for k, v in f["notes"].items()
        if k.startswith("recall@")
    ]
    return (
        markdown_table(["ranking (dev)", "any@1", "any@5", "any@10", "all@10", "any@20"], rows)
        + "\n\n"
        + markdown_table(["first stage", "any@50", "all@50"], recall)
    )


def calibration(f: dict[str, Any]) -> str:
    rows = [
        [
            name,
            c["cos_0.8_no_keyword"],
            c["related_p50"],
            c["related_pass_0.5"],
            c["related_pass_0.7"],
            c["unrelated_p50"],
            c["unrelated_p95"],
            c["unrelated_p99"],
            c["unrelated_pass_0.5"],
            c["unrelated_pass_0.7"],
            _get(f["configs"].get(_CAL_CONFIG.get(name, ""), {}), "dev", "any@10"),
        ]
        for name, c in f["calibration"].items()
    ]
    return markdown_table(
        [
            "fusion",
            "score of cos 0.8, no keyword",
            "related top-1 p50",
            "related ≥ 0.5",
            "related ≥ 0.7",
            "unrelated top-1 p50",
            "p95",
            "p99",
            "unrelated ≥ 0.5",
            "unrelated ≥ 0.7",
            "dev any@10",
        ],
        rows,
    )


_CAL_CONFIG = {
    "today (sum)": BASE,
    "noisy-OR": "fusion noisy-OR",
    "noisy-OR, floor 0.3, K 20": "fusion noisy-OR, cos floor 0.3, K 20",
    "sum + dense path": "fusion sum + dense path (0.65, 0.85)",
    "recommended without dense path": "- dense path",
    "recommended": BEST,
}


def add_cost(f: dict[str, Any]) -> str:
    variants = f["add"]["variants"]
    one = variants["turn"]
    names = {
        "turn": "row text (today)",
        "prev1": "previous row + row",
        "prev2": "previous 2 rows + row",
    }
    rows = [
        [
            names[name],
            v["tokens_per_text"],
            v["add_p50_ms"],
            v["add_p50_ms"] / one["add_p50_ms"],
            v["add_cpu_p50_ms"],
            v["add_cpu_p50_ms"] / one["add_cpu_p50_ms"],
            v["bulk_cpu_ms_per_text"],
            v["bulk_cpu_ms_per_text"] / one["bulk_cpu_ms_per_text"],
        ]
        for name, v in variants.items()
    ]
    return markdown_table(
        [
            "text embedded per row",
            "tokens",
            "add p50 ms",
            "ratio",
            "add CPU p50 ms",
            "ratio (≤ 1.3)",
            "batch_add embedding CPU ms per text",
            "ratio",
        ],
        rows,
    )


def report(f: dict[str, Any], machine: str, data: str, conversations: int) -> str:
    engine = f.get("engine")
    check = "Engine check skipped."
    if engine:
        o = engine["result"]["overall"]
        check = (
            f"Engine check: `Memory.search` returned the same top 20 as the baseline for "
            f"{engine['identical_top20']} of {engine['questions']} questions; engine any@10 "
            f"{o['any@10']:.3f}, all@10 {o['all@10']:.3f}."
        )
    notes = f["notes"]
    timing = markdown_table(
        ["configuration", "search p50 ms", "ratio"],
        [[k, v, v / f["search_ms"][BASE]] for k, v in f["search_ms"].items()],
    )
    return (
        f"## quality\n\nMachine: {machine}. Data: {data}, {conversations} conversations; half A "
        f"(tuning) {', '.join(notes['half_A']) or 'none'}; half B (held out) "
        f"{', '.join(notes['half_B']) or 'none'}. "
        f"Categories 1-4 overall. {check}\n\n"
        f"### Against the targets\n\n{headline(f)}\n\n"
        f"### Ablation (overall 1-4)\n\n{ablation(f)}\n\n"
        f"### By category, dev (any@10 / all@10)\n\n{by_category(f, 'dev')}\n\n"
        + (
            f"### By category, held-out half B (any@10 / all@10)\n\n{by_category(f, 'B')}\n\n"
            if notes["half_B"]
            else ""
        )
        + f"### Ceiling: a perfect reranker over the top 50\n\n{ceiling(f)}\n\n"
        f"### Threshold calibration (best-match score, related vs unrelated queries)\n\n"
        f"{calibration(f)}\n\n"
        f"### Search time (scoring only, median per query)\n\n{timing}\n\n"
        f"### Add cost of a context-aware embedding (local embedder)\n\n"
        f"{add_cost(f)}\n"
    )
