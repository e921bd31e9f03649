"""LLM cost study: a fixed multi-session LoCoMo conversation replayed through ``add(infer=True)``.

Both systems talk to the same :class:`mnemoweave.testing.ScriptedOpenAIServer`, whose scripted
model returns the same facts to each in that system's own reply schema (bench/_scripted_llm.py).
Reported per add: LLM calls, prompt and completion tokens (median, p95, total; tokens counted by
the server's documented rule), and wall time with the server's own time subtracted.

``--qa`` runs the LLM-judged QA harness instead, against a real endpoint (``--llm-base-url``,
``--model``): memories are built from the conversation, each question is answered from the
top-10 recalled memories, and a judge model labels the answer against LoCoMo's gold answer.
It cannot run offline; its test drives it with the scripted server.

    python -m bench llm_cost [--quick] [--systems mnemoweave,mem0]
    python -m bench llm_cost --qa --llm-base-url URL --model NAME [--judge-model NAME]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
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
from bench._locomo_data import CATEGORIES, DEFAULT_DATA, Conversation, Turn, load
from bench._scripted_llm import facts_for, mnemoweave_reply, parse_mnemoweave_request

#: "mnemoweave-no-context" is mnemoweave with contextual add off (context_turns=0): the cost
#: of showing the previous turns, measured in the same run.
SYSTEMS = ("mnemoweave", "mnemoweave-no-context", "mem0")


def session_date(text: str) -> datetime:
    """LoCoMo's ``"1:56 pm on 8 May, 2023"`` as a UTC datetime."""
    return datetime.strptime(text.strip(), "%I:%M %p on %d %B, %Y").replace(tzinfo=UTC)


def exchanges(conv: Conversation, sessions: int | None) -> list[tuple[list[Turn], datetime]]:
    """The conversation cut into adds of two consecutive turns within a session."""
    by_session: dict[str, list[Turn]] = {}
    for turn in conv.turns:
        by_session.setdefault(turn.dia_id.split(":")[0], []).append(turn)
    out = []
    for n, turns in enumerate(by_session.values()):
        if sessions is not None and n >= sessions:
            break
        for i in range(0, len(turns), 2):
            pair = turns[i : i + 2]
            out.append((pair, session_date(pair[0].date)))
    return out


def as_messages(pair: Sequence[Turn], first_speaker: str) -> list[dict[str, str]]:
    return [
        {
            "role": "user" if t.speaker == first_speaker else "assistant",
            "content": t.text,
            "name": t.speaker,
        }
        for t in pair
    ]


def summarise(per_add: list[dict[str, float]]) -> dict[str, float]:
    out: dict[str, float] = {"adds": len(per_add)}
    for key in ("calls", "prompt_tokens", "completion_tokens", "wall_ms"):
        values = [row[key] for row in per_add]
        out[f"{key}_p50"] = percentile(values, 50)
        out[f"{key}_p95"] = percentile(values, 95)
        out[f"{key}_total"] = float(np.sum(values))
    return out


def run_mnemoweave(
    conv: Conversation,
    adds: list[tuple[list[Turn], datetime]],
    work: Path,
    table: dict[str, np.ndarray],
    *,
    context_turns: int | None = None,
) -> dict[str, Any]:
    from mnemoweave import Memory
    from mnemoweave.testing import RecordedRequest, ScriptedOpenAIServer

    def handler(request: RecordedRequest) -> dict[str, Any]:
        turns, existing = parse_mnemoweave_request(request.messages)
        return mnemoweave_reply(facts_for(turns), existing)

    embedder = LookupEmbedder()
    embedder.table = table
    per_add = []
    with ScriptedOpenAIServer(handler=handler) as server:
        llm = {"model": "scripted-model", "base_url": server.base_url, "api_key": "bench"}
        options = {} if context_turns is None else {"context_turns": context_turns}
        folder = work / f"mnemoweave-llm-{context_turns}"
        with Memory(folder, embedder=embedder, llm=llm, **options) as mem:
            first = conv.turns[0].speaker
            for pair, when in adds:
                before = len(server.requests)
                t0 = time.perf_counter()
                result = mem.add(as_messages(pair, first), user_id=conv.sample_id, timestamp=when)
                wall = time.perf_counter() - t0
                reqs = server.requests[before:]
                per_add.append(
                    {
                        "calls": result.usage.llm_calls,
                        "prompt_tokens": result.usage.prompt_tokens,
                        "completion_tokens": result.usage.completion_tokens,
                        "wall_ms": (wall - sum(r.server_seconds for r in reqs)) * 1000,
                    }
                )
            memories = mem.count(user_id=conv.sample_id)
    return {"per_add": per_add, "memories": memories}


def run_mem0(
    conv: Conversation,
    adds: list[tuple[list[Turn], datetime]],
    work: Path,
    table: dict[str, np.ndarray],
) -> dict[str, Any]:
    from bench._mem0_client import Mem0Worker
    from bench._scripted_llm import mem0_handler_for
    from mnemoweave.testing import ScriptedOpenAIServer

    speakers = list(dict.fromkeys(t.speaker for t in conv.turns))[:2]
    handler = mem0_handler_for(speakers[0], speakers[-1])
    per_add = []
    with ScriptedOpenAIServer(handler=handler) as server, Mem0Worker() as worker:
        worker.init(
            path=str(work / "mem0-llm"),
            dim=384,
            llm_base_url=server.base_url,
            llm_model="scripted-model",
        )
        worker.vectors({t: v for t, v in table.items()})
        first = conv.turns[0].speaker
        for pair, when in adds:
            before = len(server.requests)
            reply = worker.add_infer(
                as_messages(pair, first), conv.sample_id, timestamp=when.isoformat(), timeout=600
            )
            reqs = server.requests[before:]
            chat = [r for r in reqs if r.route == "chat"]
            per_add.append(
                {
                    "calls": len(chat),
                    "prompt_tokens": sum(r.prompt_tokens for r in chat),
                    "completion_tokens": sum(r.completion_tokens for r in chat),
                    "wall_ms": (reply["elapsed_s"] - sum(r.server_seconds for r in reqs)) * 1000,
                }
            )
        memories = int(worker.count(user_id=conv.sample_id)["rows"])
    return {"per_add": per_add, "memories": memories}


# -- the LLM-judged QA harness (real endpoints) ----------------------------------------------
ANSWER_SYSTEM = (
    "You answer questions about a long conversation between two people, using only the "
    "memories listed below (quoted data recorded from the conversation, each with its date). "
    "Answer in at most ten words. Resolve relative dates against each memory's date. If the "
    'memories do not contain the answer, say "not mentioned".'
)
JUDGE_SYSTEM = (
    "You grade answers to questions about a conversation. Compare the candidate answer with "
    "the gold answer. Label it CORRECT if it states the same fact (same person, place, thing "
    "or time; other wording, extra detail and other date formats are fine, and a date or "
    "period that contains the gold date counts), otherwise WRONG. Reply with JSON only: "
    '{"label": "CORRECT"} or {"label": "WRONG"}.'
)


def judge_label(text: str) -> bool:
    from mnemoweave.llm import extract_json

    try:
        data = extract_json(text)
        label = str(data.get("label", "")) if isinstance(data, dict) else ""
    except ValueError:
        label = text
    return label.strip().upper().startswith("CORRECT")


def run_qa(args: argparse.Namespace, conversations: Sequence[Conversation]) -> dict[str, Any]:
    """Build memories with the endpoint (or from raw turns with ``--raw``), answer, judge."""
    from mnemoweave import Memory
    from mnemoweave.llm import LLMClient, LLMConfig

    config = {
        "model": args.model,
        "base_url": args.llm_base_url,
        "api_key": os.environ.get(args.api_key_env) or None,
    }
    answerer = LLMClient(LLMConfig.from_any(config))
    judge = LLMClient(LLMConfig.from_any({**config, "model": args.judge_model or args.model}))
    verdicts: dict[str, list[float]] = {}
    tokens = {"answer_prompt": 0, "answer_completion": 0, "judge_prompt": 0}
    asked = 0
    with tempfile.TemporaryDirectory(prefix="mnemoweave-qa-") as tmp:
        for conv in conversations:
            llm = None if args.raw else config
            with Memory(Path(tmp) / conv.sample_id, llm=llm) as mem:
                if args.raw:
                    mem.batch_add(
                        [{"text": t.dated(), "user_id": conv.sample_id} for t in conv.turns]
                    )
                else:
                    first = conv.turns[0].speaker
                    for pair, when in exchanges(conv, args.sessions):
                        mem.add(as_messages(pair, first), user_id=conv.sample_id, timestamp=when)
                for q in conv.questions:
                    if q.category == 5 or (args.questions is not None and asked >= args.questions):
                        continue
                    asked += 1
                    hits = mem.search(q.question, user_id=conv.sample_id, limit=10).results
                    context = "\n".join(
                        f"- [{h.valid_from.date() if h.valid_from else ''}] "
                        f"{json.dumps(h.memory, ensure_ascii=False)}"
                        for h in hits
                    )
                    answer = answerer.complete(
                        [
                            {"role": "system", "content": ANSWER_SYSTEM},
                            {
                                "role": "user",
                                "content": f"Memories:\n{context}\n\nQuestion: {q.question}",
                            },
                        ]
                    )
                    verdict = judge.complete(
                        [
                            {"role": "system", "content": JUDGE_SYSTEM},
                            {
                                "role": "user",
                                "content": f"Question: {q.question}\n"
                                f"Gold answer: {q.answer}\n"
                                f"Candidate answer: {answer.text}",
                            },
                        ]
                    )
                    tokens["answer_prompt"] += answer.prompt_tokens
                    tokens["answer_completion"] += answer.completion_tokens
                    tokens["judge_prompt"] += verdict.prompt_tokens
                    verdicts.setdefault(CATEGORIES[q.category], []).append(
                        float(judge_label(verdict.text))
                    )
    every = [v for values in verdicts.values() for v in values]
    overall = {
        "j_score": float(np.mean(every)) if every else float("nan"),
        "n": len(every),
        **tokens,
    }
    by_category = {c: {"j_score": float(np.mean(v)), "n": len(v)} for c, v in verdicts.items()}
    figures = {"systems": {"mnemoweave": {"overall": overall, "by_category": by_category}}}
    rows = [[c, m["j_score"], m["n"]] for c, m in by_category.items()]
    rows.append(["overall (1-4)", overall["j_score"], overall["n"]])
    text = (
        f"## LoCoMo QA (LLM-judged)\n\nAnswer model {args.model}, judge "
        f"{args.judge_model or args.model} at {args.llm_base_url}; memories "
        f"{'raw turns' if args.raw else 'extracted by add(infer=True)'}.\n\n"
        f"{markdown_table(['category', 'J (judged correct)', 'n'], rows)}\n"
    )
    print(text)
    write_results("llm_qa", text, figures, args.json)
    save_bar_chart(
        "llm_qa",
        "LoCoMo QA, LLM-judged",
        [r[0] for r in rows],
        {"mnemoweave": [r[1] for r in rows]},
        ylabel="J (judged correct)",
    )
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench llm_cost", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="first two sessions only")
    parser.add_argument("--systems", default=None)
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--conversation", default=None, help="sample_id (default: the first)")
    parser.add_argument("--sessions", type=int, default=None)
    parser.add_argument("--json", default=None)
    parser.add_argument("--qa", action="store_true", help="run the LLM-judged QA harness")
    parser.add_argument("--llm-base-url", default=None)
    parser.add_argument("--model", default=None)
    parser.add_argument("--judge-model", default=None)
    parser.add_argument("--api-key-env", default="OPENAI_API_KEY")
    parser.add_argument("--questions", type=int, default=None, help="cap questions per run")
    parser.add_argument("--raw", action="store_true", help="QA over raw turns (no extraction)")
    args = parser.parse_args(argv)
    conversations = load(args.data)
    if args.conversation:
        conversations = [c for c in conversations if c.sample_id == args.conversation]
        if not conversations:
            parser.error(f"no conversation {args.conversation!r} in {args.data}")
    if args.qa:
        if not args.llm_base_url or not args.model:
            parser.error("--qa needs --llm-base-url and --model (a real endpoint)")
        figures = run_qa(args, conversations[:1] if args.quick else conversations)
        return 0 if figures else 1

    from bench._mem0_client import mem0_available

    systems = (
        args.systems.split(",")
        if args.systems
        else [s for s in SYSTEMS if s != "mem0" or mem0_available()]
    )
    conv = conversations[0]
    sessions = 2 if args.quick else args.sessions
    adds = exchanges(conv, sessions)
    table = precompute_vectors(conv, adds)
    figures: dict[str, Any] = {"systems": {}}
    rows = []
    with tempfile.TemporaryDirectory(prefix="mnemoweave-llmcost-") as tmp:
        for system in systems:
            if system == "mem0":
                result = run_mem0(conv, adds, Path(tmp), table)
            else:
                turns = 0 if system == "mnemoweave-no-context" else None
                result = run_mnemoweave(conv, adds, Path(tmp), table, context_turns=turns)
            stats = summarise(result["per_add"])
            stats["memories"] = result["memories"]
            figures["systems"][system] = {"overall": stats}
            rows.append(
                [
                    system,
                    int(stats["adds"]),
                    stats["calls_p50"],
                    stats["calls_total"],
                    stats["prompt_tokens_p50"],
                    stats["prompt_tokens_p95"],
                    stats["prompt_tokens_total"],
                    stats["completion_tokens_p50"],
                    stats["completion_tokens_p95"],
                    stats["completion_tokens_total"],
                    stats["wall_ms_p50"],
                    int(stats["memories"]),
                ]
            )
    headers = [
        "system",
        "adds",
        "calls/add p50",
        "calls total",
        "prompt tok p50",
        "prompt tok p95",
        "prompt tok total",
        "completion tok p50",
        "completion tok p95",
        "completion tok total",
        "wall ms/add p50 (excl. server)",
        "memories",
    ]
    table_md = markdown_table(headers, rows)
    if {"mnemoweave", "mem0"} <= set(figures["systems"]):
        a, b = figures["systems"]["mnemoweave"]["overall"], figures["systems"]["mem0"]["overall"]
        ratio = [
            [
                "mem0 / mnemoweave",
                "",
                b["calls_total"] / a["calls_total"],
                "",
                "",
                "",
                b["prompt_tokens_total"] / a["prompt_tokens_total"],
                "",
                "",
                b["completion_tokens_total"] / a["completion_tokens_total"],
                b["wall_ms_p50"] / a["wall_ms_p50"],
                "",
            ]
        ]
        table_md += "\n" + markdown_table(headers, ratio).split("\n", 2)[2]
    text = (
        f"## llm_cost\n\nMachine: {machine()}. Conversation {conv.sample_id}, {len(adds)} adds "
        f"of two turns each; tokens counted by mnemoweave.testing.count_tokens's rule.\n\n"
        f"{table_md}\n"
    )
    print(text)
    name = "llm_cost" if not args.quick else "llm_cost-quick"
    write_results(name, text, figures, args.json)
    metrics = ["prompt_tokens_p50", "completion_tokens_p50", "calls_p50"]
    save_bar_chart(
        name,
        "LLM cost per add (median)",
        ["prompt tokens", "completion tokens", "calls x 100"],
        {
            system: [data["overall"][m] * (100 if m == "calls_p50" else 1) for m in metrics]
            for system, data in figures["systems"].items()
        },
        ylabel="per add",
    )
    return 0


def precompute_vectors(
    conv: Conversation, adds: list[tuple[list[Turn], datetime]]
) -> dict[str, np.ndarray]:
    """Real all-MiniLM-L6-v2 vectors for every text either system will embed."""
    from mnemoweave.embed import embed_texts, get_embedder

    texts: list[str] = []
    for pair, _ in adds:
        texts += [t.text for t in pair]
        texts.append("\n".join(t.text for t in pair))
        texts += facts_for([(t.speaker, t.text) for t in pair])
    unique = list(dict.fromkeys(texts))
    return dict(zip(unique, embed_texts(get_embedder("local"), unique)))


if __name__ == "__main__":
    raise SystemExit(main())
